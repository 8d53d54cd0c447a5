"""Re-indexing with no changes: 10,000 small text files indexed once, then `anyseek index` again on a
freshly opened Engine (as a new CLI run would be). Goal: the second run takes <= 1% of the first.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

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
            raise RuntimeError(f"re-index was not a no-op: {again.as_dict()}")
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
    return result
