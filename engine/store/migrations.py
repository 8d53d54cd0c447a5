"""Numbered schema migrations, tracked in SQLite's user_version, each written down as the SQL it runs.

The baseline, m001, is the schema of version 1 frozen as DDL, and every index, new or old, is built by the
same steps in order. So the path an old index takes to today's schema is the path each new index takes
(exercised by every test that creates one), not a second path that only old indexes take; a new index
pays three more statements, once. (The other choice, today's schema as the baseline for new indexes plus
steps for old ones, keeps two descriptions of one schema that can drift apart.)

Every step is idempotent (IF NOT EXISTS, a look at the columns first): pysqlite runs DDL outside the
caller's transaction, so a step interrupted before its version bump runs again on the next open.

## Changing the schema (every time, in this order)
1. Before changing anything, build the fixture index of the release you are changing:
   `python -m tests.fixtures.make_index_fixture` on that release's code, and commit
   tests/fixtures/indexes/schema-N/ (N: that release's SCHEMA_VERSION). tests/test_upgrade.py opens every
   committed fixture with the new code, searches it and writes to it, read-write and read-only.
2. Append `m00N_what(conn)` to MIGRATIONS, stating its change as SQL. Never edit a released step, and never
   call `Base.metadata.create_all` or read models.py here: the models change, a released step must not.
3. Make the same change in models.py: tests/test_migrations.py fails while a fresh index's schema and the
   models disagree.
4. If this code can no longer read an index of the previous version as it is (a column it selects, a table
   it queries), raise READABLE_FROM to the new version. A reader without write access can't migrate: it
   reads any version from READABLE_FROM up and refuses an older one, naming `anyseek upgrade`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from sqlalchemy import Connection, text

from anyseek.engine.errors import SchemaError
from anyseek.engine.store import lexical

UPGRADE_COMMAND = "anyseek --index {location} upgrade"

# Version 1 as SQLAlchemy created it from that release's models (the text of sqlite_master, plus
# IF NOT EXISTS), and the one index it added by hand.
_V1_TABLES = (
    """CREATE TABLE IF NOT EXISTS meta (
        "key" VARCHAR NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY ("key")
    )""",
    """CREATE TABLE IF NOT EXISTS items (
        id INTEGER NOT NULL,
        path BLOB NOT NULL,
        modality VARCHAR,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        error TEXT,
        indexed_at FLOAT NOT NULL,
        PRIMARY KEY (id)
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_items_path ON items (path)",
    "CREATE INDEX IF NOT EXISTS ix_items_content_hash ON items (content_hash)",
    "CREATE INDEX IF NOT EXISTS ix_items_status ON items (status)",
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER NOT NULL,
        command VARCHAR NOT NULL,
        started_at FLOAT NOT NULL,
        finished_at FLOAT,
        status VARCHAR NOT NULL,
        stats TEXT NOT NULL,
        PRIMARY KEY (id)
    )""",
    """CREATE TABLE IF NOT EXISTS chunks (
        id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        item_id INTEGER NOT NULL,
        ordinal INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        text TEXT,
        char_start INTEGER,
        char_end INTEGER,
        start_s FLOAT,
        end_s FLOAT,
        FOREIGN KEY(item_id) REFERENCES items (id) ON DELETE CASCADE
    )""",
    "CREATE INDEX IF NOT EXISTS ix_chunks_item_id ON chunks (item_id)",
    """CREATE TABLE IF NOT EXISTS vectors (
        space VARCHAR NOT NULL,
        chunk_id INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (space, chunk_id),
        FOREIGN KEY(chunk_id) REFERENCES chunks (id) ON DELETE CASCADE
    )""",
    "CREATE INDEX IF NOT EXISTS ix_vectors_chunk ON vectors (chunk_id)",
)


def m001_initial(conn: Connection) -> None:
    """Items, their chunks, the chunks' vectors per space, metadata and runs."""
    for statement in _V1_TABLES:
        conn.execute(text(statement))


def m002_lexical(conn: Connection) -> None:
    """The FTS5 lexical index over the chunks' words and their file names. Its rows are data, not schema:
    lexical.repair fills them from the chunks already stored (a set difference, as on every open)."""
    tokenize = "tokenize = 'unicode61 remove_diacritics 2'"
    conn.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(body, name, {tokenize})"))
    lexical.repair(conn)


