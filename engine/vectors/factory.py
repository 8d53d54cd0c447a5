"""Choose and build vector index backends by name."""

from __future__ import annotations

from engine.errors import ConfigError
from engine.vectors.base import VectorIndex
from engine.vectors.exact import ExactIndex
from engine.vectors.faiss_flat import FaissFlatIndex

BACKENDS: dict[str, type[VectorIndex]] = {
    ExactIndex.kind: ExactIndex,
    FaissFlatIndex.kind: FaissFlatIndex,
}


def backend_class(kind: str) -> type[VectorIndex]:
    try:
        return BACKENDS[kind]
    except KeyError:
        raise ConfigError(f"unknown vector index kind {kind!r}; known: {', '.join(sorted(BACKENDS))}") from None


def create_index(kind: str, dim: int) -> VectorIndex:
    return backend_class(kind)(dim)


def choose_kind(count: int, memory_budget_bytes: int | None = None) -> str:
    """The index type for a space of `count` vectors. Exact flat search for now: it is exact and fast
    enough up to about a million vectors; approximate types slot in here, chosen from count and budget."""
    return FaissFlatIndex.kind
