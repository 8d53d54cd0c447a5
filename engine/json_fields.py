"""How the records' fields travel as JSON (engine/wire.py): times as ISO 8601, paths printable with their
exact bytes beside them where needed, scores rounded for people. Kept apart from engine/records.py, which
re-exports them, so that one stays a list of the records themselves."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

from anyseek.engine.wire import wire


def iso_time(epoch: float | None) -> str | None:
    """UTC epoch seconds as ISO 8601 (`2024-05-01T10:30:00Z`)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(iso: str | None) -> float | None:
    """The inverse of iso_time."""
    return None if iso is None else datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def display_path(raw: bytes) -> str:
    """A printable form of a stored path; undecodable bytes become U+FFFD."""
    return os.fsdecode(raw).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def path_b64(raw: bytes) -> str | None:
    """A path that is not valid UTF-8 also goes out as `path_b64`, the base64 of its exact bytes: JSON text
    cannot hold them, and the printable `path` has replacement characters a script cannot open."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii")
    return None


def _raw_path_back(encoded: str | None, data: dict) -> bytes:
    return base64.b64decode(encoded) if encoded else os.fsencode(data.get("path", ""))


def _ns_back(seconds: float | None, _data: dict) -> int | None:
    return None if seconds is None else round(seconds * 1e9)


# `raw_path` (the exact bytes) travels as `path_b64`, and only where `path` cannot carry it
RAW_PATH = wire(key="path_b64", out=path_b64, back=_raw_path_back, json_type=str | None, sparse=True)


def _part_raw_path_back(encoded: str | None, data: dict) -> bytes:
    return _raw_path_back(encoded, data) if encoded or data.get("path") is not None else b""


# a record's part: a text part has no path
PART_RAW_PATH = wire(key="path_b64", out=path_b64, back=_part_raw_path_back, json_type=str | None, sparse=True)
ISO_TIME = wire(out=iso_time, back=lambda value, _data: epoch_of(value), json_type=str | None)
SCORE = wire(digits=6)  # six digits for people (--json); exact over HTTP, so a client prints what was computed
