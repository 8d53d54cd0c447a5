"""Typed records that cross layer boundaries. No SQL rows or positional tuples leave a layer."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from anyseek.engine.json_fields import (  # noqa: F401 - re-exported: the records' module is where callers look
    ISO_TIME,
    PART_RAW_PATH,
    RAW_PATH,
    SCORE,
    _ns_back,
    display_path,
    epoch_of,
    iso_time,
    path_b64,
)
from anyseek.engine.wire import Record, wire

if TYPE_CHECKING:  # only an annotation here: a CLI that talks to a server never imports numpy
    import numpy as np


class Modality(StrEnum):
    IMAGE = "image"
    TEXT = "text"
    AUDIO = "audio"
    VIDEO = "video"
    RECORD = "record"  # a row of a record manifest: several parts (engine/manifest.py), each its chunks


class ChunkKind(StrEnum):
    IMAGE = "image"  # the whole picture
    PASSAGE = "passage"  # a span of a text document, with character offsets
    SPEECH = "speech"  # a time window of a recording (or a video's sound track), with its transcript
    FRAME = "frame"  # a picture of a video, with its time (start) and the next kept frame's (end)
    # a subtitle cue (a subtitle file, or a video's text track or sidecar file), with its start and end
    CUE = "cue"
    # text read from a picture (a photo, a kept video frame, a PDF page without a text layer): one block of
    # lines, with its box in the picture and the page or the frame's time
    OCR = "ocr"
    # A record's early-fusion vector (one per space: the weighted mean of its parts'); no text, never shown
    RECORD = "record"


VISUAL_KINDS = frozenset({ChunkKind.IMAGE, ChunkKind.FRAME})  # embedded by the image tower, joint space only


class Space(StrEnum):
    """An embedding space. The vector id inside a space's index is the chunk id. (A model's `role` in
    `status` names the model that fills a space, the same words, plus `speech`, which fills none.)"""

    JOINT = "joint"  # CLIP: image tower for images, text tower for passages and transcripts
    TEXT = "text"  # sentence-transformers: every text-bearing chunk


class Mode(StrEnum):
    """How a search finds its candidates."""

    HYBRID = "hybrid"  # dense routes, plus lexical evidence
    DENSE = "dense"
    LEXICAL = "lexical"


class Sort(StrEnum):
    """The order of a result list (engine/search/ordering.py)."""

    RELEVANCE = "relevance"
    DATE = "date"  # the hits above min_score, newest capture first, undated last


class ItemStatus(StrEnum):
    OK = "ok"  # indexed and searchable
    ERROR = "error"  # could not be decoded; the reason is kept
    IGNORED = "ignored"  # of no supported type
    ATTACHED = "attached"  # a subtitle file whose cues are its video's (indexer/companions.py)


@dataclass(frozen=True, slots=True)
class Box(Record):
    """Where text was read in a picture: x, y, w, h in the pixels of the upright picture (EXIF orientation
    applied), whose own size is `width` x `height`, so a front end can mark it on a picture of any size."""

    x: int
    y: int
    w: int
    h: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Chunk(Record):
    """One searchable unit of an item, before or after it is stored (id is None before)."""

    kind: ChunkKind
    ordinal: int = field(metadata=wire(skip=True))
    text: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    start_s: float | None = field(default=None, metadata=wire(key="start"))
    end_s: float | None = field(default=None, metadata=wire(key="end"))
    id: int | None = field(default=None, metadata=wire(key="chunk_id"))
    # Where in its document the chunk is. Not in the HTTP API's item (v1): a hit carries them.
    page: int | None = field(default=None, metadata=wire(skip=True))  # 1-based page of a paginated document (PDF)
    slide: int | None = field(default=None, metadata=wire(skip=True))  # 1-based slide of a deck (PPTX, ODP)
    sheet: str | None = field(default=None, metadata=wire(skip=True))  # the sheet of a workbook (XLSX, ODS)
    # first and last 1-based row of a table's passage (XLSX, ODS, CSV; the header is row 1)
    row: int | None = field(default=None, metadata=wire(skip=True))
    row_end: int | None = field(default=None, metadata=wire(skip=True))
    box: Box | None = field(default=None, metadata=wire(skip=True))  # an OCR chunk: where its lines are in the picture
    # an OCR chunk: the recogniser's confidence in its lines (0-1)
    confidence: float | None = field(default=None, metadata=wire(skip=True))
    # a record's chunk: the manifest field (part) it comes from (sent only for a record's chunks)
    field: str | None = field(default=None, metadata=wire(sparse=True))


@dataclass(frozen=True, slots=True)
class Item(Record):
    """One source file as the index knows it. Its JSON form (the HTTP API's item) has the fields a front
    end shows; what only the indexer needs is not sent."""

    id: int = field(metadata=wire(key="item_id"))
    # os.fsencode form, so that non-UTF-8 names round-trip; sent printable
    path: bytes = field(metadata=wire(out=display_path, back=lambda value, _: os.fsencode(value), json_type=str))
    modality: Modality | None
    size: int
    mtime_ns: int = field(metadata=wire(key="mtime", out=lambda ns: ns / 1e9, back=_ns_back, json_type=float))
    content_hash: str = field(metadata=wire(skip=True))
    status: ItemStatus = field(metadata=wire(skip=True))
    error: str | None = field(metadata=wire(skip=True))
    indexed_at: float
    # when the photo (or video) was taken: UTC epoch seconds
    captured_at: float | None = field(default=None, metadata=wire(skip=True))
    # which OCR reader read the item's pictures (see indexer/extract/ocr.py), "off" when they were not read,
    # None when it has no picture to read
    ocr: str | None = field(default=None, metadata=wire(skip=True))

    @property
    def display_path(self) -> str:
        return display_path(self.path)


@dataclass(frozen=True, slots=True)
class ItemInfo(Record):
    """One indexed file as a front end shows it: the item and its chunks (its JSON form, the HTTP API's
    item: the item's fields with its chunks)."""

    item: Item = field(metadata=wire(flatten=True))
    chunks: tuple[Chunk, ...]

    @property
    def name(self) -> str:
        return os.path.basename(self.item.display_path)


@dataclass(frozen=True, slots=True)
class QueryPart:
    """One term of a combined query. Exactly one of text / image / audio / item_id / vector is set."""

    weight: float = 1.0
    text: str | None = None
    image: object | None = None  # a path, raw bytes or a PIL image
    audio: Path | None = None
    item_id: int | None = None
    transcript: str | None = None  # what was heard in `audio`, once transcribed (Engine.search_upload)
    vector: object | None = None  # an embedding (a sequence of numbers) in `space` (search by vector)
    space: Space | None = None  # the space of `vector`

    def __post_init__(self) -> None:
        given = [v is not None for v in (self.text, self.image, self.audio, self.item_id, self.vector)]
        if sum(given) != 1:
            from anyseek.engine.errors import QueryError

            raise QueryError("a query part needs exactly one of text, image, audio, item_id or vector")


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
    mode: Mode | None = None  # None: the search_mode setting
    spaces: tuple[Space, ...] | None = None  # only these dense spaces (evaluating one route alone)
    # Records (search/record_fusion.py): early | late, sum | max | mean, {field: weight}; None: the settings'
    fusion: str | None = None
    join: str | None = None
    weights: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Moment(Record):
    """A strong moment of a timed item (a video, a recording): where a player could seek."""

    start: float
    end: float
    score: float = field(metadata=SCORE)
    kind: ChunkKind


@dataclass(frozen=True, slots=True)
class Duplicate(Record):
    """Another file of a hit's duplicate group (a search that collapses duplicates: search/collapse.py)."""

    item_id: int
    path: str  # printable (see display_path)
    raw_path: bytes = field(default=b"", metadata=RAW_PATH)


@dataclass(frozen=True, slots=True)
class PartHit(Record):
    """One part of a record hit: what the query made of that field, so a user sees which part matched."""

    field: str
    kind: str  # "text" or "file"
    # calibrated like a hit's; None when no route of this query reaches the part
    score: float | None = field(metadata=SCORE)
    modality: Modality | None = None  # a file part's content (image, audio, video, text); text for text
    chunk_id: int | None = None  # the part's best chunk
    snippet: str | None = None
    start: float | None = None
    end: float | None = None
    char_start: int | None = None
    char_end: int | None = None
    page: int | None = None
    path: str | None = None  # a file part's file
    raw_path: bytes = field(default=b"", metadata=PART_RAW_PATH)
    error: str | None = field(default=None, metadata=wire(sparse=True))  # a file part that could not be decoded


@dataclass(frozen=True, slots=True)
class Hit(Record):
    """One result: an item, represented by its best-matching chunk."""

    item_id: int
    path: str
    modality: Modality
    # Calibrated, in [0, 1]: how far the match stands above what chance reaches on its route (see
    # search/calibration.py), comparable across images, passages and speech; 0.5 is one standard deviation
    # above the best that an unrelated query's targets reach.
    score: float = field(metadata=SCORE)
    similarity: float | None = field(metadata=SCORE)  # raw cosine in the route's space; None: lexical only
    chunk_id: int
    snippet: str | None = None
    start: float | None = None  # seconds, for speech and video frames
    end: float | None = None
    char_start: int | None = None
    char_end: int | None = None
    # what found it: "text", "joint", "lexical", or a dense route plus "+lexical"; "+ocr" ends the route of
    # text read in a picture (a photo, a video frame, a scanned page)
    route: str = ""
    page: int | None = None  # 1-based, for paginated documents
    # UTC epoch seconds, where the file records when it was taken (ISO 8601 in JSON)
    captured_at: float | None = field(default=None, metadata=ISO_TIME)
    # timed items: the strong moments, best first (this hit's own included)
    moments: tuple[Moment, ...] = field(default=(), metadata=wire(sparse=True))
    slide: int | None = None  # 1-based, for slide decks
    sheet: str | None = None  # for workbooks
    row: int | None = None  # 1-based first and last row, for tables (spreadsheets, CSV)
    row_end: int | None = None
    raw_path: bytes = field(default=b"", metadata=RAW_PATH)
    # text read in a picture (route ending in "ocr"): where it is
    box: Box | None = field(default=None, metadata=wire(sparse=True))
    # A record (modality "record"): its id in its manifest, its label, its metadata and its parts. Sent only
    # on a record's hit (sparse), so a file's hit is as it was.
    record_id: str | None = field(default=None, metadata=wire(sparse=True))
    label: str | None = field(default=None, metadata=wire(sparse=True))
    metadata: dict[str, object] | None = field(default=None, metadata=wire(sparse=True))
    parts: tuple[PartHit, ...] = field(default=(), metadata=wire(sparse=True))
    # collapse_duplicates: the files in this hit's duplicate group (it included), and the others
    group_size: int | None = field(default=None, metadata=wire(sparse=True))
    duplicates: tuple[Duplicate, ...] = field(default=(), metadata=wire(sparse=True))

    def __post_init__(self) -> None:
        # float16 storage and float32 sums can put a vector's cosine with itself a hair over 1
        if self.similarity is not None and self.similarity > 1.0:
            object.__setattr__(self, "similarity", 1.0)


@dataclass(frozen=True, slots=True)
class SearchResults(Record, Sequence[Hit]):
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
class FileError(Record):
    path: str  # printable (see display_path)
    reason: str
    raw_path: bytes = field(default=b"", metadata=RAW_PATH)  # the exact bytes, for a script to open the file


@dataclass(slots=True)
class IndexReport(Record):
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
    reread: int = 0  # unchanged pictures whose text was read again (the OCR reader changed, or OCR was turned off)
    known_failed: int = 0  # of `failed`: failed before, unchanged since, so not tried again (retry_failed)
    errors: list[FileError] = field(default_factory=list)
    problems: list[FileError] = field(default_factory=list)  # folders: loops, unreadable
    # indexed files a decoder warned about, or indexed without something: OCR that failed or ran out of time
    warnings: list[FileError] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return self.added + self.updated


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
class IndexStatus(Record):
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
