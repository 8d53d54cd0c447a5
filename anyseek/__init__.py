"""anyseek: local-first cross-modal search.

The public API is what this module exports; everything under `anyseek.engine`, `anyseek.indexer` and
`anyseek.cli` is internal and may change between versions. Importing anyseek loads no model and touches no
disk: `Engine` (and with it numpy, SQLAlchemy and the indexer) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anyseek.engine.errors import (
    AnyseekError,
    ConfigError,
    ExtractionError,
    IndexLockedError,
    IndexNotFoundError,
    ModelMismatchError,
    ModelUnavailableError,
    NotFoundError,
    QueryError,
    QueryFileNotFoundError,
    RootUnavailableError,
    SchemaError,
    StorageError,
)
from anyseek.engine.records import (
    FileError,
    Filters,
    Hit,
    IndexReport,
    IndexStatus,
    Modality,
    Mode,
    Moment,
    Progress,
    QueryPart,
    SearchResults,
    Space,
)

if TYPE_CHECKING:
    from anyseek.engine.facade import Engine
    from anyseek.engine.request import SearchRequest


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        return _version("anyseek")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


__all__ = [
    "AnyseekError",
    "ConfigError",
    "Engine",
    "ExtractionError",
    "FileError",
    "Filters",
    "Hit",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexStatus",
    "Modality",
    "Mode",
    "ModelMismatchError",
    "ModelUnavailableError",
    "Moment",
    "NotFoundError",
    "Progress",
    "QueryError",
    "QueryFileNotFoundError",
    "QueryPart",
    "RootUnavailableError",
    "SchemaError",
    "SearchRequest",
    "SearchResults",
    "Space",
    "StorageError",
    "__version__",
]


def __getattr__(name: str):
    # Lazy for weight, not for a cycle: the facade pulls in numpy, SQLAlchemy, PIL and the indexer, which
    # a script that only handles records or errors should not pay for.
    if name == "Engine":
        from anyseek.engine.facade import Engine

        return Engine
    if name == "SearchRequest":  # imported by the commands that search, not by every `import anyseek`
        from anyseek.engine.request import SearchRequest

        return SearchRequest
    if name == "__version__":  # read from the package metadata on first use (importlib.metadata is slow)
        globals()["__version__"] = version = _installed_version()
        return version
    raise AttributeError(f"module 'anyseek' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
