"""anyseek's embeddable engine. `from engine import Engine` loads no model and touches no disk."""

from __future__ import annotations

from engine.errors import AnyseekError
from engine.records import Hit, IndexReport, IndexStatus, Modality, Progress, QueryPart, SearchResults

__all__ = [
    "AnyseekError",
    "Engine",
    "Hit",
    "IndexReport",
    "IndexStatus",
    "Modality",
    "Progress",
    "QueryPart",
    "SearchResults",
]


def __getattr__(name: str):
    # Lazy, because the facade imports the indexer, which imports engine internals: an eager import here
    # would make `import engine.records` from the indexer circular.
    if name == "Engine":
        from engine.facade import Engine

        return Engine
    raise AttributeError(name)
