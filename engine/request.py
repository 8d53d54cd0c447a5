"""SearchRequest: every option of a search, with its default and its check, in one place.

`Engine.search` takes one (its keywords are sugar that build one), the CLI builds one from its options,
the CLI's client sends one to a running server as JSON (`to_dict`), and the server reads one back (its
body model is derived from these fields, server/models.py). So a mistake gets the same message from each
front end, and an option added here reaches them all. Standard library only: the CLI imports this.

Names: one per concept across Python, the CLI and the HTTP API (see docs/records.md). The old names of
0.1 are accepted for one more release, with a warning: `RENAMED`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from anyseek.engine.dates import DateLike, to_epoch
from anyseek.engine.errors import QueryError, QueryFileNotFoundError
from anyseek.engine.records import Modality, Mode, QueryPart, Sort, Space, iso_time
from anyseek.engine.wire import Record, spec_of, wire

LOCAL = wire(skip=True)  # only this process can hold it (a PIL image, a file here): never sent to a server


def _date_out(value: DateLike | None) -> str | None:
    """A date as the server reads it back: as given when text, else ISO 8601."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return iso_time(value)
    return value.isoformat()


@dataclass(frozen=True, slots=True)
class SearchRequest(Record):
    """What to search for and how. Every given input is combined into one query. Bad values raise
    QueryError (a missing query file: QueryFileNotFoundError) with the message the CLI prints."""

    query: str | None = field(
        default=None, metadata=wire(doc="The query syntax: `dog + ./beach.jpg - cartoon`, `2:dog` (search/syntax.py)")
    )
    text: str | None = field(default=None, metadata=LOCAL)  # one text term, taken as it is (no syntax)
    image: object | None = field(default=None, metadata=LOCAL)  # a path, raw bytes or a PIL image
    audio: str | os.PathLike | None = field(default=None, metadata=LOCAL)  # a recording, transcribed
    like: int | str | None = field(
        default=None, metadata=wire(doc="More like this indexed item: its id, or its path (looked up, never read)")
    )
    parts: tuple[QueryPart, ...] = field(default=(), metadata=LOCAL)  # weighted terms (Engine.parse)
    vector: tuple[float, ...] | None = field(
        default=None,
        metadata=wire(doc="An embedding to search with, in `space` (its dimension: that space's model's)"),
    )
    space: Space = field(default=Space.JOINT, metadata=wire(doc="The space of `vector`: joint (CLIP) or text"))
    k: int = field(default=10, metadata=wire(ge=1, doc="The number of results"))
    offset: int = field(default=0, metadata=wire(ge=0, doc="Skip the first `offset` hits (paging)"))
    modalities: tuple[Modality, ...] = field(default=(), metadata=wire(doc="Only these (none: all)"))
    path: str | None = field(default=None, metadata=wire(doc="Only files under this path"))
    min_similarity: float | None = field(
        default=None, metadata=wire(ge=-1, le=1, doc="Drop matches whose raw cosine similarity is lower")
    )
    min_score: float | None = field(
        default=None, metadata=wire(ge=0, le=1, doc="Drop hits whose calibrated score is lower")
    )
    mode: Mode | None = field(default=None, metadata=wire(doc="hybrid, dense or lexical (none: the setting)"))
    spaces: tuple[Space, ...] | None = field(default=None, metadata=LOCAL)  # dense search in these only
    after: DateLike | None = field(
        default=None,
        metadata=wire(out=_date_out, json_type=str | None, doc="Only items captured on or after (2024-05-01)"),
    )
    before: DateLike | None = field(
        default=None, metadata=wire(out=_date_out, json_type=str | None, doc="Only items captured before (a date)")
    )
    sort: Sort = field(
        default=Sort.RELEVANCE,
        metadata=wire(doc="relevance, or date: the hits above min_score (else the k best) newest first, undated last"),
    )
    collapse_duplicates: bool = field(
        default=False,
        metadata=wire(doc="One hit per group of duplicate files (the best-ranked), with the group's other files"),
    )
    # Whether a term of `query` that names a file here is read as that file (the CLI, Python) or every term
    # is text. A server sets False: its clients never name files on the server's machine.
    query_files: bool = field(default=True, metadata=LOCAL)
    # Records (docs/record-collections.md, search/record_fusion.py); None: the settings'. The values of
    # fusion and join are checked where the settings fill them in (search/part_vectors.py record_fusion).
    fusion: str | None = field(default=None, metadata=wire(doc="Records: early or late (none: the setting)"))
    join: str | None = field(
        default=None, metadata=wire(doc="Records, late fusion: sum, max or mean (none: the setting)")
    )
    weights: dict[str, float] | None = field(
        default=None, metadata=wire(doc="Records: field weights, {field: weight} (unnamed fields weigh 1)")
    )

    def __post_init__(self) -> None:
        for name, value in _checked(self).items():
            object.__setattr__(self, name, value)

    @property
    def sendable(self) -> bool:
        """Whether a server can run it: it holds nothing that only this process can (image, text...)."""
        return not any(
            spec_of(f).skip and f.name != "query_files" and getattr(self, f.name) != f.default
            for f in dataclasses.fields(self)
        )


