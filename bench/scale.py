"""Vector search at 1M and 10M vectors of dimension 512 with the compressed index (IVF-PQ codes in RAM,
top candidates re-ranked from float16 rows on disk), against exact search and against bare FAISS.

    .venv/bin/python -m bench.scale --count 1000000 [--data embedding|clustered] [--shards 2] [--keep]

Figures, per run:
- recall@10 of the live index against exact search, on fresh queries (drawn from the same distribution,
  never added); goal >= 0.95;
- resident memory of the searching process above its baseline, per vector (a separate process: baseline
  after its imports, then the index loaded and every query run once as warm-up; VmRSS, with its anonymous
  and file-backed parts); goal <= 100 bytes;
- p50 / p95 of one query at a time (k=10, one thread) with a warm page cache; goal p50 <= 20 ms;
- build time as a ratio to bare FAISS building the same IVF-PQ (same nlist, code size and training sample),
  the two interleaved block by block so the shared machine's load falls on both alike;
- with --shards N: the same vectors split over N shard indexes, each built on its own (as N machines
  would), queried in parallel and merged by score, against the single index, in the same process.

Vectors are generated in blocks of 100,000 (bench/common.py), so nothing ever holds them all: the build
process holds a block, the training sample and the codes; the truth is accumulated block by block. The
index files go under .cache/bench/scale and are deleted at the end unless --keep (10M: ~11 GB).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import Result, cache_dir, clustered_blocks, embedding_like_blocks, log, percentiles

DIM = 512
FRESH_QUERIES = 500
K = 10
GOALS = {"recall": 0.95, "bytes_per_vector": 100, "p50_ms": 20.0}


def blocks(count: int, data: str, seed: int = 0):
    """(first row, block) over count rows; fresh queries are the rows after `count` of the same stream."""
    make = embedding_like_blocks if data == "embedding" else clustered_blocks
    start = 0
    for block in make(count, DIM, seed=seed):
        yield start, block
        start += len(block)


def row_ids(first: int, size: int, shard: int = 0) -> np.ndarray:
    return np.arange(first, first + size, dtype=np.int64) * 4 + 1 + shard  # chunk-id-like, not row numbers


def draw_samples(count: int, data: str, keep, rng):
    """One pass: the training sample, the held-out tuning queries and the fresh queries."""
    from anyseek.engine.vectors.faiss_ivf import nlist_for
    from anyseek.engine.vectors.faiss_refine import training_size
    from anyseek.engine.vectors.tuning import TUNE_QUERIES

    rows = np.flatnonzero(keep(np.arange(count)))
    tune_rows = np.sort(rng.choice(rows, min(TUNE_QUERIES, len(rows) // 20), replace=False))
    rest = np.setdiff1d(rows, tune_rows, assume_unique=True)
    train_rows = np.sort(rng.choice(rest, min(len(rest), training_size(nlist_for(len(rows)))), replace=False))
    picked = {"train": [], "tune": [], "fresh": []}
    for first, block in blocks(count + FRESH_QUERIES, data):
        span = np.arange(first, first + len(block))
        for name, wanted in (("train", train_rows), ("tune", tune_rows)):
            picked[name].append(block[np.isin(span, wanted)])
        picked["fresh"].append(block[span >= count])
    out = {name: np.concatenate(parts) for name, parts in picked.items()}
    out["tune_ids"] = row_ids(0, count)[tune_rows]
    return out


def build(count: int, data: str, directory: Path, shard: int = 0, shards: int = 1, bare: bool = True) -> dict:
    """Our index (files under `directory`) and, interleaved, bare FAISS's; returns timings and the truth."""
    import faiss

    from anyseek.engine.vectors import persist
    from anyseek.engine.vectors.factory import create_index
    from anyseek.engine.vectors.tuning import RunningTopK, tune

    def mine(rows):
        return rows % shards == shard

    samples = draw_samples(count, data, mine, np.random.default_rng(shard))
    index = create_index("ivf-pq-refine", DIM, storage=directory / "joint")
    seconds = dict.fromkeys(("train", "add", "rows", "truth", "tune", "save", "bare_train", "bare_add"), 0.0)

    def timed(part, action, *args):
        started = time.perf_counter()
        action(*args)
        seconds[part] += time.perf_counter() - started

    timed("train", lambda: index.fit(samples["train"], int(mine(np.arange(count)).sum())))
    reference = None
    if bare:
        reference = faiss.IndexIVFPQ(
            faiss.IndexFlatIP(DIM), DIM, index.nlist, index._index.pq.M, 8, faiss.METRIC_INNER_PRODUCT
        )
        timed("bare_train", lambda: reference.train(samples["train"]))
    tuning = RunningTopK(samples["tune"], samples["tune_ids"])
    fresh = RunningTopK(samples["fresh"], np.full(len(samples["fresh"]), -1))
    for first, block in blocks(count, data):
        ids = row_ids(first, len(block))
        keep = mine(np.arange(first, first + len(block)))
        ids, block = ids[keep], block[keep]
        timed("add", index.add, ids, block)
        timed("rows", index.flush)
        timed("truth", tuning.update, ids, block)  # the rebuild's held-out truth (rebuild.py)
        if reference is not None:
            timed("bare_add", reference.add_with_ids, block, ids)
        fresh.update(ids, block)
        if (first // 100_000) % 10 == 0:
            log(f"scale: shard {shard}: {first + len(block):,} of {count:,} added")
    timed("tune", lambda: tune(index, samples["tune"], samples["tune_ids"], tuning.truth(), GOALS["recall"]))

    def save():
        header = persist.VectorFileHeader(kind=index.kind, dim=DIM, revision=0, count=len(index))
        persist.write_atomic(directory / "joint.faiss", persist.encode(header, index.to_bytes()))

    timed("save", save)
    seconds["ours"] = sum(seconds[part] for part in ("train", "add", "rows", "truth", "tune", "save"))
    seconds["bare"] = seconds["bare_train"] + seconds["bare_add"]
    np.save(directory / "fresh.npy", samples["fresh"])
    return {
        "seconds": seconds,
        "truth": fresh.truth(),
        "fresh_scores": fresh.scores,
        "settings": {"nlist": index.nlist, "nprobe": index.nprobe, "refine": index.refine, "m": index._index.pq.M},
        "tuned_recall": index.recall,
        "resident_bytes_model": index.resident_bytes(),
        "disk_bytes": sum(p.stat().st_size for p in [directory / "joint.faiss", *index.files()]),
    }


# --- the searching process ------------------------------------------------------------------------------
def memory() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def open_index(directory: Path):
    from anyseek.engine.vectors import persist
    from anyseek.engine.vectors.factory import load_index

    header, payload = persist.read(directory / "joint.faiss")
    return load_index(header.kind, header.dim, payload, directory / "joint")


def timed_queries(search, queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    found = np.full((len(queries), K), -1, np.int64)
    samples = []
    for row, query in enumerate(queries):
        started = time.perf_counter()
        _, ids = search(query[None])
        samples.append(time.perf_counter() - started)
        found[row, : len(ids)] = ids
    return samples, found


def serve(single: Path, shard_dirs: list[Path], out: Path) -> None:
    """Load the single index, measure memory after a warm-up pass, time a second pass; then the shards."""
    import gc
    from concurrent.futures import ThreadPoolExecutor

    import faiss

    from anyseek.engine.vectors import factory, persist  # noqa: F401 - imported before the baseline

    faiss.omp_set_num_threads(1)  # one query at a time on one thread, as bench/ann.py (and a busy server)
    queries = np.load(single / "fresh.npy")
    gc.collect()
    report = {"baseline": memory()}
    index = open_index(single)
    gc.collect()
    report["loaded"] = memory()

    def one(query):
        return index.search(query, K)[0]

    timed_queries(one, queries)  # warm-up: page cache, lazy allocations
    report["warm"] = memory()
    samples, found = timed_queries(one, queries)
    report["single"] = percentiles(samples)
    np.save(out.with_suffix(".single.npy"), found)
    if shard_dirs:
        shards = [open_index(d) for d in shard_dirs]
        pool = ThreadPoolExecutor(len(shards))

        def merged(query):
            parts = list(pool.map(lambda s: s.search(query, K)[0], shards))
            scores, ids = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
            top = np.argsort(-scores, kind="stable")[:K]
            return scores[top], ids[top]

        timed_queries(merged, queries)
        pairs = [timed_queries(fn, queries) for fn in (one, merged, one, merged)]  # interleaved passes
        report["single_interleaved"] = percentiles(pairs[0][0] + pairs[2][0])
        report["merged"] = percentiles(pairs[1][0] + pairs[3][0])
        np.save(out.with_suffix(".merged.npy"), pairs[1][1])
    out.write_text(json.dumps(report))


def search_process(single: Path, shard_dirs: list[Path]) -> dict:
    out = single / "serve.json"
    command = [sys.executable, "-m", "bench.scale", "--serve", str(single), *map(str, shard_dirs)]
    subprocess.run(command, check=True, cwd=Path(__file__).resolve().parent.parent)
    report = json.loads(out.read_text())
    report["found"] = np.load(out.with_suffix(".single.npy"))
    if shard_dirs:
        report["found_merged"] = np.load(out.with_suffix(".merged.npy"))
    return report


# --- the run --------------------------------------------------------------------------------------------
def run(quick: bool = False, count: int | None = None, data: str = "embedding", shards: int = 0, keep=False):
    from anyseek.engine.vectors.factory import choose_kind
    from anyseek.engine.vectors.tuning import recall_at_k

    count = count or (50_000 if quick else 1_000_000)
    work = cache_dir("scale", f"{data}-{count}")
    result = Result("scale")
    try:
        log(f"scale: building {count:,} {data} vectors")
        built = build(count, data, work / "single")
        shard_dirs = [work / f"shard{s}" for s in range(shards)]
        for shard, directory in enumerate(shard_dirs):
            build(count, data, directory, shard, shards, bare=False)
        log("scale: searching in a separate process")
        served = search_process(work / "single", shard_dirs)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    recall = recall_at_k(list(served["found"]), built["truth"])
    grown = served["warm"]["VmRSS"] - served["baseline"]["VmRSS"]
    ratio = built["seconds"]["ours"] / built["seconds"]["bare"]
    result.figures = {
        "count": count,
        "data": data,
        "dim": DIM,
        "default_choice": choose_kind(count),
        "settings": built["settings"],
        "tuned_recall_held_out": built["tuned_recall"],
        "recall_fresh": recall,
        "memory": {k: served[k] for k in ("baseline", "loaded", "warm")},
        "bytes_per_vector_rss": grown / count,
        "bytes_per_vector_anon": (served["warm"]["RssAnon"] - served["baseline"]["RssAnon"]) / count,
        "bytes_per_vector_model": built["resident_bytes_model"] / count,
        "disk_bytes_per_vector": built["disk_bytes"] / count,
        "latency": served["single"],
        "build_seconds": built["seconds"],
        "build_ratio": ratio,
    }
    s = built["settings"]
    settings = f"nlist {s['nlist']}, {s['m']} B codes, nprobe {s['nprobe']}, refine {s['refine']}"
    result.row("index", f"ivf-pq-refine {settings}")
    result.row("recall@10 vs exact (fresh queries)", f"{recall:.3f}", ">= 0.95", recall >= GOALS["recall"])
    result.row(
        "RSS above baseline per vector",
        f"{grown / count:.0f} B (anon {result.figures['bytes_per_vector_anon']:.0f} B)",
        "<= 100 B",
        grown / count <= GOALS["bytes_per_vector"],
    )
    p50 = served["single"]["p50_ms"]
    result.row("query p50 / p95 (warm)", f"{p50:.1f} / {served['single']['p95_ms']:.1f} ms", "p50 <= 20 ms", p50 <= 20)
    t = built["seconds"]
    parts = ", ".join(f"{part} {t[part]:.0f}" for part in ("train", "add", "rows", "truth", "tune", "save"))
    result.row(
        "build time vs bare FAISS (same IVF-PQ)",
        f"{ratio:.2f}x: {t['ours']:.0f} s ({parts}) vs {t['bare']:.0f} s (train {t['bare_train']:.0f}, "
        f"add {t['bare_add']:.0f})",
    )
    result.row("disk per vector", f"{built['disk_bytes'] / count:.0f} B")
    if shards:
        merged_recall = recall_at_k(list(served["found_merged"]), built["truth"])
        result.figures["shards"] = {
            "count": shards,
            "recall_merged": merged_recall,
            "latency_merged": served["merged"],
            "latency_single": served["single_interleaved"],
        }
        result.row(
            f"{shards} shards merged vs one index",
            f"recall {merged_recall:.3f} vs {recall:.3f}; p50 {served['merged']['p50_ms']:.1f} vs "
            f"{served['single_interleaved']['p50_ms']:.1f} ms",
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--data", choices=("embedding", "clustered"), default="embedding")
    parser.add_argument("--shards", type=int, default=0, help="also split over N shard indexes and merge")
    parser.add_argument("--keep", action="store_true", help="keep the index files under .cache/bench/scale")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--serve", nargs="+", type=Path, help=argparse.SUPPRESS)  # the searching process
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], args.serve[1:], args.serve[0] / "serve.json")
        return 0
    from bench.run import print_alone

    result = run(count=args.count, data=args.data, shards=args.shards, keep=args.keep)
    print_alone(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