def _columns(conn: Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(text(f"PRAGMA table_info({table})"))}


def m003_pages_and_capture_dates(conn: Connection) -> None:
    """chunks.page (PDF passages) and items.captured_at (EXIF date). The column checks also skip indexes
    made at versions 2-3, whose first step was create_all of the models then, which had both already."""
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
    chunk kind (subtitles: no column, but an older anyseek must refuse a kind it does not know). The column
    check makes it idempotent (an interrupted run goes again)."""
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
    again). The column checks make it idempotent (an interrupted run goes again).

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


_V7_RECORDS = (
    """CREATE TABLE IF NOT EXISTS records (
        item_id INTEGER NOT NULL,
        collection VARCHAR NOT NULL,
        record_id VARCHAR NOT NULL,
        label VARCHAR,
        metadata TEXT NOT NULL,
        PRIMARY KEY (item_id),
        FOREIGN KEY(item_id) REFERENCES items (id) ON DELETE CASCADE
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_records_key ON records (collection, record_id)",
    "CREATE INDEX IF NOT EXISTS ix_records_label ON records (label)",
    """CREATE TABLE IF NOT EXISTS record_parts (
        item_id INTEGER NOT NULL,
        field VARCHAR NOT NULL,
        ordinal INTEGER NOT NULL,
        kind VARCHAR NOT NULL,
        path BLOB,
        size INTEGER,
        mtime_ns INTEGER,
        content_hash VARCHAR NOT NULL,
        modality VARCHAR,
        error TEXT,
        PRIMARY KEY (item_id, field),
        FOREIGN KEY(item_id) REFERENCES items (id) ON DELETE CASCADE
    )""",
)


def m007_records(conn: Connection) -> None:
    """Records (rows of a manifest, engine/manifest.py): the records and record_parts tables, and
    chunks.field, the part a record's chunk comes from. Idempotent: a fresh index made by m001 from the
    current models has them already."""
    if "field" not in _columns(conn, "chunks"):
        conn.execute(text("ALTER TABLE chunks ADD COLUMN field VARCHAR"))
    for statement in _V7_RECORDS:
        conn.execute(text(statement))


MIGRATIONS: list[Callable[[Connection], None]] = [
    m001_initial,
    m002_lexical,
    m003_pages_and_capture_dates,
    m004_video_frames,
    m005_slides_sheets_rows_cues,
    m006_ocr,
    m007_records,
]
SCHEMA_VERSION = len(MIGRATIONS)
# The oldest version this code reads as it is, without migrating (for readers without write access):
# version 6 lacks m007's chunks.field, which every read of chunks selects, and the records tables (version 5
# lacked m006's OCR columns, version 4 m005's, version 3 only m004's marker). tests/test_migrations.py checks
# that every version from here on holds every column the models read.
READABLE_FROM = 7


def current_version(conn: Connection) -> int:
    return int(conn.execute(text("PRAGMA user_version")).scalar_one())


def _refuse_newer(version: int, location: str) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"the index at {location} has schema version {version}, newer than this anyseek understands "
            f"({SCHEMA_VERSION}); upgrade anyseek to use it"
        )


def migrate(conn: Connection, location: str) -> None:
    """Bring the schema up to date, or refuse a newer one."""
    version = current_version(conn)
    _refuse_newer(version, location)
    for number in range(version, SCHEMA_VERSION):
        MIGRATIONS[number](conn)
        conn.execute(text(f"PRAGMA user_version = {number + 1}"))


def check_readable(conn: Connection, location: str) -> None:
    """For a reader without write access, which cannot migrate: the schema must be one this code reads as
    it is; an older one is refused with the command that upgrades it (run where the index can be written)."""
    version = current_version(conn)
    _refuse_newer(version, location)
    if version < READABLE_FROM:
        command = UPGRADE_COMMAND.format(location=shlex.quote(location))
        raise SchemaError(
            f"the index at {location} has schema version {version}, older than this anyseek reads without "
            f"upgrading it ({READABLE_FROM}), and it is read-only here; run `{command}` as a user who may "
            f"write it, then search again"
        )
