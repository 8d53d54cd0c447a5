"""Dates the user gives for capture-date filters: `2024-05-01`, `2024-05-01T10:30`, a datetime or epoch.

Capture dates are stored as UTC epoch seconds. A date or time without a zone is read as UTC, the same
convention the indexer uses for EXIF times that carry no offset, so `--after 2024-05-01` matches a photo
whose camera clock said 2024-05-01 00:00 or later, whatever the machine's own time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from anyseek.engine.errors import QueryError

DateLike = str | date | datetime | float | int


def to_epoch(value: DateLike | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise QueryError(f"{name}: expected a date such as 2024-05-01, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(f"{name}: {value!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()
