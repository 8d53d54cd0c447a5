"""Re-indexing with no changes: 10,000 small text files indexed once, then `anyseek index` again on a
freshly opened Engine (as a new CLI run would be). Goal: the second run takes <= 1% of the first.

Then the same for a folder that holds broken files (a real media folder always has a few): each no-change
re-index opens a fresh Engine with models not yet loaded, as a new CLI run has, side by side with
`retry_failed=True`, which decodes every broken file again (what every run did before failures were kept).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DEVICE, Result, cache_dir, load_joint, log
from bench.corpus import passages


def ensure_notes(count: int) -> Path:
    """`count` small text files (one real passage each, 60-600 bytes) in 100 folders."""
    folder = cache_dir(f"notes-{count}")
    if not (folder / ".ready").exists():
        texts = passages()
        for i in range(count):
            sub = folder / f"d{i % 100:02d}"
            sub.mkdir(exist_ok=True)
            (sub / f"note{i:05d}.txt").write_text(texts[i % len(texts)][:600] + "\n", encoding="utf-8")
        (folder / ".ready").write_text("ok")
    return folder


def ensure_broken(count: int) -> Path:
    """`count` broken files (truncated JPEGs, corrupt MP3s) beside a few good notes."""
    from PIL import Image

    folder = cache_dir(f"broken-{count}")
    if not (folder / ".ready").exists():
        rng = np.random.default_rng(0)
        for i in range(count):
            if i % 2:
                noise = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
                (folder / f"corrupt{i:03d}.mp3").write_bytes(b"\xff\xfb\x90\x64" + noise)
            else:
                buffer = io.BytesIO()
                Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(buffer, "JPEG")
                (folder / f"truncated{i:03d}.jpg").write_bytes(buffer.getvalue()[: buffer.tell() // 2])
        for i, text in enumerate(passages()[:5]):
            (folder / f"note{i}.txt").write_text(text[:600] + "\n", encoding="utf-8")
        (folder / ".ready").write_text("ok")
    return folder


def run_broken(result: Result, count: int, models: dict) -> None:
    from anyseek.engine import Engine

    folder = ensure_broken(count)
    home = Path(tempfile.mkdtemp(dir=cache_dir("work")))
    timings: dict[bool, float] = {}
    try:
        with Engine.open(home, **models, device=DEVICE) as eng:
            first = eng.index([folder])
        log(f"reindex: broken folder first run, {first.failed} failed, {first.added} added")
        for retry in (False, True, False):  # side by side, the plain run measured before and after
            start = time.perf_counter()
            with Engine.open(home, device=DEVICE) as eng:  # models not loaded, as in a new CLI run
                again = eng.index([folder], retry_failed=retry)
                loaded = [f.role for f in eng.encoders.loaded()]
            timings[retry] = min(timings.get(retry, float("inf")), time.perf_counter() - start)
            log(f"reindex: broken folder again (retry_failed={retry}) {timings[retry]:.3f}s, models {loaded}")
            if again.failed != first.failed or again.added or again.updated:
                raise RuntimeError(f"re-index of the broken folder was not a no-op: {again.to_dict()}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result.figures["broken"] = {"files": count, "kept_s": timings[False], "retried_s": timings[True]}
    result.row(f"re-index, nothing changed, {count} broken files (fresh Engine)", f"{timings[False] * 1000:.0f} ms")
    result.row("  same, decoding the broken files again (--retry-failed)", f"{timings[True] * 1000:.0f} ms")


def run(quick: bool = False) -> Result:
    from anyseek.engine import Engine

    count = 500 if quick else 10_000
    result = Result("reindex")
    folder = ensure_notes(count)
    encoders, models = load_joint("ViT-S-32")
    encoders.text  # noqa: B018 - both models loaded before timing: model loading is not indexing
    home = Path(tempfile.mkdtemp(dir=cache_dir("work")))
    try:
        with Engine.open(home, encoders=encoders, **models, device=DEVICE) as eng:
            start = time.perf_counter()
            first = eng.index([folder])
            first_s = time.perf_counter() - start
        log(f"reindex: first run {first_s:.1f}s, {first.added} files")
        start = time.perf_counter()
        with Engine.open(home, encoders=encoders, device=DEVICE) as eng:
            again = eng.index([folder])
        again_s = time.perf_counter() - start
        log(f"reindex: second run {again_s:.3f}s, {again.unchanged} unchanged")
        if again.added or again.updated or again.unchanged != again.scanned:
            raise RuntimeError(f"re-index was not a no-op: {again.to_dict()}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    fraction = again_s / first_s
    result.figures = {
        "files": count,
        "model": models,
        "first_s": first_s,
        "again_s": again_s,
        "fraction": fraction,
    }
    result.row(f"first index of {count:,} small files", f"{first_s:.1f} s ({count / first_s:.0f} files/s)")
    result.row("re-index, nothing changed (fresh Engine)", f"{again_s * 1000:.0f} ms")
    result.row("re-index / first index", f"{fraction:.2%}", "<= 1%", fraction <= 0.01)
    run_broken(result, 10 if quick else 50, models)
    return result
