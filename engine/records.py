"""Typed records that cross layer boundaries. No SQL rows or positional tuples leave a layer."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only an annotation here: a CLI that talks to a server never imports numpy
    import numpy as np


class Modality(StrEnum):
    IMAGE = "image"
    TEXT = "text"
    AUDIO = "audio"


class ChunkKind(StrEnum):
    IMAGE = "image"  # the whole picture
    PASSAGE = "passage"  # a span of a text document, with character offsets
    SPEECH = "speech"  # a time window of a recording, with its transcript


class Space(StrEnum):
    """An embedding space. The vector id inside a space's index is the chunk id."""

    JOINT = "joint"  # CLIP: image tower for images, text tower for passages and transcripts
    TEXT = "text"  # sentence-transformers: every text-bearing chunk


def display_path(raw: bytes) -> str:
    """A printable form of a stored path; undecodable bytes become U+FFFD."""
    return os.fsdecode(raw).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One searchable unit of an item, before or after it is stored (id is None before)."""

    kind: ChunkKind
    ordinal: int
    text: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One source file as the index knows it."""

    id: int
    path: bytes  # os.fsencode form, so that non-UTF-8 names round-trip
    modality: Modality | None
    size: int
    mtime_ns: int
    content_hash: str
    status: str  # "ok" or "error"
    error: str | None
    indexed_at: float

    @property
    def display_path(self) -> str:
        return display_path(self.path)


@dataclass(frozen=True, slots=True)
class QueryPart:
    """One term of a combined query. Exactly one of text / image / audio / item_id is set."""

    weight: float = 1.0
    text: str | None = None
    image: object | None = None  # a path, raw bytes or a PIL image
    audio: Path | None = None
    item_id: int | None = None

    def __post_init__(self) -> None:
        given = [v is not None for v in (self.text, self.image, self.audio, self.item_id)]
        if sum(given) != 1:
            raise ValueError("a query part needs exactly one of text, image, audio or item_id")


@dataclass(frozen=True, slots=True)
class Filters:
    modalities: tuple[Modality, ...] = ()
    path_prefix: bytes | None = None
    min_similarity: float | None = None
    exclude_items: tuple[int, ...] = ()

    @property
    def restricts_ids(self) -> bool:
        return bool(self.modalities or self.path_prefix)


@dataclass(frozen=True, slots=True)
class Query:
    parts: tuple[QueryPart, ...]
    k: int = 10
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True, slots=True)
class Hit:
    """One result: an item, represented by its best-matching chunk."""

    item_id: int
    path: str
    modality: Modality
    score: float  # fused rank score (higher is better); comparable within one result list
    similarity: float  # best cosine similarity of the chunk in any searched space
    chunk_id: int
    snippet: str | None = None
    start: float | None = None  # seconds, for speech
    end: float | None = None
    char_start: int | None = None
    char_end: int | None = None
    raw_path: bytes = b""

    def to_dict(self) -> dict[str, object]:
        return {
            "item_id": self.item_id,
            "path": self.path,
            "modality": str(self.modality),
            "score": round(self.score, 6),
            "similarity": round(self.similarity, 6),
            "chunk_id": self.chunk_id,
            "snippet": self.snippet,
            "start": self.start,
            "end": self.end,
            "char_start": self.char_start,
            "char_end": self.char_end,
        }


@dataclass(frozen=True, slots=True)
class SearchResults(Sequence[Hit]):
    """The hits of one search, plus what the engine understood of the query (audio transcripts)."""

    hits: tuple[Hit, ...]
    transcripts: tuple[str, ...] = ()

    def __getitem__(self, index):  # type: ignore[override]
        return self.hits[index]

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)


@dataclass(slots=True)
class EmbeddedChunk:
    """A chunk with its vectors, ready to be written. Vectors are L2-normalised float32."""

    chunk: Chunk
    vectors: dict[Space, np.ndarray]


@dataclass(frozen=True, slots=True)
class FileError:
    path: str
    reason: str


@dataclass(slots=True)
class IndexReport:
    """What one `index` run did."""

    scanned: int = 0
    unchanged: int = 0
    added: int = 0
    updated: int = 0
    moved: int = 0
    copied: int = 0  # duplicates of indexed content: vectors reused, no model run
    deleted: int = 0
    ignored: int = 0  # files of no supported type
    chunks: int = 0
    failed: int = 0
    errors: list[FileError] = field(default_factory=list)
    problems: list[FileError] = field(default_factory=list)  # folders: loops, unreadable
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def as_dict(self) -> dict[str, object]:
        out = {name: getattr(self, name) for name in self.__slots__ if name not in ("errors", "problems")}
        out["errors"] = [{"path": e.path, "reason": e.reason} for e in self.errors]
        out["problems"] = [{"path": e.path, "reason": e.reason} for e in self.problems]
        return out


@dataclass(frozen=True, slots=True)
class Progress:
    """Sent to the caller's progress callback as the run goes."""

    phase: str  # scanning | indexing | finishing
    total: int
    done: int
    failed: int
    path: str = ""


@dataclass(frozen=True, slots=True)
class IndexStatus:
    home: str
    schema_version: int
    models: dict[str, str]
    fingerprints: dict[str, dict[str, object]]
    items: dict[str, int]
    chunks: dict[str, int]
    vectors: dict[str, int]
    errors: int
    ignored: int
    disk_bytes: int
    last_run: dict[str, object] | None
    first_errors: list[FileError]
    settings: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["first_errors"] = [{"path": e.path, "reason": e.reason} for e in self.first_errors]
        return out
