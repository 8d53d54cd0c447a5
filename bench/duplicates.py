"""Duplicate finding on real photos (issue 25): pair precision and recall, with the demo model and with
the hash alone, against true duplicates and traps made from the wallpapers on this machine.

Originals: every picture under /usr/share/backgrounds (Debian's desktop-base, MATE, UKUI and Lomiri
wallpapers: photos, paintings, and light/dark/colour variants of one drawing), reduced to 1600 px and saved
as JPEG with EXIF. Files whose names say they are one picture at several sizes (Elephants_3840x2160...)
are one truth group.
- true duplicates of each original: a copy, a re-encode at quality 50-70, a resize to 30-60%, a crop of
  2-5% per side, PNG, WebP, a brightness shift of 2-5%, the same pixels without EXIF;
- traps, each its own truth group (shared only by the same trap of two sources that are one picture): a
  light and a dark variant (x1.6, x0.5), the left and the right half, the previous original upside down
  (a drawing not in the folder) painted in this one's colours (per-channel histogram matching), and the
  wallpapers' own light/dark/colour variants (MATE-Stripes-Light/Dark, Ubuntu-Mate-Cold/Warm/Dark/Radioactive).
A pair is predicted when two files share a group (exact or duplicate tier). Precision and recall are over
pairs. Also measured: Immich's rule (joint-space cosine distance <= 0.01, i.e. cosine >= 0.99, alone), and
a sweep of the hash thresholds that chose the defaults in engine/duplicates/pictures.py.

    python -m bench.duplicates            # quality (about 900 files)
    python -m bench.duplicates --scale 10000   # throughput of `anyseek duplicates` at that many photos
    python -m bench.duplicates --kept 10000 100000   # what --collapse-duplicates pays for its groups
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from bench.common import DEMO_MODEL, DEVICE, cache_dir, log

SOURCES = (Path("/usr/share/backgrounds"),)
MAX_SIDE = 1600
VARIANTS = ("copy", "q50-70", "resize", "crop", "png", "webp", "bright", "no-exif")
TRAPS = ("light", "dark", "left-half", "right-half", "same-colours")
SAME_PICTURE = re.compile(r"_\d+x\d+$")  # Elephants_3840x2160 is Elephants at another size


def originals() -> list[Path]:
    found = [p for root in SOURCES for p in sorted(root.rglob("*")) if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    return [p for p in found if p.stat().st_size > 50_000]


def flatten(path: Path) -> Image.Image | None:
    """The picture as RGB, a transparent overlay (MATE's Silk, Waves...) laid on mid grey as a desktop
    shows it; None for a picture that is one flat colour (nothing to tell it from another flat one)."""
    image = ImageOps.exif_transpose(Image.open(path))
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, (128, 128, 128, 255)), image)
    image = image.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return image if float(np.asarray(image.convert("L").resize((64, 64))).std()) >= 4 else None


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    """The ground truth for two source files: the same picture when their pixels at 256x256 differ by
    under 1% on average (independent of the hashes under test)."""
    left = np.asarray(a.resize((256, 256)), dtype=np.float64)
    right = np.asarray(b.resize((256, 256)), dtype=np.float64)
    return float(np.abs(left - right).mean()) / 255 < 0.01


def _exif(when: str) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0132] = "BenchCam", when
    return exif


def _match_colours(image: Image.Image, reference: Image.Image) -> Image.Image:
    """`image`'s drawing in `reference`'s colours: each channel's values mapped onto the reference's
    distribution (histogram matching)."""
    source = np.asarray(image, dtype=np.uint8)
    target = np.asarray(reference.resize(image.size), dtype=np.uint8)
    out = np.empty_like(source)
    for c in range(3):
        order = np.argsort(source[..., c], axis=None)
        values = np.sort(target[..., c], axis=None)
        flat = np.empty(order.size, np.uint8)
        flat[order] = values
        out[..., c] = flat.reshape(source.shape[:2])
    return Image.fromarray(out)


def build(folder: Path, seed: int = 25) -> dict[str, str]:
    """The benchmark folder; returns file name -> truth group."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, str] = {}
    pictures: list[Image.Image] = []
    groups: list[str] = []
    for path in originals():
        image = flatten(path)
        if image is None:
            continue
        n = len(pictures)
        group = SAME_PICTURE.sub("", path.stem)
        group = next((g for p, g in zip(pictures, groups, strict=True) if same_pixels(p, image)), group)
        pictures.append(image)
        groups.append(group)
        name = f"{n:03d}-{path.stem}"
        image.save(folder / f"{name}.jpg", quality=92, exif=_exif(f"2024:01:{1 + n % 28:02d} 10:00:00"))
        truth[f"{name}.jpg"] = group
        for variant in VARIANTS:
            truth[_variant(folder, name, image, variant, rng)] = group
        for trap in TRAPS:
            other = (pictures[n - 1] if n else image).rotate(180)  # a drawing that is not in the folder
            # a trap of two sources that are one picture is one picture too; the recoloured drawing is new
            truth[_trap(folder, name, image, trap, other)] = f"{name if trap == 'same-colours' else group}:{trap}"
    return truth


def _variant(folder: Path, name: str, image: Image.Image, variant: str, rng: random.Random) -> str:
    w, h = image.size
    target = folder / f"{name}~{variant}.jpg"
    if variant == "copy":
        shutil.copyfile(folder / f"{name}.jpg", target)
    elif variant == "q50-70":
        image.save(target, quality=rng.randint(50, 70))
    elif variant == "resize":
        scale = rng.uniform(0.3, 0.6)
        image.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS).save(target, quality=85)
    elif variant == "crop":
        cut = [rng.uniform(0.02, 0.05) for _ in range(4)]
        box = (round(w * cut[0]), round(h * cut[1]), w - round(w * cut[2]), h - round(h * cut[3]))
        image.crop(box).save(target, quality=90)
    elif variant in ("png", "webp"):
        target = target.with_suffix(f".{variant}")
        image.save(target, **({"quality": 85} if variant == "webp" else {}))
    elif variant == "bright":
        factor = 1 + rng.choice((-1, 1)) * rng.uniform(0.02, 0.05)
        ImageEnhance.Brightness(image).enhance(factor).save(target, quality=90)
    elif variant == "no-exif":
        image.save(target, quality=92)
    return target.name


