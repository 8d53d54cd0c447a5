"""Open the SQLite database with the settings every connection needs.

A reader needs no write access: an index on a read-only share or a mounted backup can still be searched.
It opens the file read-only and leaves the journal mode alone (switching to WAL is a write). Where even
SQLite's shared-memory file beside the database cannot be created (a read-only folder), it reads the file
as immutable, which is what such a folder is to this process.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event

from anyseek.engine.privacy import create_private_file

DB_FILE = "anyseek.db"


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer and never see a half-written batch.
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process; only an OS crash can drop the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    _common(cursor)


def _on_connect_read_only(dbapi_connection, _record) -> None:
    _common(dbapi_connection.cursor())


def _common(cursor) -> None:
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def is_writable(path: Path) -> bool:
    """Whether this process may write the database: the file and its folder (WAL and lock files live
    there). os.access also reports a read-only mount (EROFS), even to root."""
    folder_ok = os.access(path.parent, os.W_OK)
    return folder_ok and (not path.exists() or os.access(path, os.W_OK))


def read_only_uri(path: Path) -> str:
    """`mode=ro`, plus `immutable=1` when SQLite could not create its shared-memory file for WAL reads."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        probe = sqlite3.connect(uri, uri=True)
        try:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return uri
        finally:
            probe.close()
    except sqlite3.OperationalError:
        return uri + "&immutable=1"


def open_database(path: Path, read_only: bool = False) -> Engine:
    if read_only:
        uri = read_only_uri(path)
        # the file URL keeps SQLAlchemy's pool for files; the creator opens it with the read-only URI
        engine = create_engine(
            f"sqlite:///{path}", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
        )
        event.listen(engine, "connect", _on_connect_read_only)
        return engine
    create_private_file(path)  # owner-only; SQLite gives its -wal and -shm files the same mode
    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", _on_connect)
    return engine
