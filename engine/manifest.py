"""Record manifests: a JSONL or CSV file (or an iterable of dicts) with one record per row, read into typed
`Record`s.

Every row has a unique `id`. Of its other fields, a string naming an existing file (relative to the
manifest's folder, or absolute) is a file part, decoded by content when indexed; any other string is a text
part; numbers, booleans, null, lists and objects are metadata (stored and returned, never embedded); the
label field is the record's class (stored, never embedded).

A broken row (no id, a duplicate id, a ragged CSV row, nothing to index) is a one-line error naming its
row and field: nothing is taken from it and the other rows are kept. A file that holds no rows at all is a
ManifestError. A string shaped like a file name that names no file stays a text part, with a warning,
since it may really be text.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from anyseek.engine.errors import ManifestError
from anyseek.media.sniff import (
    AUDIO_EXTENSIONS,
    DOCUMENT_EXTENSIONS,
    IMAGE_EXTENSIONS,
    RAW_EXTENSIONS,
    TEXT_EXTENSIONS,
    VIDEO_EXTENSIONS,
)

ID_FIELD = "id"
DEFAULT_LABEL_FIELD = "label"
PYTHON_SOURCE = "<records>"  # how rows handed in from Python are named in messages
FILE_EXTENSIONS = frozenset(
    IMAGE_EXTENSIONS | RAW_EXTENSIONS | AUDIO_EXTENSIONS | VIDEO_EXTENSIONS | TEXT_EXTENSIONS | DOCUMENT_EXTENSIONS
)
JSONL_EXTENSIONS = frozenset({".jsonl", ".ndjson", ".json"})
MAX_PATH_CHARS = 4096  # PATH_MAX: a longer string is text, and asking the OS about it only fails
# A CSV cell is a string; these read as numbers, so `price,9.99` is metadata, not text to embed. Only the
# canonical forms: "007" or "1e3" stay text, as a zip code or a product code would be.
CSV_INT = re.compile(r"-?(0|[1-9][0-9]*)")
CSV_FLOAT = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]+")
CSV_BOOL = {"true": True, "false": False}


class PartKind(StrEnum):
    TEXT = "text"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class RecordPart:
    """One embedded field of a record: its text, or the file it names (absolute, resolved)."""

    field: str
    kind: PartKind
    text: str | None = None
    path: Path | None = None


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    parts: tuple[RecordPart, ...]
    label: str | None = None
    metadata: Mapping[str, object] = field(default_factory=dict)  # JSON values, in the row's order
    row: int = 0  # where it came from: the line in the file (a CSV header is row 1), or 1-based for Python rows


@dataclass(frozen=True, slots=True)
class ManifestProblem:
    """A broken row (an error) or a doubtful value (a warning), as one line for a person."""

    source: str
    row: int
    field: str | None
    message: str
    record_id: str | None = None

    @property
    def location(self) -> str:
        """`tickets.csv row 4 (id 'T-3'), field 'screenshot'`: where, without what."""
        return row_location(self.source, self.row, self.record_id, self.field)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def row_location(source: str, row: int, record_id: str | None = None, field_name: str | None = None) -> str:
    where = f"{source} row {row}"
    if record_id is not None:
        where += f" (id {record_id!r})"
    if field_name is not None:
        where += f", field {field_name!r}"
    return where


@dataclass(frozen=True, slots=True)
class Manifest:
    source: str
    records: tuple[Record, ...]
    errors: tuple[ManifestProblem, ...] = ()  # rows left out
    warnings: tuple[ManifestProblem, ...] = ()  # rows kept, with a value read as the user may not expect
    label_field: str = DEFAULT_LABEL_FIELD


def read_manifest(
    source: str | os.PathLike | Iterable[Mapping[str, object]],
    *,
    label_field: str = DEFAULT_LABEL_FIELD,
    base: str | os.PathLike | None = None,
) -> Manifest:
    """A manifest file (JSONL or CSV, by its extension, else by its first character) or rows from Python.
    Relative file names are read against the manifest's folder; for Python rows, against `base` (default:
    the current folder)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        rows = _file_rows(path, label_field)
        return _records(rows, str(source), path.resolve().parent, label_field)
    if isinstance(source, Mapping) or not isinstance(source, Iterable):
        raise ManifestError("records must be a manifest file (JSONL or CSV) or an iterable of dicts")
    rows = ((number, row, None) for number, row in enumerate(source, 1))
    return _records(rows, PYTHON_SOURCE, Path(base or Path.cwd()).expanduser().resolve(), label_field)


