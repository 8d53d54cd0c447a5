"""Build the synthetic demo dataset that the demo model is trained on.

    .venv/bin/python data/make_demo_dataset.py --out /tmp/anyseek-demo-data --n 24000 --seed 0

Writes, under --out:
    images/*.png           64 px scenes (t*.png for training, h*.png for held-out)
    pairs.csv              image,text,group: scenes of seen colour x shape combinations only
    heldout_pairs.csv      image,text,group: scenes with at least one held-out combination
    heldout.json           the colours, shapes, held-out combinations, templates and counts

The same --seed gives byte-identical images and captions. `group` is what a caption means (its colours and
shapes, sorted), so different phrasings of one scene are positives, not negatives, for `anyseek train`.
"""

from __future__ import annotations

import argparse
import csv
import functools
import itertools
import json
import logging
import multiprocessing
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from data.demo_scenes import (  # noqa: E402
    COLOURS,
    HELDOUT,
    IMAGE_SIZE,
    PAIR_TEMPLATES,
    SHAPES,
    SINGLE_TEMPLATES,
    Thing,
    caption,
    group,
    render,
)

log = logging.getLogger("make_demo_dataset")


def all_combos() -> list[Thing]:
    return [Thing(c, s) for c, s in itertools.product(COLOURS, SHAPES)]


def sample_scene(rng: random.Random, heldout: set[Thing], want_heldout: bool, two_fraction: float) -> list[Thing]:
    """Seen scenes contain no held-out combination; held-out scenes contain at least one."""
    seen = [t for t in all_combos() if t not in heldout]
    first = rng.choice(sorted(heldout, key=lambda t: t.name) if want_heldout else seen)
    if rng.random() >= two_fraction:
        return [first]
    others = [t for t in (all_combos() if want_heldout else seen) if t != first]
    return [first, rng.choice(others)]


def make_scene(out: Path, prefix: str, i: int, seed: int, heldout: set[Thing], two_fraction: float) -> dict[str, str]:
    # One generator per scene: any scene can be regenerated alone, and neither the order of work nor the
    # number of workers changes a byte of the output.
    rng = random.Random(f"{seed}:{prefix}:{i}")
    things = sample_scene(rng, heldout, prefix == "h", two_fraction)
    name = f"images/{prefix}{i:06d}.png"
    render(things, rng, IMAGE_SIZE).save(out / name)
    return {"image": name, "text": caption(things, rng), "group": group(things)}


def write_split(
    out: Path, prefix: str, count: int, seed: int, heldout: set[Thing], two_fraction: float, workers: int
) -> list[dict[str, str]]:
    make = functools.partial(make_scene, out, prefix, seed=seed, heldout=heldout, two_fraction=two_fraction)
    if workers <= 1:
        return [make(i) for i in range(count)]
    with multiprocessing.Pool(workers) as pool:
        return pool.map(make, range(count), chunksize=256)


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "text", "group"])
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    parser.add_argument("--n", type=int, default=24000, help="scenes of seen combinations (default 24000)")
    parser.add_argument("--n-heldout", type=int, default=None, help="held-out scenes (default n/10, at least 200)")
    parser.add_argument("--two-object-fraction", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes (the output does not depend on it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    n_heldout = args.n_heldout if args.n_heldout is not None else max(200, args.n // 10)
    heldout = {Thing(c, s) for c, s in HELDOUT}
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    write_csv(
        args.out / "pairs.csv",
        write_split(args.out, "t", args.n, args.seed, heldout, args.two_object_fraction, args.workers),
    )
    held_rows = write_split(args.out, "h", n_heldout, args.seed, heldout, args.two_object_fraction, args.workers)
    write_csv(args.out / "heldout_pairs.csv", held_rows)
    manifest = {
        "generator": "data/make_demo_dataset.py",
        "seed": args.seed,
        "image_size": IMAGE_SIZE,
        "colours": list(COLOURS),
        "shapes": list(SHAPES),
        "heldout": [list(pair) for pair in HELDOUT],
        "pairs": args.n,
        "heldout_pairs": n_heldout,
        "two_object_fraction": args.two_object_fraction,
        "single_templates": list(SINGLE_TEMPLATES),
        "pair_templates": list(PAIR_TEMPLATES),
    }
    (args.out / "heldout.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %d + %d held-out scenes to %s", args.n, n_heldout, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
