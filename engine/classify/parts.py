"""A record as classification and alignment see it: each part's direction per route and per space, and its
words. Built from the part's chunks with their vectors, whether they were just embedded (a manifest given
to classify) or read from the index (labelled records already indexed): the same chunks that search scores.

- A part's vector in a space is the normalised mean of its chunks' vectors there (search/part_vectors.py),
  so a long description counts once, whatever its length.
- A part's vector on a route (a space and a class of chunks, search/routing.py) is the same mean over the
  chunks of that class only: a video part has pictures on the visual route and words on the textual one,
  and each is measured against its own route's null, as search does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from anyseek.engine.records import EmbeddedChunk, Space
from anyseek.engine.search.part_vectors import part_vector
from anyseek.engine.search.routing import Route, class_of


@dataclass(frozen=True, slots=True)
class PartVectors:
    field: str
    spaces: dict[Space, np.ndarray]  # all its chunks' mean, per space (early fusion)
    routes: dict[Route, np.ndarray]  # its chunks of one class, per space (scores on a route)
    words: str = ""  # its text, transcript or document text (lexical features)


@dataclass(frozen=True, slots=True)
class RecordVectors:
    id: str
    label: str | None
    parts: tuple[PartVectors, ...]
    row: int = 0
    summary: str = ""  # the record in a few words, for tables and warnings
    errors: tuple[str, ...] = field(default=())  # its parts that could not be read

    def part(self, name: str) -> PartVectors | None:
        return next((p for p in self.parts if p.field == name), None)

    def only(self, names: Sequence[str]) -> RecordVectors:
        """The same record with only these parts (an ablation's "each part alone")."""
        kept = tuple(p for p in self.parts if p.field in names)
        return RecordVectors(self.id, self.label, kept, self.row, self.summary, self.errors)


def part_vectors(name: str, chunks: Sequence[EmbeddedChunk]) -> PartVectors | None:
    """A part from its chunks; None when no chunk has a vector (nothing of it could be embedded)."""
    by_space: dict[Space, list[np.ndarray]] = {}
    by_route: dict[Route, list[np.ndarray]] = {}
    for embedded in chunks:
        for space, vector in embedded.vectors.items():
            by_space.setdefault(space, []).append(vector)
            by_route.setdefault(Route(space, class_of(embedded.chunk.kind)), []).append(vector)
    spaces = {space: v for space, vs in by_space.items() if (v := part_vector(vs)) is not None}
    routes = {route: v for route, vs in by_route.items() if (v := part_vector(vs)) is not None}
    if not spaces:
        return None
    words = " ".join(c.chunk.text for c in chunks if c.chunk.text)
    return PartVectors(name, spaces, routes, words)


def record_vectors(
    record_id: str,
    label: str | None,
    chunks_by_field: Mapping[str, Sequence[EmbeddedChunk]],
    *,
    row: int = 0,
    summary: str = "",
    errors: Sequence[str] = (),
) -> RecordVectors:
    """A record from its parts' chunks, in the manifest's field order; a part with no vector is left out."""
    parts = tuple(p for name, chunks in chunks_by_field.items() if (p := part_vectors(name, chunks)) is not None)
    return RecordVectors(record_id, label, parts, row, summary, tuple(errors))


def fields_of(records: Sequence[RecordVectors]) -> list[str]:
    """Every field any of the records has, in order of first appearance."""
    seen: dict[str, None] = {}
    for record in records:
        for part in record.parts:
            seen.setdefault(part.field, None)
    return list(seen)
