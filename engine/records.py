"""Typed records that cross layer boundaries. No SQL rows or positional tuples leave a layer."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only an annotation here: a CLI that talks to a server never imports numpy
    import numpy as np


class Modality(StrEnum):
    IMAGE = "image"
    TEXT = "text"
    AUDIO = "audio"
    VIDEO = "video"


class ChunkKind(StrEnum):
    IMAGE = "image"  # the whole picture
    PASSAGE = "passage"  # a span of a text document, with character offsets
    SPEECH = "speech"  # a time window of a recording (or a video's sound track), with its transcript
    FRAME = "frame"  # a picture of a video, with its time (start) and the next kept frame's (end)
    # a subtitle cue (a subtitle file, or a video's text track or sidecar file), with its start and end
    CUE = "cue"


VISUAL_KINDS = frozenset({ChunkKind.IMAGE, ChunkKind.FRAME})  # embedded by the image tower, joint space only


class Space(StrEnum):
    """An embedding space. The vector id inside a space's index is the chunk id."""

    JOINT = "joint"  # CLIP: image tower for images, text tower for passages and transcripts
    TEXT = "text"  # sentence-transformers: every text-bearing chunk


def iso_time(epoch: float | None) -> str | None:
    """UTC epoch seconds as ISO 8601 (`2024-05-01T10:30:00Z`)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    page: int | None = None  # 1-based page of a paginated document (PDF)
    slide: int | None = None  # 1-based slide of a deck (PPTX, ODP)
    sheet: str | None = None  # the sheet of a workbook (XLSX, ODS)
    row: int | None = None  # first and last 1-based row of a table's passage (XLSX, ODS, CSV; the header is row 1)
    row_end: int | None = None


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
    captured_at: float | None = None  # when the photo (or video) was taken: UTC epoch seconds

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
    transcript: str | None = None  # what was heard in `audio`, once transcribed (Engine.search_upload)

    def __post_init__(self) -> None:
        given = [v is not None for v in (self.text, self.image, self.audio, self.item_id)]
        if sum(given) != 1:
            from anyseek.engine.errors import QueryError

            raise QueryError("a query part needs exactly one of text, image, audio or item_id")


@dataclass(frozen=True, slots=True)
class Filters:
    modalities: tuple[Modality, ...] = ()
    path_prefix: bytes | None = None
    min_similarity: float | None = None  # raw cosine of the dense route
    exclude_items: tuple[int, ...] = ()
    min_score: float | None = None  # calibrated score, in [0, 1]
    captured_after: float | None = None  # epoch seconds, inclusive; items without a capture date drop out
    captured_before: float | None = None  # epoch seconds, exclusive

    @property
    def restricts_ids(self) -> bool:
        dated = self.captured_after is not None or self.captured_before is not None
        return bool(self.modalities or self.path_prefix or dated)


@dataclass(frozen=True, slots=True)
class Query:
    parts: tuple[QueryPart, ...]
    k: int = 10
    filters: Filters = field(default_factory=Filters)
    mode: str | None = None  # hybrid | dense | lexical; None: the search_mode setting
    spaces: tuple[Space, ...] | None = None  # only these dense spaces (evaluating one route alone)


@dataclass(frozen=True, slots=True)
class Moment:
    """A strong moment of a timed item (a video, a recording): where a player could seek."""

    start: float
    end: float
    score: float
    kind: ChunkKind

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "score": round(self.score, 6), "kind": str(self.kind)}


@dataclass(frozen=True, slots=True)
class Hit:
    """One result: an item, represented by its best-matching chunk."""

    item_id: int
    path: str
    modality: Modality
    # Calibrated, in [0, 1]: how far the match stands above what chance reaches on its route (see
    # search/calibration.py), comparable across images, passages and speech; 0.5 is one standard deviation
    # above the best that an unrelated query's targets reach.
    score: float
    similarity: float | None  # raw cosine in the route's space; None for a lexical-only match
    chunk_id: int
    snippet: str | None = None
    start: float | None = None  # seconds, for speech and video frames
    end: float | None = None
    char_start: int | None = None
    char_end: int | None = None
    raw_path: bytes = b""
    route: str = ""  # what found it: "text", "joint", "lexical", or a dense route plus "+lexical"
    page: int | None = None  # 1-based, for paginated documents
    captured_at: float | None = None  # UTC epoch seconds, where the file records when it was taken
    moments: tuple[Moment, ...] = ()  # timed items: the strong moments, best first (this hit's own included)
    slide: int | None = None  # 1-based, for slide decks
    sheet: str | None = None  # for workbooks
    row: int | None = None  # 1-based first and last row, for tables (spreadsheets, CSV)
    row_end: int | None = None

    def __post_init__(self) -> None:
        # float16 storage and float32 sums can put a vector's cosine with itself a hair over 1
        if self.similarity is not None and self.similarity > 1.0:
            object.__setattr__(
                self, "similarity", 1.0
            )  # timed items: the strong moments, best first (this hit's own included)

    def to_dict(self) -> dict[str, object]:
        return with_raw_path(self._fields(), self.raw_path)

    def _fields(self) -> dict[str, object]:
        return {
            "item_id": self.item_id,
            "path": self.path,
            "modality": str(self.modality),
            "score": round(self.score, 6),
            "similarity": None if self.similarity is None else round(self.similarity, 6),
            "route": self.route,
            "chunk_id": self.chunk_id,
            "snippet": self.snippet,
            "start": self.start,
            "end": self.end,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "page": self.page,
            "slide": self.slide,
            "sheet": self.sheet,
            "row": self.row,
            "row_end": self.row_end,
            "captured_at": iso_time(self.captured_at),
            **({"moments": [m.to_dict() for m in self.moments]} if self.moments else {}),
        }


@dataclass(frozen=True, slots=True)
class SearchResults(Sequence[Hit]):
    """The hits of one search, plus what the engine understood of the query (audio transcripts)."""

    hits: tuple[Hit, ...]
    transcripts: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. a term that looks like a file that does not exist, read as text

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
    path: str  # printable (see display_path)
    reason: str
    raw_path: bytes = b""  # the exact bytes, for a script to open the file

    def to_dict(self) -> dict[str, object]:
        return with_raw_path({"path": self.path, "reason": self.reason}, self.raw_path)


def with_raw_path(data: dict[str, object], raw: bytes) -> dict[str, object]:
    """A path that is not valid UTF-8 also goes out as `path_b64`, the base64 of its exact bytes: JSON text
    cannot hold them, and the printable `path` has replacement characters a script cannot open."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        data["path_b64"] = base64.b64encode(raw).decode("ascii")
    return data


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
    known_failed: int = 0  # of `failed`: failed before, unchanged since, so not tried again (retry_failed)
    errors: list[FileError] = field(default_factory=list)
    problems: list[FileError] = field(default_factory=list)  # folders: loops, unreadable
    warnings: list[FileError] = field(default_factory=list)  # indexed files a decoder warned about
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated

    def as_dict(self) -> dict[str, object]:
        lists = ("errors", "problems", "warnings")
        out = {name: getattr(self, name) for name in self.__slots__ if name not in lists}
        for name in lists:
            out[name] = [e.to_dict() for e in getattr(self, name)]
        return out


@dataclass(frozen=True, slots=True)
class Progress:
    """Sent to the caller's progress callback as the run goes."""

    phase: str  # scanning | indexing | finishing
    total: int
    done: int
    failed: int
    path: str = ""
    # indexing: the file just done, by its name's kind (indexer/sniff.py kind_hint) and size, and what the
    # run plans per kind as (files, bytes), so a caller can estimate the time left from each kind's own rate
    kind: str = ""
    size: int = 0
    planned: Mapping[str, tuple[int, int]] | None = None


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
    warnings: list[str] = field(default_factory=list)  # e.g. an index other users can read (engine/privacy.py)
    # the latest run that completed: last_run itself, unless that one was refused, failed or interrupted
    last_completed_run: dict[str, object] | None = None
    # Per space: index kind, vectors, bytes per vector in RAM and on disk, recall@10 measured at the last
    # build, search settings (VectorCatalog.describe).
    vector_indexes: dict[str, dict[str, object]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["first_errors"] = [e.to_dict() for e in self.first_errors]
        return out
