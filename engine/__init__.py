"""anyseek's engine (internal). Apps import the public API from `anyseek`; importing this loads no model."""

from __future__ import annotations

from anyseek.engine.errors import AnyseekError
from anyseek.engine.records import Hit, IndexReport, IndexStatus, Modality, Progress, QueryPart, SearchResults

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
        from anyseek.engine.facade import Engine

        return Engine
    raise AttributeError(name)
