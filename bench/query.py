"""Query latency through the real path (encode into both spaces, search both, fuse, fetch metadata) at
10k, 100k and 1M stored passages, next to its two parts measured alone: encoding the query (CLIP text
tower + MiniLM) and the FAISS searches. Goal: end to end p50 <= 1.1x (encode p50 + FAISS p50).

The stored set is synthetic (clustered vectors, one passage per item) written straight into a real
index's SQLite tables, then opened by a real Engine, which builds its FAISS indexes from the store as it
would after any crash. Built indexes are cached under .cache/bench/query-N. They are measured as exact flat
indexes at every size, so 1M is the flat baseline the issue asks for; a writer would have moved the 1M
spaces to IVF-Flat (see bench/ann.py for that index's speed and recall at 1M).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np

from anyseek.engine.records import Space
from bench.common import DEVICE, Result, cache_dir, clustered_vectors, load_joint, log, percentiles
from bench.corpus import queries as corpus_queries

WARMUP = 10


def build_store(home: Path, count: int, encoders, models: dict) -> None:
    """A real index directory holding `count` text items, each with one passage in both spaces."""
    from anyseek.engine import Engine

    if (home / "ready").exists():
        return
    log(f"query: writing {count:,} synthetic passages into {home}")
    with Engine.open(home, encoders=encoders, **models, device=DEVICE):
        pass  # schema, models and fingerprints (the encoders are loaded, so their dims are recorded)
    dims = {Space.JOINT: encoders.joint.dim, Space.TEXT: encoders.text.dim}
    vectors = {space: clustered_vectors(count, dim, seed=i) for i, (space, dim) in enumerate(dims.items())}
    db = sqlite3.connect(home / "anyseek.db")
    now = time.time()
    with db:
        for lo in range(0, count, 50_000):
            hi = min(count, lo + 50_000)
            db.executemany(
                "INSERT INTO items (id, path, modality, size, mtime_ns, content_hash, status, error, indexed_at)"
                " VALUES (?, ?, 'text', 100, 1, ?, 'ok', NULL, ?)",
                ((i + 1, f"/bench/docs/{i:07d}.txt".encode(), f"{i:032x}", now) for i in range(lo, hi)),
            )
            db.executemany(
                "INSERT INTO chunks (id, item_id, ordinal, kind, text, char_start, char_end, start_s, end_s)"
                " VALUES (?, ?, 0, 'passage', ?, 0, 40, NULL, NULL)",
                ((i + 1, i + 1, f"synthetic passage number {i} about topic {i % 997}") for i in range(lo, hi)),
            )
            for space, data in vectors.items():
                db.executemany(
                    "INSERT INTO vectors (space, chunk_id, data) VALUES (?, ?, ?)",
                    ((space.value, i + 1, data[i].astype(np.float16).tobytes()) for i in range(lo, hi)),
                )
        revision = db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        db.execute("DELETE FROM meta WHERE key = 'revision'")
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('revision', ?)",
            (json.dumps(int(json.loads(revision[0]) if revision else 0) + 1),),
        )
    db.close()
    with Engine.open(home, encoders=encoders, device=DEVICE) as eng:
        eng.catalog.load_all()  # builds both FAISS indexes from the store
        eng.catalog.save()
    (home / "ready").write_text("ok")


def measure(home: Path, encoders, texts: list[str], k: int = 10) -> dict:
    from anyseek.engine import Engine

    with Engine.open(home, encoders=encoders, device=DEVICE, create=False) as eng:
        eng.catalog.load_all()
        fetch = max(k * eng.settings.oversample, 50)  # what the searcher asks each space for
        joint, text = encoders.joint, encoders.text
        indexes = {space: eng.catalog.index(space) for space in (Space.JOINT, Space.TEXT)}
        for q in texts[:WARMUP]:
            eng.search(text=q, k=k)
        encode, faiss, total = [], [], []
        vectors = []
        for q in texts:  # the parts alone, then the whole, interleaved per query so drift hits all three
            start = time.perf_counter()
            v = {Space.JOINT: joint.encode_texts([q])[0], Space.TEXT: text.encode_texts([q])[0]}
            encode.append(time.perf_counter() - start)
            start = time.perf_counter()
            for space, index in indexes.items():
                index.search(v[space][None], fetch)
            faiss.append(time.perf_counter() - start)
            start = time.perf_counter()
            eng.search(text=q, k=k)
            total.append(time.perf_counter() - start)
            vectors.append(v)
        return {
            "vectors": len(indexes[Space.JOINT]),
            "kind": indexes[Space.JOINT].kind,
            "encode": percentiles(encode),
            "faiss": percentiles(faiss),
            "end_to_end": percentiles(total),
        }


def run(quick: bool = False) -> Result:
    sizes = (2_000, 10_000) if quick else (10_000, 100_000, 1_000_000)
    count = 40 if quick else 200
    result = Result("query")
    encoders, models = load_joint("ViT-S-32" if quick else "ViT-B-32")
    encoders.text  # noqa: B018 - load both models before timing anything
    texts = corpus_queries(count + WARMUP)
    texts = texts[WARMUP:] + texts[:WARMUP]
    figures = {}
    for size in sizes:
        home = cache_dir(f"query-{size}-{models['joint_model']}")
        build_store(home, size, encoders, models)
        m = measure(home, encoders, texts[:count] if len(texts) >= count else texts)
        parts = m["encode"]["p50_ms"] + m["faiss"]["p50_ms"]
        m["ratio_p50"] = m["end_to_end"]["p50_ms"] / parts
        figures[size] = m
        log(f"query {size:,}: {m}")
        result.row(
            f"{size:,} vectors ({m['kind']}): p50 / p95",
            f"{m['end_to_end']['p50_ms']:.1f} / {m['end_to_end']['p95_ms']:.1f} ms "
            f"(encode {m['encode']['p50_ms']:.1f}, FAISS {m['faiss']['p50_ms']:.1f})",
        )
        result.row(
            f"{size:,}: end-to-end / (encode + FAISS), p50", f"{m['ratio_p50']:.3f}", "<= 1.1", m["ratio_p50"] <= 1.1
        )
    result.figures = {"model": models, "queries": count, "sizes": figures}
    return result
