"""Numbered schema migrations, tracked in SQLite's user_version.

Add a function `m00N_description(connection)` and append it to MIGRATIONS; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

from anyseek.engine.errors import SchemaError
from anyseek.engine.store import lexical
from anyseek.engine.store.models import Base


def m001_initial(conn: Connection) -> None:
    Base.metadata.create_all(conn)
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_vectors_chunk ON vectors (chunk_id)"))


def m002_lexical(conn: Connection) -> None:
    """The FTS5 lexical index, filled from the chunks already stored (idempotent: a set difference)."""
    lexical.repair(conn)


def _columns(conn: Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(text(f"PRAGMA table_info({table})"))}


def m003_pages_and_capture_dates(conn: Connection) -> None:
    """chunks.page (PDF passages) and items.captured_at (EXIF date). Idempotent: a fresh index made by
    m001 from the current models has both already."""
    if "page" not in _columns(conn, "chunks"):
        conn.execute(text("ALTER TABLE chunks ADD COLUMN page INTEGER"))
    if "captured_at" not in _columns(conn, "items"):
        conn.execute(text("ALTER TABLE items ADD COLUMN captured_at FLOAT"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_items_captured_at ON items (captured_at)"))


def m004_video_frames(conn: Connection) -> None:
    """Video items and their frame chunks need no new column (modality and kind are strings), but an
    anyseek from before videos would fail on a chunk kind it does not know; the version this step adds
    makes it refuse such an index with its clear "newer schema" message instead. Nothing to alter."""


def m005_slides_sheets_rows_cues(conn: Connection) -> None:
    """chunks.slide (decks), chunks.sheet, chunks.row and chunks.row_end (spreadsheets, CSV), and the `cue`
    chunk kind (subtitles: no column, but an older anyseek must refuse a kind it does not know). Idempotent:
    a fresh index made by m001 from the current models has the columns already."""
    have = _columns(conn, "chunks")
    for column, kind in (("slide", "INTEGER"), ("sheet", "TEXT"), ("row", "INTEGER"), ("row_end", "INTEGER")):
        if column not in have:
            conn.execute(text(f"ALTER TABLE chunks ADD COLUMN {column} {kind}"))


OCR_CHUNK_COLUMNS = (
    ("box_x", "INTEGER"),
    ("box_y", "INTEGER"),
    ("box_w", "INTEGER"),
    ("box_h", "INTEGER"),
    ("picture_w", "INTEGER"),
    ("picture_h", "INTEGER"),
    ("confidence", "FLOAT"),
)


def m006_ocr(conn: Connection) -> None:
    """Text read in pictures (OCR): the `ocr` chunk kind with its box, the picture's size and the
    recogniser's confidence (chunks.box_x, box_y, box_w, box_h, picture_w, picture_h, confidence), and
    items.ocr, the reader that read an item's pictures. Existing items keep NULL there, which reads as "not
    read", so the first run with OCR on reads the pictures already indexed (without embedding their pixels
    again). Idempotent: a fresh index made by m001 from the current models has the columns already.

        ALTER TABLE chunks ADD COLUMN box_x INTEGER      -- likewise box_y, box_w, box_h, picture_w, picture_h
        ALTER TABLE chunks ADD COLUMN confidence FLOAT
        ALTER TABLE items ADD COLUMN ocr VARCHAR
    """
    have = _columns(conn, "chunks")
    for column, kind in OCR_CHUNK_COLUMNS:
        if column not in have:
            conn.execute(text(f"ALTER TABLE chunks ADD COLUMN {column} {kind}"))
    if "ocr" not in _columns(conn, "items"):
        conn.execute(text("ALTER TABLE items ADD COLUMN ocr VARCHAR"))


MIGRATIONS: list[Callable[[Connection], None]] = [
    m001_initial,
    m002_lexical,
    m003_pages_and_capture_dates,
    m004_video_frames,
    m005_slides_sheets_rows_cues,
    m006_ocr,
]
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


def check_readable(conn: Connection, location: str) -> None:
    """For a reader without write access, which cannot migrate: the schema must be exactly this one."""
    version = current_version(conn)
    if version != SCHEMA_VERSION:
        migrate_hint = "upgrade anyseek" if version > SCHEMA_VERSION else "open it once with write access"
        raise SchemaError(
            f"the index at {location} has schema version {version}, this anyseek reads {SCHEMA_VERSION}, "
            f"and the index is read-only; {migrate_hint} to use it"
        )