def _checked(request: SearchRequest) -> dict[str, object]:
    """Each option checked and in its canonical form."""
    return {
        "query": check_string(request.query, "query"),
        "text": check_string(request.text, "text"),
        "like": _like(request.like),
        "parts": tuple(request.parts),
        "vector": parse_vector(request.vector),
        "space": parse_space(request.space),
        "k": check_whole(request.k, "k", "k (the number of results)"),
        "offset": check_whole(request.offset, "offset", "offset (the hits to skip)"),
        "modalities": parse_modalities(request.modalities),
        "path": None if request.path is None else os.fspath(request.path),
        "min_similarity": check_number(request.min_similarity, "min_similarity", "is a cosine similarity"),
        "min_score": check_number(request.min_score, "min_score", "is a calibrated score"),
        "mode": parse_mode(request.mode),
        "spaces": parse_spaces(request.spaces),
        "after": _date(request.after, "after"),
        "before": _date(request.before, "before"),
        "fusion": check_string(request.fusion, "fusion"),
        "join": check_string(request.join, "join"),
        "weights": None if request.weights is None else parse_weights(request.weights),
        "sort": parse_sort(request.sort),
        "collapse_duplicates": check_flag(request.collapse_duplicates, "collapse_duplicates"),
    }


# Old name -> new name, accepted for one release (0.2) where it was used: `path_prefix` in Python,
# `q`, `types` and `like_path` in the HTTP API (also the upload form's `q` and `types`), `--type` and
# `--limit` in the CLI. Each front end warns in its own way: DeprecationWarning, the server's log, stderr.
RENAMED = {"path_prefix": "path", "q": "query", "types": "modalities", "like_path": "like"}
PYTHON_RENAMED = ("path_prefix",)


def search_request(request: SearchRequest | str | None = None, /, **options) -> SearchRequest:
    """Engine.search's arguments as one request: a SearchRequest (options then replace its fields), a
    text, or nothing; the options are SearchRequest's fields (TypeError for one it does not have)."""
    options = renamed(options, PYTHON_RENAMED)
    if isinstance(request, SearchRequest):
        return dataclasses.replace(request, **options) if options else request
    if request is not None:
        if "text" in options:
            raise QueryError("give the text once: as the first argument or as text=")
        options["text"] = request
    return SearchRequest(**options)


def renamed(options: dict, old_names: Iterable[str]) -> dict:
    """`options` with each old name given replaced by its new name, and a DeprecationWarning for it."""
    options = dict(options)
    for old in old_names:
        if old in options:
            new = RENAMED[old]
            if new in options:
                raise QueryError(f"give {new} or {old} (its old name), not both")
            # stacklevel: the line that called Engine.search (renamed <- search_request <- Engine.search)
            warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=4)
            options[new] = options.pop(old)
    return options


def parse_modalities(values: Iterable[Modality | str] | str | None) -> tuple[Modality, ...]:
    """`"image"` alone means one type (what someone writing `modalities="image"` means); case is ignored."""
    if values is None:
        return ()
    if isinstance(values, str | Modality):
        values = [values]
    known = ", ".join(m.value for m in Modality)
    out = []
    for value in values:
        if not isinstance(value, str):
            raise QueryError(f"a type must be one of {known}, not {value!r}")
        try:
            out.append(Modality(value.strip().lower()))
        except ValueError:
            raise QueryError(f"unknown type {value!r}; the types are {known}") from None
    return tuple(dict.fromkeys(out))


def parse_mode(mode: Mode | str | None) -> Mode | None:
    if mode is None:
        return None
    try:
        return Mode(mode)
    except ValueError:
        raise QueryError(f"search mode must be one of {', '.join(Mode)}, got {mode!r}") from None


def parse_sort(sort: Sort | str | None) -> Sort:
    if sort is None:
        return Sort.RELEVANCE
    try:
        return Sort(sort)
    except ValueError:
        raise QueryError(f"sort must be one of {', '.join(Sort)}, got {sort!r}") from None


