"""Measuring search quality on an index: `anyseek eval`.

- Judged queries (JSONL, one object a line: {"query": "...", "relevant": ["path", ...]}, optional
  "modalities": ["text"]): MRR@10, nDCG@10 and recall@1/5/10 for each mode and each dense route alone.
  Relative paths are resolved against the JSONL file's folder. A query with no relevant item indexed is
  skipped and counted; one whose list is empty (`"relevant": []`) is a query nothing answers, which
  counts for calibration only.
- Calibration: the default search's top 10 of every judged query, binned by score, against how many of
  each bin are relevant (a reliability diagram), and the expected calibration error: how far a score is
  from the share of relevant hits at that score, averaged over hits.
- Aligned (image, caption) pairs: cross-modal recall@1/5/10 of the index's joint model, both ways.
- The live vector index against exact search: recall@10 per space, on the judged queries' texts or on a
  sample of the index's own vectors.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Space
from anyseek.engine.vectors.rebuild import BATCH
from anyseek.engine.vectors.tuning import TUNE_QUERIES, RunningTopK, found_without_self, recall_at_k

K = 10
# Every configuration `evaluate` compares: the three modes, then each dense space alone (dense mode,
# only that space's vectors, so every kind of target goes through it).
CONFIGURATIONS: dict[str, dict] = {
    "hybrid": {"mode": "hybrid"},
    "dense": {"mode": "dense"},
    "lexical": {"mode": "lexical"},
    "text route": {"mode": "dense", "spaces": ("text",)},
    "joint route": {"mode": "dense", "spaces": ("joint",)},
}


@dataclass(frozen=True, slots=True)
class JudgedQuery:
    query: str
    relevant: frozenset[str]  # absolute paths as the index shows them
    modalities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Metrics:
    mrr10: float
    ndcg10: float
    recall1: float
    recall5: float
    recall10: float
    queries: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    hits: int
    mean_score: float
    relevant: float  # the share of this bin's hits that are relevant


@dataclass(frozen=True, slots=True)
class Reliability:
    bins: tuple[ReliabilityBin, ...]
    error: float  # expected calibration error: |mean score - share relevant|, weighted by hits
    hits: int
    queries: int
    unanswered: int  # queries with no relevant item at all

    def as_dict(self) -> dict:
        return asdict(self)


def load_queries(path: str | os.PathLike) -> list[JudgedQuery]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QueryError(f"cannot read {path}: {exc}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            relevant = row["relevant"]
            relevant = [relevant] if isinstance(relevant, str) else list(relevant)
            query = str(row["query"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QueryError(f'{path}:{number}: expected {{"query": ..., "relevant": [paths]}} ({exc})') from None
        paths = frozenset(os.path.abspath(path.parent / os.path.expanduser(p)) for p in relevant)
        out.append(JudgedQuery(query, paths, tuple(row.get("modalities") or ())))
    if not out:
        raise QueryError(f"{path}: no queries")
    return out


def metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[frozenset[str]], k: int = K) -> Metrics:
    """Binary relevance; a ranking lists item paths best first."""
    rr, ndcg, r1, r5, r10 = [], [], [], [], []
    for ranking, wanted in zip(rankings, relevant):
        ranks = [i for i, path in enumerate(ranking[:k]) if path in wanted]
        rr.append(1.0 / (ranks[0] + 1) if ranks else 0.0)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(wanted), k)))
        ndcg.append(sum(1.0 / math.log2(i + 2) for i in ranks) / ideal if ideal else 0.0)
        for out, cut in ((r1, 1), (r5, 5), (r10, 10)):
            out.append(sum(1 for i in ranks if i < cut) / min(len(wanted), cut) if wanted else 0.0)
    return Metrics(_mean(rr), _mean(ndcg), _mean(r1), _mean(r5), _mean(r10), len(rr))


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def evaluate(engine, queries: Iterable[JudgedQuery], names: Iterable[str] | None = None) -> dict[str, Metrics]:
    """Each configuration on the same queries. Queries none of whose relevant paths is indexed are left
    out (reported as skipped by `evaluate_report`)."""
    queries = list(queries)
    out = {}
    for name in names or CONFIGURATIONS:
        options = CONFIGURATIONS[name]
        if not _applies(engine, options):
            continue
        rankings = [
            [hit.path for hit in engine.search(q.query, k=K, modalities=q.modalities, **options)] for q in queries
        ]
        out[name] = metrics(rankings, [q.relevant for q in queries])
    return out


def indexed_only(engine, queries: list[JudgedQuery]) -> tuple[list[JudgedQuery], int]:
    """The queries with at least one relevant item in the index (or none judged relevant at all: the
    unanswered), and how many were left out."""
    kept = [
        q for q in queries if not q.relevant or any(engine.store.find_item(path=os.fsencode(p)) for p in q.relevant)
    ]
    return kept, len(queries) - len(kept)


def answered(queries: list[JudgedQuery]) -> list[JudgedQuery]:
    return [q for q in queries if q.relevant]


def reliability(engine, queries: Iterable[JudgedQuery], bins: int = 10, k: int = K) -> Reliability:
    """The default search's top `k` hits of every query, binned by score: does a score of 0.7 mean that
    about 70% of such hits are relevant? (bins of equal width; an empty bin is left out)"""
    queries = list(queries)
    scored = []
    for q in queries:
        for hit in engine.search(q.query, k=k, modalities=q.modalities):
            scored.append((hit.score, hit.path in q.relevant))
    out, error = [], 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(s, r) for s, r in scored if low <= s < high or (b == bins - 1 and s == 1.0)]
        if not inside:
            continue
        mean_score = float(np.mean([s for s, _ in inside]))
        relevant = float(np.mean([r for _, r in inside]))
        out.append(ReliabilityBin(low, high, len(inside), mean_score, relevant))
        error += len(inside) * abs(mean_score - relevant)
    unanswered = sum(1 for q in queries if not q.relevant)
    return Reliability(tuple(out), error / max(len(scored), 1), len(scored), len(queries), unanswered)


def _applies(engine, options: dict) -> bool:
    spaces = options.get("spaces")
    return not spaces or all(Space(s) in engine.catalog.dims for s in spaces)


# --- cross-modal pairs -------------------------------------------------------------------------------
def pair_recall(engine, pairs) -> dict[str, float]:
    """Recall@1/5/10 of the joint model on (image, caption) pairs, text->image and image->text. Captions
    meaning the same (same group, or the same caption) count as one answer."""
    joint = engine.encoders.joint
    images = sorted({p.image for p in pairs})
    captions = sorted({p.text for p in pairs})
    image_vectors = np.concatenate(
        [
            joint.encode_images(np.stack([_pixels(engine, joint, p) for p in images[s : s + 32]]))
            for s in range(0, len(images), 32)
        ]
    )
    text_vectors = joint.encode_texts(captions)
    key_of_text = {p.text: p.key for p in pairs}
    keys_of_image: dict[Path, set[str]] = {}
    for p in pairs:
        keys_of_image.setdefault(p.image, set()).add(p.key)
    text_keys = [key_of_text[c] for c in captions]
    image_keys = [keys_of_image[i] for i in images]
    t2i = text_vectors @ image_vectors.T
    i2t = image_vectors @ text_vectors.T
    out = {}
    for cut in (1, 5, 10):
        top_t2i = np.argsort(-t2i, axis=1)[:, :cut]
        top_i2t = np.argsort(-i2t, axis=1)[:, :cut]
        out[f"text_to_image_recall{cut}"] = float(
            np.mean([any(text_keys[q] in image_keys[i] for i in row) for q, row in enumerate(top_t2i)])
        )
        out[f"image_to_text_recall{cut}"] = float(
            np.mean([any(text_keys[t] in image_keys[q] for t in row) for q, row in enumerate(top_i2t)])
        )
    out["captions"], out["images"] = len(captions), len(images)
    return out


# --- approximate index against exact search ------------------------------------------------------
def ann_recall(engine, texts: Sequence[str] = (), sample: int = TUNE_QUERIES, k: int = K) -> dict[str, dict]:
    """Per space: the live index's kind and its recall@k against exact search over the stored vectors (the
    store, not the index's own files, is the reference). Queries: these texts, encoded; or else `sample`
    stored vectors of the space, each left out of its own results (as when the index was tuned, but
    another sample). `recorded` is the recall the index measured when it was built."""
    out = {}
    encoders = {Space.JOINT: engine.encoders.joint, Space.TEXT: engine.encoders.text}
    for space in sorted(engine.catalog.dims):
        live = engine.catalog.index(space)
        if not len(live):
            continue
        dim = engine.catalog.dims[space]
        ids = np.sort(live.ids())
        if texts:
            queries = encoders[space].encode_texts(list(texts))
            query_ids = np.full(len(queries), -1, np.int64)
        else:
            pick = np.random.default_rng(1).choice(ids, min(sample, len(ids)), replace=False)
            query_ids, queries = engine.store.vectors(space, np.sort(pick), dim)
        truth = RunningTopK(queries, query_ids, k)
        for start in range(0, len(ids), BATCH):
            truth.update(*engine.store.vectors(space, ids[start : start + BATCH], dim))
        found = found_without_self(live, queries, query_ids, k)
        out[space.value] = {
            "kind": live.kind,
            "vectors": len(live),
            "queries": len(queries),
            "recall": recall_at_k(found, truth.truth()),
            "recorded": getattr(live, "recall", None) if live.approximate else 1.0,
        }
    return out


def _pixels(engine, joint, path):
    """The model input of a photo decoded as a query photo is (and as the indexer decodes it)."""
    return joint.preprocess(engine.decoder.query_image(path, joint.image_size))
