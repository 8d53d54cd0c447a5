"""Aligned (image, caption) pairs: loading them from CSV, JSONL or a folder, and splitting them.

Every problem with the input is a one-line `TrainingError` that names the file and row, because a
training run that dies an hour in on row 90 000 is far worse than one that refuses to start.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from anyseek.engine.errors import TrainingError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


@dataclass(frozen=True)
class Pair:
    """One aligned example. `group` names what the caption means; pairs of one group are positives for each
    other. Without a group, the caption up to case, spacing and final punctuation is the group, so that
    "A red circle." and "a red circle" are never treated as negatives of each other."""

    image: Path
    text: str
    group: str | None = None
    where: str = ""  # "line 14" of a CSV or JSONL, or the caption file's name: for messages about this pair

    @property
    def key(self) -> str:
        return self.group if self.group is not None else normalise_caption(self.text)


def normalise_caption(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".!?;, ")


def load_pairs(source: Path) -> list[Pair]:
    """Read pairs from a `.csv` (header `image,text[,group]`), a `.jsonl` (objects with the same keys)
    or a folder of `name.<image>` + `name.txt` (one caption per non-empty line).
    Relative image paths are resolved against the file's folder."""
    source = Path(source)
    if not source.exists():
        raise TrainingError(f"pairs not found: {source}")
    if source.is_dir():
        pairs = _load_folder(source)
    elif source.suffix.lower() == ".csv":
        pairs = _load_csv(source)
    elif source.suffix.lower() in (".jsonl", ".ndjson"):
        pairs = _load_jsonl(source)
    else:
        raise TrainingError(f"{source}: unknown pairs format; use a .csv, a .jsonl or a folder")
    if not pairs:
        raise TrainingError(f"{source}: no pairs found")
    return pairs


def _make_pair(source: Path, where: str, image: object, text: object, group: object) -> Pair:
    if not isinstance(image, str) or not image.strip():
        raise TrainingError(f"{source}:{where}: missing image path")
    if not isinstance(text, str) or not text.strip():
        raise TrainingError(f"{source}:{where}: missing or empty text")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        group = None  # an empty group cell means "group by caption"
    path = Path(image.strip()).expanduser()
    if not path.is_absolute():
        path = source.parent / path
    if not path.is_file():
        raise TrainingError(f"{source}:{where}: image not found: {path}")
    return Pair(image=path, text=text.strip(), group=group.strip() if group else None, where=where)


def _load_csv(source: Path) -> list[Pair]:
    try:
        with source.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or ())
            if not {"image", "text"} <= fields:
                raise TrainingError(
                    f"{source}: expected a header row with 'image' and 'text' columns, got {sorted(fields)}"
                )
            # Row numbers count the header as line 1, as a spreadsheet shows them.
            return [
                _make_pair(source, f"line {n}", row.get("image"), row.get("text"), row.get("group"))
                for n, row in enumerate(reader, start=2)
            ]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TrainingError(f"{source}: not a readable UTF-8 CSV ({exc})") from exc


def _load_jsonl(source: Path) -> list[Pair]:
    pairs = []
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise TrainingError(f"{source}: not UTF-8 text ({exc})") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingError(f"{source}:line {n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise TrainingError(f"{source}:line {n}: expected an object with 'image' and 'text'")
        pairs.append(_make_pair(source, f"line {n}", row.get("image"), row.get("text"), row.get("group")))
    return pairs


def _load_folder(folder: Path) -> list[Pair]:
    pairs = []
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    for image in images:
        caption_file = image.with_suffix(".txt")
        if not caption_file.is_file():
            raise TrainingError(f"{image}: no caption file {caption_file.name} next to it")
        try:
            captions = [c.strip() for c in caption_file.read_text(encoding="utf-8").splitlines() if c.strip()]
        except UnicodeDecodeError as exc:
            raise TrainingError(f"{caption_file}: not UTF-8 text ({exc})") from exc
        if not captions:
            raise TrainingError(f"{caption_file}: empty caption")
        numbered = len(captions) > 1
        pairs.extend(
            Pair(image=image, text=caption, where=f"{caption_file.name} caption {n}" if numbered else caption_file.name)
            for n, caption in enumerate(captions, start=1)
        )
    return pairs


def split_pairs(pairs: list[Pair], val_fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """Split into (train, val) by image, so that no image appears on both sides."""
    if not 0.0 < val_fraction < 1.0:
        raise TrainingError(f"validation fraction must be between 0 and 1, got {val_fraction}")
    images = sorted({p.image for p in pairs})
    random.Random(seed).shuffle(images)
    n_val = round(len(images) * val_fraction)
    if n_val < 2 or n_val >= len(images):
        raise TrainingError(
            f"{len(images)} images are too few for a validation fraction of {val_fraction}; "
            "add pairs or change --val-fraction"
        )
    val_images = set(images[:n_val])
    train = [p for p in pairs if p.image not in val_images]
    val = [p for p in pairs if p.image in val_images]
    return train, val


def fingerprint(pairs: list[Pair]) -> str:
    """A short hash of the pair list, to refuse resuming a run on different data."""
    digest = hashlib.sha256()
    for pair in pairs:
        digest.update(f"{pair.image}\0{pair.text}\0{pair.group or ''}\n".encode())
    return digest.hexdigest()[:16]
