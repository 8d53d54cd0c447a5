"""The store: every read and write of items, chunks, vectors, metadata and runs goes through here.

Writes are batched: one transaction per batch of files, and every transaction that changes vectors
bumps `revision`, which the derived vector files record so a reopen can tell whether they are current.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import OperationalError

from anyseek.engine.store import lexical
from anyseek.engine.store.chunks import ChunkContext, ChunkReads
from anyseek.engine.store.database import open_database
from anyseek.engine.store.duplicate_reads import DuplicateReads
from anyseek.engine.store.items import ItemReads
from anyseek.engine.store.labelled import LabelledReads
from anyseek.engine.store.lexical import LexicalReads
from anyseek.engine.store.meta import Metadata
from anyseek.engine.store.migrations import check_readable, current_version, migrate
from anyseek.engine.store.record_rows import RecordRows
from anyseek.engine.store.runs import RunLog
from anyseek.engine.store.vector_rows import VectorReads
from anyseek.engine.store.writes import ItemWrite, ItemWrites, VectorChanges

log = logging.getLogger(__name__)

__all__ = ["ChunkContext", "ItemWrite", "Store", "VectorChanges"]


class Store(
    Metadata,
    RunLog,
    ItemReads,
    ChunkReads,
    VectorReads,
    LexicalReads,
    DuplicateReads,
    ItemWrites,
    RecordRows,
    LabelledReads,
):
    """One index database. Each concern's methods live in their own module (meta, runs, items, chunks,
    vector_rows, lexical, writes, record_rows, labelled); they share this one object, so callers hold one
    handle and one connection pool, and each module stays small enough to read."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        """`read_only`: a reader without write access (see database.py); it never writes, metadata included."""
        self.path, self.read_only = path, read_only
        self.engine = open_database(path, read_only)

    def initialize(self) -> None:
        """Create or migrate the schema. Two processes opening an index at once can both see an old version;
        the steps are idempotent, and where the loser's DDL still collides with the winner's (a column just
        added), a second look finds the schema in place."""
        if self.read_only:
            with self.engine.connect() as conn:
                check_readable(conn, str(self.path.parent))
            return
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    migrate(conn, str(self.path.parent))
                self._repair_lexical()
                return
            except OperationalError as exc:
                if not any(race in str(exc) for race in ("already exists", "duplicate column")) or attempt == 2:
                    raise

    def _repair_lexical(self) -> None:
        """Catch the lexical table up with the chunks if it is missing or behind (see store/lexical.py)."""
        with self.engine.connect() as conn:
            if not lexical.behind(conn):
                return
        try:
            with self.engine.begin() as conn:
                count = lexical.repair(conn)  # a set difference: harmless if another opener just did it
            log.info("lexical index repaired: %d rows", count)
        except OperationalError as exc:  # read-only or busy: words lag behind until the next open
            log.warning("could not bring the lexical index up to date: %s", exc.orig)

    def close(self) -> None:
        self.engine.dispose()

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return current_version(conn)
