"""Indexing through Ray on this machine (`anyseek index DIR --ray local`) against one process, as a ratio.

    .venv/bin/python -m bench.ray_index [--photos 200] [--notes 100] [--rounds 2]

Each run is a fresh `anyseek index` process into a fresh index (what a user runs: start-up, model loads,
Ray's cluster start for the Ray runs, and the final save all count), the two modes interleaved round by
round so the shared machine's load falls on both alike. The folder: photos of 640x480 and short notes;
the joint model is ViT-B-32's architecture with seeded random weights (the real model's compute).

On one machine Ray can only lose: the same cores decode and embed, and the files and vectors travel
through its object store. What it buys is on a cluster (docs/scale.md, Indexing on Ray).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Result, cache_dir, log

MODELS = ["--joint-model", "ViT-B-32", "--joint-pretrained", "random", "--device", "cpu"]


def build_folder(root: Path, photos: int, notes: int) -> Path:
    from tests.media import photo

    words = "budget travel harbour garden station river meeting report summer invoice".split()
    (root / "photos").mkdir(parents=True, exist_ok=True)
    (root / "notes").mkdir(exist_ok=True)
    for n in range(photos):
        photo(n, (640, 480)).save(root / "photos" / f"p{n:04d}.jpg", quality=88)
    for n in range(notes):
        text = " ".join(words[(n * 7 + i * 3) % len(words)] for i in range(60))
        (root / "notes" / f"n{n:04d}.txt").write_text(f"Note {n}. {text}.")
    return root


def index_once(folder: Path, ray: bool) -> float:
    home = Path(tempfile.mkdtemp(dir=cache_dir("work")))
    command = [sys.executable, "-m", "anyseek", "--index", str(home), "index", str(folder), *MODELS, "--json"]
    command += ["--ray", "local"] if ray else []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    try:
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run(quick: bool = False, photos: int | None = None, notes: int | None = None, rounds: int = 2) -> Result:
    photos = photos or (30 if quick else 200)
    notes = notes or (20 if quick else 100)
    result = Result("ray_index")
    folder = build_folder(Path(tempfile.mkdtemp(dir=cache_dir("work"))), photos, notes)
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        for round_ in range(rounds):
            for ray in (False, True):
                seconds = index_once(folder, ray)
                times[ray].append(seconds)
                log(f"ray_index: round {round_ + 1}, {'--ray local' if ray else 'one process'}: {seconds:.1f} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    local, on_ray = min(times[False]), min(times[True])
    result.figures = {"photos": photos, "notes": notes, "cpus": os.cpu_count(), "seconds": times}
    result.figures["ratio"] = on_ray / local
    result.row(f"index {photos} photos + {notes} notes, one process", f"{local:.1f} s (best of {rounds})")
    result.row("  same through --ray local", f"{on_ray:.1f} s: {on_ray / local:.2f}x one process")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int)
    parser.add_argument("--notes", type=int)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from rich.console import Console

    from bench.run import table

    Console(width=160).print(table([run(args.quick, args.photos, args.notes, args.rounds)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
