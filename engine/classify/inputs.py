"""What classify and align read: a record manifest (engine/manifest.py), or for align also the pairs of
`anyseek train` (engine/training/pairs.py: a CSV or JSONL of image,text[,group] rows, or a folder of
name.jpg + name.txt), told apart by their header: pairs have `image` and `text` and no `id`.

Pairs become records with an `image` part and a `text` part, named by where they are ("line 14"), and keep
their group (what the caption means), so two captions of one group are never taken for a mismatch.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from anyseek.engine.errors import ClassifyError
from anyseek.engine.manifest import DEFAULT_LABEL_FIELD, ID_FIELD, Manifest, read_manifest

if TYPE_CHECKING:
    from anyseek.engine.training.pairs import Pair

RecordSource = str | os.PathLike | Iterable[Mapping[str, object]] | Manifest
PAIR_FIELDS = frozenset({"image", "text"})


@dataclass(frozen=True, slots=True)
class AlignmentInput:
    manifest: Manifest
    groups: list[str | None] | None  # per record, for pairs: what its caption means


def manifest_of(source: RecordSource, label_field: str = DEFAULT_LABEL_FIELD) -> Manifest:
    if isinstance(source, Manifest):
        return source
    return read_manifest(source, label_field=label_field)


def alignment_input(source: RecordSource, label_field: str = DEFAULT_LABEL_FIELD) -> AlignmentInput:
    if isinstance(source, (str, os.PathLike)) and is_pairs(Path(source).expanduser()):
        # here, not at the top: engine.training's package imports open_clip and torch, which a search
        # process never loads (tests/test_query_runtime.py); the facade imports this module
        from anyseek.engine.training.pairs import load_pairs

        return pairs_input(load_pairs(Path(source).expanduser()), str(source))
    return AlignmentInput(manifest_of(source, label_field), None)


def pairs_input(pairs: list[Pair], source: str) -> AlignmentInput:
    rows = [
        {ID_FIELD: pair.where or f"pair {n}", "image": str(pair.image), "text": pair.text}
        for n, pair in enumerate(pairs, 1)
    ]
    seen: dict[str, int] = {}
    for row in rows:  # one image's captions in a folder share a file name: number them apart
        seen[row[ID_FIELD]] = seen.get(row[ID_FIELD], 0) + 1
        if seen[row[ID_FIELD]] > 1:
            row[ID_FIELD] = f"{row[ID_FIELD]} #{seen[row[ID_FIELD]]}"
    manifest = read_manifest(rows, base="/")
    if manifest.errors:  # an image named by the pairs vanished between loading and reading
        raise ClassifyError(f"{source}: {manifest.errors[0]}")
    manifest = Manifest(source, manifest.records, (), manifest.warnings, manifest.label_field)
    return AlignmentInput(manifest, [pair.key for pair in pairs])


def is_pairs(path: Path) -> bool:
    """A folder, or a file whose header (CSV) or first row (JSONL) names image and text but no id."""
    if path.is_dir():
        return True
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            head = handle.read(64 * 1024)
    except OSError:
        return False  # read_manifest says what is wrong with it
    first = next((line for line in head.splitlines() if line.strip()), "")
    if path.suffix.lower() == ".csv" or not first.lstrip().startswith("{"):
        names = set(next(csv.reader(io.StringIO(first)), []))
    else:
        try:
            row = json.loads(first)
        except json.JSONDecodeError:
            return False
        names = set(row) if isinstance(row, dict) else set()
    return PAIR_FIELDS <= names and ID_FIELD not in names


def parse_labels(labels: str | Iterable[str]) -> tuple[str, ...]:
    """Zero-shot labels: "a,b,c" or a list; blanks dropped, duplicates once, order kept."""
    items = labels.split(",") if isinstance(labels, str) else list(labels)
    out: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise ClassifyError(f"a label is text, got {item!r}")
        if item.strip():
            out.setdefault(" ".join(item.split()), None)
    if len(out) < 2:
        raise ClassifyError(
            f'zero-shot classification needs two labels at least, like --labels "bug,question"; got {list(out)}'
        )
    return tuple(out)


__all__ = ["AlignmentInput", "alignment_input", "manifest_of", "parse_labels", "pairs_input"]
