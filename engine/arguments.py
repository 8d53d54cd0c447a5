"""The checks on what a caller gives the Engine: the Python API and the CLI share them, so a mistake gets
the same message (and the same documented error type) from either."""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Iterable
from pathlib import Path

from anyseek.engine.errors import QueryError, QueryFileNotFoundError
from anyseek.engine.records import Modality, QueryPart


def parse_modalities(values: Iterable[Modality | str] | str | None) -> tuple[Modality, ...]:
    """`"image"` alone means one type (what someone writing `modalities="image"` means); case is ignored."""
    if values is None:
        return ()
    if isinstance(values, (str, Modality)):
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


def check_query_file(path: str | os.PathLike, what: str) -> Path:
    """An image or recording given as a query must be an existing file."""
    found = Path(path).expanduser()
    if found.is_dir():
        raise QueryFileNotFoundError(f"the {what} {path} is a folder; give a file")
    if not found.is_file():
        raise QueryFileNotFoundError(f"the {what} {path} does not exist")
    return found


def check_text(text: object) -> str:
    if not isinstance(text, str):
        raise QueryError(f"text must be a string, not {type(text).__name__} ({text!r})")
    return text


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise QueryError(f"k (the number of results) must be a whole number of at least 1, not {k!r}")
    return k


def check_mode(mode: str | None) -> str | None:
    """hybrid, dense or lexical; None: the index's search_mode setting."""
    from anyseek.engine.search.routing import SEARCH_MODES

    if mode is not None and mode not in SEARCH_MODES:
        raise QueryError(f"search mode must be one of {', '.join(SEARCH_MODES)}, got {mode!r}")
    return mode


def check_min_similarity(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not -1 <= value <= 1:
        raise QueryError(f"min_similarity is a cosine similarity, between -1 and 1, not {value!r}")
    return float(value)


def missing_file_warnings(parts: Iterable[QueryPart], extensions: Collection[str]) -> tuple[str, ...]:
    """A text term shaped like a file name (a slash, a known extension) that names no file was probably
    meant as a file: it is searched as text, and the caller is told."""
    out = []
    for part in parts:
        term = part.text.strip() if part.text is not None else ""
        looks_like_file = "/" in term or os.path.splitext(term)[1].lower() in extensions
        if looks_like_file and not Path(term).expanduser().exists():
            out.append(f"{term!r} is not a file here, so it was searched as text")
    return tuple(out)
