"""Approximate nearest neighbours at 1M vectors: recall@10 against exact search and queries per second,
for flat, HNSW, IVF-Flat and IVF-PQ, each swept over its search-time knob (efSearch / nprobe), plus the
bytes each stores per vector. Then the automatic choice (`choose_kind(count, budget)` with its default
parameters). Goal: the automatic choice gives recall@10 >= 0.95 at >= 10x the flat QPS.

Data: 512-d unit vectors with the structure of real embeddings (topics, sub-topics, a low-rank spread
inside each), not uniform noise. Queries are fresh draws from the same distribution, answered one at a
time as anyseek does. Built indexes are cached under .cache/bench/ann (the HNSW graph takes minutes).
"""

from __future__ import annotations

import time

import numpy as np

from anyseek.engine.vectors.factory import backend_class, bytes_per_vector, choose_kind, create_index
from bench.common import Result, cache_dir, embedding_like, log

DIM = 512
QUERIES = 200
SWEEPS = {
    "hnsw": ("ef_search", (16, 32, 64, 128, 256)),
    "ivf-flat": ("nprobe", (4, 8, 16, 32, 64, 128)),
    "ivf-pq": ("nprobe", (4, 8, 16, 32, 64, 128)),
}


def build(kind: str, ids: np.ndarray, vectors: np.ndarray, cache: bool):
    """Build through the product backend (so the benchmark measures what anyseek runs); cached on disk."""
    path = cache_dir("ann") / f"{kind}-{len(ids)}.bin"
    if cache and path.exists():
        return backend_class(kind).from_bytes(DIM, path.read_bytes()), None
    index = create_index(kind, DIM)
    if hasattr(index, "train_at"):  # small (quick) runs: train on what there is, so IVF really runs
        index.train_at = min(index.train_at, len(ids))
    start = time.perf_counter()
    for lo in range(0, len(ids), 200_000):
        index.add(ids[lo : lo + 200_000], vectors[lo : lo + 200_000])
    seconds = time.perf_counter() - start
    if cache:
        path.write_bytes(index.to_bytes())
    return index, seconds


def one_at_a_time(index, queries: np.ndarray, k: int = 10) -> tuple[float, np.ndarray]:
    index.search(queries[:1], k)  # warm-up
    found = np.full((len(queries), k), -1, np.int64)
    start = time.perf_counter()
    for row, query in enumerate(queries):
        _, ids = index.search(query[None], k)[0]
        found[row, : len(ids)] = ids
    return len(queries) / (time.perf_counter() - start), found


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def run(quick: bool = False, count: int | None = None) -> Result:
    import faiss

    count = count or (20_000 if quick else 1_000_000)
    cache = not quick
    threads = faiss.omp_get_max_threads()
    # One query at a time on one thread for every kind: anyseek answers single queries, and on a shared
    # 2-core machine a 2-thread OpenMP team per query collapses whenever the other core is busy (flat
    # search measured 3-6x slower), which would flatter every approximate kind against flat.
    faiss.omp_set_num_threads(1)
    try:
        return _run(count, cache)
    finally:
        faiss.omp_set_num_threads(threads)


def _run(count: int, cache: bool) -> Result:
    result = Result("ann")
    log(f"ann: generating {count} vectors")
    data = embedding_like(count + QUERIES)
    vectors, queries = data[:count], data[count:]
    ids = np.arange(count, dtype=np.int64) * 3 + 1  # not row numbers

    flat, _ = build("flat", ids, vectors, cache=False)
    flat_qps, truth = one_at_a_time(flat, queries)
    log(f"ann: flat {flat_qps:.1f} QPS")
    table = {"flat": [{"param": None, "recall": 1.0, "qps": flat_qps, "speedup": 1.0}]}
    sizes = {"flat": len(flat.to_bytes()) / count}
    del flat
    builds = {}
    auto_kind = choose_kind(count, None, DIM)
    auto = None
    for kind, (knob, values) in SWEEPS.items():
        index, seconds = build(kind, ids, vectors, cache)
        builds[kind] = seconds
        sizes[kind] = len(index.to_bytes()) / count
        default = getattr(index, knob)
        rows = []
        for value in values:
            setattr(index, knob, value)
            qps, found = one_at_a_time(index, queries)
            rows.append({"param": value, "recall": recall_at(found, truth), "qps": qps, "speedup": qps / flat_qps})
            log(f"ann: {kind} {knob}={value}: recall {rows[-1]['recall']:.3f}, {qps:.0f} QPS")
        setattr(index, knob, default)
        if kind == auto_kind:
            qps, found = one_at_a_time(index, queries)
            auto = {"kind": kind, "recall": recall_at(found, truth), "qps": qps, "speedup": qps / flat_qps}
            auto["params"] = {knob: getattr(index, "effective_nprobe", default) or default}
        table[kind] = rows
        del index

    result.figures = {
        "count": count,
        "dim": DIM,
        "queries": QUERIES,
        "sweeps": table,
        "bytes_per_vector_serialized": sizes,
        "bytes_per_vector_model": {k: bytes_per_vector(k, DIM) for k in ("flat", *SWEEPS)},
        "build_seconds": builds,
        "auto": auto,
        "auto_under_budget": {
            f"{budget >> 20} MiB": choose_kind(count, budget, DIM) for budget in (8 << 30, 1 << 30, 256 << 20)
        },
    }
    result.row("flat (exact)", f"{flat_qps:.1f} QPS, {sizes['flat']:.0f} B/vector")
    for kind, rows in table.items():
        if kind == "flat":
            continue
        knob = SWEEPS[kind][0]
        sweep = ", ".join(f"{r['param']}: {r['recall']:.3f}@{r['speedup']:.0f}x" for r in rows)
        result.row(f"{kind} {knob} -> recall@10 @ speed-up", sweep)
        result.row(f"{kind} size", f"{sizes[kind]:.0f} B/vector")
    met = auto is not None and auto["recall"] >= 0.95 and auto["speedup"] >= 10
    if auto:
        result.row(
            f"auto choice at {count:,}: {auto['kind']} {auto['params']}",
            f"recall@10 {auto['recall']:.3f} at {auto['speedup']:.1f}x flat QPS",
            ">= 0.95 at >= 10x",
            met,
        )
    elif not backend_class(auto_kind).approximate:  # small sets stay exact
        result.row(f"auto choice at {count:,}", f"{auto_kind} (exact, recall 1.0)")
    else:  # a budget under the full vectors: the re-ranking kinds, measured by bench/scale.py
        result.row(f"auto choice at {count:,}", f"{auto_kind} (see bench/scale.py)")
    return result
