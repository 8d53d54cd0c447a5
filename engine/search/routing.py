"""Which space answers which part of a query.

Targets come in two classes: visual chunks (images; video frames would join them) live only in the joint
space; textual chunks (passages, speech windows) live in the index's `text_spaces`. Each class is
searched through one dense space, the one that serves it best:

- textual targets through the text space (MiniLM) when the text space represents the whole query (text,
  speech, a document as "more like this"); a query with an image in it has no text-space vector for the
  image, so its textual targets go through the joint space;
- visual targets through the joint space, always (it is the only space that holds them).

A class is never searched through two dense spaces: a joint model that is weak at text-to-text (the demo
model; a real CLIP's text tower is too, next to MiniLM) would otherwise get a say over documents. Lexical
evidence (FTS5) is added to every class in the hybrid mode (passage words, transcripts, file names).
"""

from __future__ import annotations

from dataclasses import dataclass

from anyseek.engine.records import VISUAL_KINDS, ChunkKind, Mode, Space

__all__ = ["FUSED", "TEXTUAL", "VISUAL", "Mode", "Route", "class_of", "plan"]  # Mode is defined with the records

VISUAL = VISUAL_KINDS
# A record's fused vector (ChunkKind.RECORD) is neither: it has routes of its own (search/record_fusion.py)
FUSED = frozenset({ChunkKind.RECORD})
TEXTUAL = frozenset(k for k in ChunkKind if k not in VISUAL | FUSED)


@dataclass(frozen=True, slots=True)
class Route:
    """One dense search: a space, restricted to one class of targets."""

    space: Space
    kinds: frozenset[ChunkKind]

    @property
    def name(self) -> str:
        return self.space.value


def class_of(kind: ChunkKind) -> frozenset[ChunkKind]:
    return VISUAL if kind in VISUAL else TEXTUAL


def plan(vectors: set[Space], covers_all: set[Space], text_spaces: frozenset[Space], mode: Mode) -> list[Route]:
    """The dense routes of a query. `vectors`: spaces the query was encoded into; `covers_all`: those in
    which every part of the query is represented; `text_spaces`: the spaces holding textual chunks."""
    if mode is Mode.LEXICAL:
        return []
    routes = []
    if Space.JOINT in vectors:
        routes.append(Route(Space.JOINT, VISUAL))
    textual = [s for s in (Space.TEXT, Space.JOINT) if s in vectors and s in text_spaces]
    complete = [s for s in textual if s in covers_all]
    if complete or textual:
        routes.append(Route((complete or textual)[0], TEXTUAL))
    return routes