def _trap(folder: Path, name: str, image: Image.Image, trap: str, other: Image.Image) -> str:
    w, h = image.size
    target = folder / f"{name}!{trap}.jpg"
    made = {
        "light": lambda: ImageEnhance.Brightness(image).enhance(1.6),
        "dark": lambda: ImageEnhance.Brightness(image).enhance(0.5),
        "left-half": lambda: image.crop((0, 0, w // 2, h)),
        "right-half": lambda: image.crop((w // 2, 0, w, h)),
        "same-colours": lambda: _match_colours(other, image),
    }[trap]()
    made.save(target, quality=90)
    return target.name


def pairs_of(groups: list[set[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}


def score(predicted: set, truth_pairs: set) -> dict:
    hits = len(predicted & truth_pairs)
    return {
        "precision": round(hits / len(predicted), 4) if predicted else 1.0,
        "recall": round(hits / len(truth_pairs), 4) if truth_pairs else 1.0,
        "pairs": len(predicted),
        "false_pairs": sorted(predicted - truth_pairs)[:20],
    }


def per_variant(predicted: set, truth: dict[str, str]) -> dict[str, float]:
    out = {}
    for variant in VARIANTS:
        names = [n for n in truth if f"~{variant}." in n]
        found = sum(1 for n in names if tuple(sorted((n.split("~")[0] + ".jpg", n))) in predicted)
        out[variant] = round(found / len(names), 3)
    for trap in TRAPS:
        names = {n for n in truth if f"!{trap}." in n}
        out[f"trap:{trap} (false pairs)"] = sum(1 for p in predicted if names & set(p))
    return out


def signals(eng, truth: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """Each signal between an original and its variants or traps: the 5th, 50th and 95th percentile per
    kind of copy (hash bits, colour, chroma) and, for traps, the extreme that a threshold must exclude."""
    from anyseek.engine.duplicates.embeddings import Embeddings
    from anyseek.engine.duplicates.fingerprints import brightness_change, chroma_distance, colour_distance, hamming
    from anyseek.engine.duplicates.signatures import FingerprintCache
    from anyseek.engine.records import ChunkKind, Modality

    items = eng.store.files_of(Modality.IMAGE)
    by_name = {Path(item.display_path).name: item.id for item in items}
    prints = FingerprintCache(eng.home, 10**9).pictures_of(items, lambda: None, [])
    chunks = {c.item.id: c.chunk_id for c in eng.store.item_contents(items, (ChunkKind.IMAGE,))}
    embeddings = Embeddings(eng.catalog, chunks)
    out = {}
    for kind in (*VARIANTS, *TRAPS):
        rows = []
        for name in truth:
            if f"~{kind}." in name or f"!{kind}." in name:
                a, b = by_name[re.split(r"[~!]", name)[0] + ".jpg"], by_name[name]
                pa, pb = prints[a], prints[b]
                signal = (hamming(pa.phash, pb.phash), colour_distance(pa.colour, pb.colour))
                light = brightness_change(pa.colour, pb.colour)
                rows.append((*signal, chroma_distance(pa.colour, pb.colour), light, embeddings.cosine(a, b)))
        table = np.asarray(rows)
        out[kind] = {
            name: [round(float(np.percentile(table[:, i], q)), 3) for q in (5, 50, 95)]
            for i, name in enumerate(("hamming", "colour", "chroma", "brightness", "cosine"))
        }
    return out


def quality(workdir: Path) -> dict:
    from anyseek.engine import Engine
    from anyseek.engine.duplicates import DuplicateRules
    from anyseek.engine.duplicates.embeddings import Embeddings
    from anyseek.engine.duplicates.pictures import PictureRules
    from anyseek.engine.records import ChunkKind, Modality

    folder, home = workdir / "photos", workdir / "index"
    shutil.rmtree(workdir, ignore_errors=True)
    log("building the folder from the wallpapers")
    truth = build(folder)
    groups: dict[str, set[str]] = {}
    for name, group in truth.items():
        groups.setdefault(group, set()).add(name)
    truth_pairs = pairs_of(list(groups.values()))
    log(f"{len(truth)} files, {len(truth_pairs)} true pairs; indexing with the demo model")
    eng = Engine.open(home, joint_model=str(DEMO_MODEL), device=DEVICE)
    started = time.perf_counter()
    eng.index([folder])
    figures: dict = {"files": len(truth), "true_pairs": len(truth_pairs), "index_s": time.perf_counter() - started}

    def found(rules) -> set:
        report = eng.duplicates(rules=rules)
        return pairs_of([{Path(i.path).name for i in g.items} for g in report.groups])

    started = time.perf_counter()
    with_model = found(DuplicateRules())
    figures["first_run_s"] = time.perf_counter() - started
    for label, predicted in (
        ("hash+demo model", with_model),
        ("hash only", found(DuplicateRules(use_embeddings=False))),
    ):
        figures[label] = {**score(predicted, truth_pairs), "per_variant": per_variant(predicted, truth)}
    items = eng.store.files_of(Modality.IMAGE)
    chunks = {c.item.id: c.chunk_id for c in eng.store.item_contents(items, (ChunkKind.IMAGE,))}
    names = {item.id: Path(item.display_path).name for item in items}
    immich = {tuple(sorted((names[a], names[b]))) for a, b in Embeddings(eng.catalog, chunks).pairs(0.99)}
    figures["Immich rule (demo model cosine >= 0.99 alone)"] = score(immich, truth_pairs)
    figures["signals"] = signals(eng, truth)
    sweep = []
    for hamming_bits, colour in itertools.product((6, 8, 10, 12, 14, 16, 20), (0.04, 0.06, 0.08, 0.12)):
        rules = DuplicateRules(PictureRules(max_hamming=hamming_bits, max_colour=colour), use_embeddings=False)
        result = score(found(rules), truth_pairs)
        sweep.append(
            {"max_hamming": hamming_bits, "max_colour": colour, **{k: result[k] for k in ("precision", "recall")}}
        )
    figures["hash-only sweep"] = sweep
    eng.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, help="throughput at this many photos instead of quality")
    parser.add_argument("--ocr", default="auto", choices=("auto", "on", "off"), help="the index's OCR (--scale)")
    parser.add_argument("--kept", type=int, nargs="+", help="what collapsed searches pay at these many photos")
    args = parser.parse_args()
    workdir = cache_dir("duplicates")
    if args.kept:
        from bench.duplicates_scale import kept_groups_at

        figures = [kept_groups_at(count, workdir / "kept") for count in args.kept]
    elif args.scale:
        from bench.duplicates_scale import throughput

        figures = throughput(workdir / f"scale-{args.scale}", args.scale, originals(), args.ocr)
    else:
        figures = quality(workdir / "quality")
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