def parse_vector(vector: object) -> tuple[float, ...] | None:
    """Any sequence of finite numbers (a list, a numpy array of one row) as a tuple of floats; its length
    is checked against the index's space by the searcher, which knows it."""
    if vector is None:
        return None
    if isinstance(vector, str | bytes) or not hasattr(vector, "__len__"):
        raise QueryError(f"vector must be a sequence of numbers, not {type(vector).__name__}")
    if getattr(vector, "ndim", 1) != 1:  # a numpy array: one row only
        shape = getattr(vector, "shape", None)
        if shape is None or sum(n > 1 for n in shape) > 1:
            raise QueryError(f"vector must be one row of numbers, not an array of shape {shape}")
        vector = vector.reshape(-1)
    try:
        values = tuple(float(x) for x in vector)
    except (TypeError, ValueError):
        raise QueryError("vector must hold numbers only") from None
    if not values:
        raise QueryError("vector is empty")
    if not all(math.isfinite(x) for x in values):
        raise QueryError("vector holds a value that is not a finite number (NaN or infinity)")
    return values


def parse_space(space: Space | str | None) -> Space:
    try:
        return Space.JOINT if space is None else Space(space)
    except ValueError:
        raise QueryError(f"space must be one of {', '.join(Space)}, got {space!r}") from None


def parse_spaces(spaces: Iterable[Space | str] | None) -> tuple[Space, ...] | None:
    try:
        return None if spaces is None else tuple(Space(s) for s in spaces)
    except ValueError:
        raise QueryError(f"spaces must be among {', '.join(Space)}, got {spaces!r}") from None


def check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise QueryError(f"{name} is true or false, not {value!r}")
    return value


def check_string(value: object, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise QueryError(f"{name} must be a string, not {type(value).__name__} ({value!r})")
    return value


def check_whole(value: object, name: str, what: str) -> int:
    """A whole number within the field's declared bounds."""
    low = _bounds(name)[0]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise QueryError(f"{what} must be a whole number of at least {low:g}, not {value!r}")
    return value


def check_number(value: object, name: str, what: str) -> float | None:
    """A number within the field's declared bounds (None: no such filter)."""
    if value is None:
        return None
    low, high = _bounds(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or not low <= value <= high:
        raise QueryError(f"{name} {what}, between {low:g} and {high:g}, not {value!r}")
    return float(value)


def _bounds(name: str) -> tuple[float, float]:
    spec = spec_of(FIELDS[name])
    return (-math.inf if spec.ge is None else spec.ge, math.inf if spec.le is None else spec.le)


def _like(like: object) -> int | str | None:
    if like is None or isinstance(like, int) and not isinstance(like, bool):
        return like
    if isinstance(like, str | os.PathLike):
        return os.fspath(like)
    raise QueryError(f"like is an item id or the path of an indexed file, not {like!r}")


def _date(value: DateLike | None, name: str) -> DateLike | None:
    to_epoch(value, name)  # refuses what is not a date, with the message for people
    return value


FIELDS = {f.name: f for f in dataclasses.fields(SearchRequest)}


def check_query_file(path: str | os.PathLike, what: str) -> Path:
    """An image or recording given as a query must be an existing file."""
    found = Path(path).expanduser()
    if found.is_dir():
        raise QueryFileNotFoundError(f"the {what} {path} is a folder; give a file")
    if not found.is_file():
        raise QueryFileNotFoundError(f"the {what} {path} does not exist")
    return found


def missing_file_warnings(parts: Iterable[QueryPart], extensions: set[str]) -> tuple[str, ...]:
    """A text term shaped like a file name (a slash, a known extension) that names no file was probably
    meant as a file: it is searched as text, and the caller is told."""
    out = []
    for part in parts:
        term = part.text.strip() if part.text is not None else ""
        looks_like_file = "/" in term or os.path.splitext(term)[1].lower() in extensions
        if looks_like_file and not Path(term).expanduser().exists():
            out.append(f"{term!r} is not a file here, so it was searched as text")
    return tuple(out)


def parse_weights(value: object, error: type[Exception] = QueryError) -> dict[str, float]:
    """Record field weights, `caption=0.3,picture=0.7` or a mapping: finite and not negative. A field not
    named weighs 1 (see search/part_vectors.py); 0 leaves a field out."""
    if isinstance(value, str):
        pairs = []
        for item in filter(None, (piece.strip() for piece in value.split(","))):
            name, sep, number = item.partition("=")
            if not sep or not name.strip():
                raise error(f"a weight is FIELD=NUMBER, like caption=0.3; got {item!r}")
            pairs.append((name.strip(), number.strip()))
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        raise error(f"weights are FIELD=NUMBER pairs, like caption=0.3,picture=0.7; got {value!r}")
    out = {}
    for name, number in pairs:
        try:
            weight = float(number) if not isinstance(number, bool) else math.nan
        except (TypeError, ValueError):
            weight = math.nan
        if not math.isfinite(weight) or weight < 0:
            raise error(f"the weight of {name!r} must be a number of at least 0, got {number!r}")
        out[str(name)] = weight
    return out


def format_weights(weights: dict[str, float]) -> str:
    return ",".join(f"{name}={weight:g}" for name, weight in weights.items())
