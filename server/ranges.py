"""HTTP Range requests (RFC 9110) over an open, verified file: one range per request, which is what
browsers send to seek audio and video."""

from __future__ import annotations

import re

from anyseek.server.errors import ApiError

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
STREAM_CHUNK = 256 * 1024


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive), or None for the whole file. A header we do not support (several ranges, other
    units, garbage) is ignored, as the RFC allows; a range that starts past the end is a 416."""
    if not header:
        return None
    match = RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> ApiError:
    error = ApiError(416, "range_not_satisfiable", f"the requested range is outside the file ({size} bytes)")
    error.headers = {"Content-Range": f"bytes */{size}"}
    return error
