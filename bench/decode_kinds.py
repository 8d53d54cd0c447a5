"""Decode threads against decode processes (setting decode_workers_kind), side by side.

Uses the images benchmark's JPEGs and its `anyseek index` run. Two figures per kind, measured in
alternating rounds so that drift on a shared machine falls on both alike:
- decode + preprocess only (no model), with `workers` threads or processes;
- `anyseek index` end to end with the model on the benchmark's device.
Reported: each kind's median and the processes/threads ratio (> 1: processes are faster).
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import DEVICE, Result, load_joint, log, set_torch_threads
from bench.images import decode_one, end_to_end, ensure_jpegs, segment

KINDS = ("threads", "processes")


def decode_only(paths: list[bytes], joint, workers: int, kind: str) -> float:
    """Images per second through `workers` threads, each handing its decode to a process when asked."""
    from anyseek.engine.settings import Settings
    from anyseek.indexer.decode_procs import ProcessDecoder
    from anyseek.indexer.pixels import recipe_from_transform

    draft = round(Settings().jpeg_draft * joint.image_size) or None
    if kind == "threads":
        decode = lambda path: decode_one(path, joint)  # noqa: E731
        pool = None
    else:
        pool = ProcessDecoder(workers, timeout_s=120)
        recipe = recipe_from_transform(joint.transform)
        decode = lambda path: pool.decode(path, "jpeg", 100_000_000, draft, recipe)  # noqa: E731
        with ThreadPoolExecutor(workers) as threads:  # start the processes outside the timing
            list(threads.map(decode, paths[:workers]))
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as threads:
            for _ in threads.map(decode, paths):
                pass
        return len(paths) / (time.perf_counter() - start)
    finally:
        if pool:
            pool.close()


def run(quick: bool = False, count: int | None = None, rounds: int | None = None) -> Result:
    count = count or (24 if quick else 200)
    rounds = rounds or (1 if quick else 3)
    model = "ViT-S-32" if quick else "ViT-B-32"
    workers = min(4, os.cpu_count() or 2)
    result = Result("decode_kinds")
    folder = ensure_jpegs(count)
    part = segment(folder, 0, count)
    encoders, models = load_joint(model)
    joint = encoders.joint
    paths = [os.fsencode(folder / f"img{i:05d}.jpg") for i in range(count)]
    set_torch_threads(os.cpu_count() or 2)
    decode: dict[str, list[float]] = {kind: [] for kind in KINDS}
    index: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for r in range(rounds):
        for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
            decode[kind].append(decode_only(paths, joint, workers, kind))
            speed, _ = end_to_end(encoders, models, part, workers, 32, decode_workers_kind=kind)
            index[kind].append(speed)
            log(f"round {r + 1}/{rounds} {kind}: decode {decode[kind][-1]:.1f}, index {index[kind][-1]:.2f} img/s")
    median = {
        name: {k: statistics.median(v) for k, v in runs.items()}
        for name, runs in (("decode", decode), ("index", index))
    }
    ratios = {name: m["processes"] / m["threads"] for name, m in median.items()}
    result.figures = {
        "model": f"{model} (random weights)",
        "device": DEVICE,
        "images": count,
        "workers": workers,
        "rounds": rounds,
        "decode_only_img_s": decode,
        "index_img_s": index,
        "processes_over_threads": ratios,
    }
    for name, label in (("decode", "decode+preprocess only"), ("index", "`anyseek index` end to end")):
        m = median[name]
        result.row(
            f"{label}, {workers} workers, median of {rounds}",
            f"threads {m['threads']:.2f}, processes {m['processes']:.2f} img/s: processes/threads {ratios[name]:.2f}",
        )
    return result