# A row as read: its number, its fields (or anything else, reported), and a problem found while reading it.
RawRow = tuple[int, object, str | None]


def _file_rows(path: Path, label_field: str) -> Iterator[RawRow]:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ManifestError(f"the manifest {path} is a folder; give a JSONL or CSV file") from None
    except FileNotFoundError:
        raise ManifestError(f"the manifest {path} does not exist") from None
    except OSError as exc:
        raise ManifestError(f"the manifest {path} cannot be read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManifestError(f"the manifest {path} is not UTF-8 text (line {line})") from None
    if _is_jsonl(path, text):
        return _jsonl_rows(text)
    return _csv_rows(path, text, label_field)


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in JSONL_EXTENSIONS:
        return True
    return suffix not in (".csv", ".tsv") and text.lstrip().startswith("{")


def _jsonl_rows(text: str) -> Iterator[RawRow]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON ({exc.msg}, column {exc.colno})"


def _csv_rows(path: Path, text: str, label_field: str) -> Iterator[RawRow]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    _check_header(path, header)
    line = reader.line_num
    for cells in reader:
        number, line = line + 1, reader.line_num  # a quoted cell may span lines: a row is named by its first
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield number, None, f"has {len(cells)} fields where the header has {len(header)}"
            continue
        typed = {
            name: cell if name in (ID_FIELD, label_field) else _csv_value(cell) for name, cell in zip(header, cells)
        }
        yield number, typed, None


def _check_header(path: Path, header: list[str]) -> None:
    for column, name in enumerate(header, 1):
        if not name.strip():
            raise ManifestError(f"the manifest {path}: column {column} of the header has no name")
    if duplicates := sorted({name for name in header if header.count(name) > 1}):
        raise ManifestError(f"the manifest {path}: the header names {duplicates[0]!r} twice")
    if ID_FIELD not in header:
        raise ManifestError(f"the manifest {path} has no {ID_FIELD!r} column; each record needs a unique id")


def _csv_value(cell: str) -> object:
    if cell == "":
        return None
    if CSV_INT.fullmatch(cell):
        return int(cell)
    if CSV_FLOAT.fullmatch(cell):
        return float(cell)
    return CSV_BOOL.get(cell.lower(), cell)


def _records(rows: Iterable[RawRow], source: str, base: Path, label_field: str) -> Manifest:
    records: list[Record] = []
    errors: list[ManifestProblem] = []
    warnings: list[ManifestProblem] = []
    first_row: dict[str, int] = {}
    for number, row, problem in rows:
        reader = _RowReader(source, number, base, label_field)
        record = reader.read(row, problem, first_row)
        if record is None:
            errors.append(reader.error)  # type: ignore[arg-type]
            continue
        first_row[record.id] = number
        records.append(record)
        warnings.extend(reader.warnings)
    if not records and not errors:
        raise ManifestError(f"the manifest {source} holds no records")
    return Manifest(source, tuple(records), tuple(errors), tuple(warnings), label_field)


class _RowReader:
    """One row to a Record, or to the one error that leaves it out."""

    def __init__(self, source: str, number: int, base: Path, label_field: str) -> None:
        self.source, self.number, self.base, self.label_field = source, number, base, label_field
        self.error: ManifestProblem | None = None
        self.warnings: list[ManifestProblem] = []
        self.record_id: str | None = None

    def _fail(self, message: str, field_name: str | None = None) -> None:
        self.error = ManifestProblem(self.source, self.number, field_name, message, self.record_id)

    def read(self, row: object, problem: str | None, seen: Mapping[str, int]) -> Record | None:
        if problem is not None or not isinstance(row, Mapping):
            self._fail(problem or f"is a {type(row).__name__}, not an object of fields")
            return None
        self.record_id = record_id = self._id(row.get(ID_FIELD))
        if record_id is None:
            return None
        if record_id in seen:
            self._fail(f"duplicate id {record_id!r} (first at row {seen[record_id]})", ID_FIELD)
            return None
        label = self._label(row.get(self.label_field))
        if self.error is not None:
            return None
        parts, metadata = self._fields(row)
        if not parts:
            self._fail("no field holds text or a file, so there is nothing to index")
            return None
        return Record(record_id, tuple(parts), label, metadata, self.number)

    def _id(self, value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            shown = "no id" if value is None else f"an id that is a {type(value).__name__} ({value!r})"
            self._fail(f"has {shown}; each record needs a unique id, a string or a whole number", ID_FIELD)
            return None
        if not str(value).strip():
            self._fail("has an empty id; each record needs a unique id", ID_FIELD)
            return None
        return str(value).strip()

    def _label(self, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # unlabelled
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self._fail(f"a label is a string, not a {type(value).__name__}", self.label_field)
            return None
        return str(value).strip()

    def _fields(self, row: Mapping[str, object]) -> tuple[list[RecordPart], dict[str, object]]:
        parts: list[RecordPart] = []
        metadata: dict[str, object] = {}
        for name, value in row.items():
            name = str(name)
            if name in (ID_FIELD, self.label_field):
                continue
            if isinstance(value, str) and value.strip():
                parts.append(self._part(name, value))
            else:
                metadata[name] = _json_safe(value)
        return parts, metadata

    def _part(self, name: str, value: str) -> RecordPart:
        if (found := self._existing_file(value)) is not None:
            return RecordPart(name, PartKind.FILE, path=found)
        if _shaped_like_file_name(value):
            problem = "names a folder" if self._is_folder(value) else "names no file"
            message = f"{value.strip()!r} {problem} here, so it is read as text"
            self.warnings.append(ManifestProblem(self.source, self.number, name, message, self.record_id))
        return RecordPart(name, PartKind.TEXT, text=value)

    def _candidate(self, value: str) -> Path | None:
        value = value.strip()
        if not value or len(value) > MAX_PATH_CHARS or "\n" in value or "\x00" in value:
            return None
        return self.base / Path(value).expanduser()  # an absolute name replaces the base

    def _existing_file(self, value: str) -> Path | None:
        candidate = self._candidate(value)
        try:
            return candidate.resolve() if candidate is not None and candidate.is_file() else None
        except (OSError, ValueError):  # a name too long for this file system, a loop of links
            return None

    def _is_folder(self, value: str) -> bool:
        candidate = self._candidate(value)
        try:
            return candidate is not None and candidate.is_dir()
        except (OSError, ValueError):
            return False


def _shaped_like_file_name(value: str) -> bool:
    """A known file extension, or a path without spaces (`shots/t1.png`, `./a`): probably meant as a file.
    Prose with a slash in it ("login/settings page") has spaces, and is not warned about."""
    value = value.strip()
    if "\n" in value or len(value) > MAX_PATH_CHARS:
        return False
    if os.path.splitext(value)[1].lower() in FILE_EXTENSIONS:
        return True
    return "/" in value and not any(ch.isspace() for ch in value)


def _json_safe(value: object) -> object:
    """Metadata is returned as JSON: NaN and infinities (which Python's json reads) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # a Python caller's date or Decimal: kept, as its text
