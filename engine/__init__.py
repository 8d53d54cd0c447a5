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
    # Lazy for weight, not for a cycle (there is none: tests/test_architecture.py): every import of an
    # anyseek.engine module runs this file first, and the facade brings numpy, SQLAlchemy and PIL with it,
    # which the CLI talking to a server and a script handling only records never need.
    if name == "Engine":
        from anyseek.engine.facade import Engine

        return Engine
    raise AttributeError(name)
