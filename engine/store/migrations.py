"""Numbered schema migrations, tracked in SQLite's user_version.

Add a function `m00N_description(connection)` and append it to MIGRATIONS; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

from anyseek.engine.errors import SchemaError
from anyseek.engine.store.models import Base


def m001_initial(conn: Connection) -> None:
    Base.metadata.create_all(conn)
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_vectors_chunk ON vectors (chunk_id)"))


def m002_video_frames(conn: Connection) -> None:
    """Video items and their frame chunks need no new column (modality and kind are strings), but an
    anyseek from before videos would fail on a chunk kind it does not know; the version this step adds
    makes it refuse such an index with its clear "newer schema" message instead. Nothing to alter."""


MIGRATIONS: list[Callable[[Connection], None]] = [m001_initial, m002_video_frames]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    return int(conn.execute(text("PRAGMA user_version")).scalar_one())


def migrate(conn: Connection, location: str) -> None:
    """Bring the schema up to date inside the caller's transaction, or refuse a newer one."""
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"the index at {location} has schema version {version}, newer than this anyseek understands "
            f"({SCHEMA_VERSION}); upgrade anyseek to use it"
        )
    for number in range(version, SCHEMA_VERSION):
        MIGRATIONS[number](conn)
        conn.execute(text(f"PRAGMA user_version = {number + 1}"))
