"""The store: every read and write of items, chunks, vectors, metadata and runs goes through here.

Writes are batched: one transaction per batch of files, and every transaction that changes vectors
bumps `revision`, which the derived vector files record so a reopen can tell whether they are current.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError

from anyseek.engine import faults
from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, Item, ItemStatus, Modality, Space
from anyseek.engine.store import lexical
from anyseek.engine.store.database import open_database
from anyseek.engine.store.migrations import check_readable, migrate
from anyseek.engine.store.models import ChunkRow, ItemRow, MetaRow, RunRow, VectorRow

log = logging.getLogger(__name__)

BATCH_ROWS = 5000
# Statements on the search path, built once: SQLAlchemy memoises a statement's cache key on the object,
# so reusing it skips the per-call construction and compilation lookup (~0.5 ms a search).
_ITEMS_WITH_HASH = select(ItemRow).where(ItemRow.content_hash == bindparam("content_hash"), ItemRow.status == "ok")
_CHUNK_OWNERS = select(ChunkRow.id, ChunkRow.kind, ChunkRow.item_id).where(
    ChunkRow.id.in_(bindparam("ids", expanding=True))
)
_META_VALUE = select(MetaRow.value).where(MetaRow.key == bindparam("key"))
_CHUNKS = select(ChunkRow).where(ChunkRow.id.in_(bindparam("ids", expanding=True)))
_ITEMS = select(ItemRow).where(ItemRow.id.in_(bindparam("ids", expanding=True)))


@dataclass(slots=True)
class ItemWrite:
    """The outcome for one file: its chunks with vectors, or the reason it failed."""

    path: bytes
    size: int
    mtime_ns: int
    content_hash: str
    modality: Modality | None
    chunks: list[EmbeddedChunk] = field(default_factory=list)
    error: str | None = None
    ignored: bool = False  # no supported type: remembered so unchanged re-runs need not open it again
    captured_at: float | None = None  # UTC epoch seconds (EXIF DateTimeOriginal, container metadata)

    @property
    def status(self) -> str:
        return "error" if self.error else "ignored" if self.ignored else "ok"


@dataclass(slots=True)
class VectorChanges:
    """What a committed transaction did to the vectors, for the derived indexes to follow."""

    added: dict[Space, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)

    def add(self, space: Space, ids: list[int], vectors: list[np.ndarray]) -> None:
        if not ids:
            return
        old_ids, old_vecs = self.added.get(space, (np.empty(0, np.int64), np.empty((0, vectors[0].shape[0]))))
        self.added[space] = (
            np.concatenate([old_ids, np.asarray(ids, np.int64)]),
            np.concatenate([old_vecs, np.stack(vectors)]).astype(np.float32),
        )


@dataclass(frozen=True, slots=True)
class ChunkContext:
    chunk: Chunk
    item: Item


def pack_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack_vectors(blobs: Iterable[bytes], dim: int) -> np.ndarray:
    data = b"".join(blobs)
    return np.frombuffer(data, dtype=np.float16).reshape(-1, dim).astype(np.float32)


def roundtrip(vector: np.ndarray) -> np.ndarray:
    """The vector exactly as it will be read back from the store, so a rebuilt index equals a live one."""
    return np.asarray(vector, dtype=np.float16).astype(np.float32)


def _item(row) -> Item:
    modality = Modality(row.modality) if row.modality else None
    return Item(
        row.id,
        row.path,
        modality,
        row.size,
        row.mtime_ns,
        row.content_hash,
        ItemStatus(row.status),
        row.error,
        row.indexed_at,
        row.captured_at,
    )


def _chunk(row) -> Chunk:
    return Chunk(
        ChunkKind(row.kind),
        row.ordinal,
        row.text,
        row.char_start,
        row.char_end,
        row.start_s,
        row.end_s,
        row.id,
        row.page,
    )


def _under(roots: Iterable[bytes]):
    clauses = []
    for root in roots:
        root = root.rstrip(b"/") or b"/"
        prefix = root if root.endswith(b"/") else root + b"/"
        clauses += [ItemRow.path == root, func.substr(ItemRow.path, 1, len(prefix)) == prefix]
    return or_(*clauses)


class Store:
    def __init__(self, path: Path, read_only: bool = False) -> None:
        """`read_only`: a reader without write access (see database.py); it never writes, metadata included."""
        self.path, self.read_only = path, read_only
        self.engine = open_database(path, read_only)

    def initialize(self) -> None:
        """Create or migrate the schema. Two processes opening a new index at once (a writer and a reader)
        can both see version 0; the loser's CREATE fails once the winner has committed, and a second look
        finds the schema in place (create_all skips existing tables)."""
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
                if "already exists" not in str(exc) or attempt == 2:
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

    # --- metadata -------------------------------------------------------------------------------
    def get_meta(self, key: str, default=None):
        with self.engine.connect() as conn:
            value = conn.execute(_META_VALUE, {"key": key}).scalar_one_or_none()
        return default if value is None else json.loads(value)

    def set_meta(self, key: str, value, conn: Connection | None = None) -> None:
        if self.read_only:
            return  # a reader's bookkeeping (a first fingerprint, a default) is left to the next writer
        if conn is None:
            with self.engine.begin() as own:
                return self.set_meta(key, value, own)
        conn.execute(delete(MetaRow).where(MetaRow.key == key))
        conn.execute(insert(MetaRow).values(key=key, value=json.dumps(value)))

    def revision(self) -> int:
        return int(self.get_meta("revision", 0))

    def _bump(self, conn: Connection) -> None:
        current = conn.execute(select(MetaRow.value).where(MetaRow.key == "revision")).scalar_one_or_none()
        self.set_meta("revision", int(json.loads(current or "0")) + 1, conn)

    # --- items ----------------------------------------------------------------------------------
    def items_under(self, roots: list[bytes]) -> dict[bytes, Item]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ItemRow).where(_under(roots)))
            return {row.path: _item(row) for row in rows}

    def items_with_hash(self, content_hash: str) -> list[Item]:
        """Indexed files with this content; called once per new file, so the statement is built once."""
        with self.engine.connect() as conn:
            return [_item(row) for row in conn.execute(_ITEMS_WITH_HASH, {"content_hash": content_hash})]

    def find_item(self, item_id: int | None = None, path: bytes | None = None) -> Item | None:
        where = ItemRow.id == item_id if item_id is not None else ItemRow.path == path
        with self.engine.connect() as conn:
            row = conn.execute(select(ItemRow).where(where)).one_or_none()
        return _item(row) if row else None

    def write_items(self, writes: list[ItemWrite]) -> VectorChanges:
        """Insert or replace files with their chunks and vectors, all in one transaction. A batch costs a
        handful of statements, not a few per file: on small files those dominated the writer's time."""
        changes = VectorChanges()
        now = time.time()
        writes = list({write.path: write for write in writes}.values())  # a path twice: the later write wins
        with self.engine.begin() as conn:
            paths = [write.path for write in writes]
            replaced: list[int] = []
            for start in range(0, len(paths), 500):
                where = ItemRow.path.in_(paths[start : start + 500])
                replaced += conn.execute(select(ItemRow.id).where(where)).scalars().all()
            changes.removed += self._delete_item_ids(conn, replaced)
            rows = [
                {
                    "path": write.path,
                    "modality": write.modality.value if write.modality else None,
                    "size": write.size,
                    "mtime_ns": write.mtime_ns,
                    "content_hash": write.content_hash,
                    "status": write.status,
                    "error": write.error,
                    "indexed_at": now,
                    "captured_at": write.captured_at,
                }
                for write in writes
            ]
            if rows:
                statement = insert(ItemRow).returning(ItemRow.id, sort_by_parameter_order=True)
                item_ids = conn.execute(statement, rows).scalars().all()
                owned = [(item_id, write.path, write.chunks) for item_id, write in zip(item_ids, writes)]
                self._insert_chunks(conn, owned, changes)
            self._bump(conn)
            faults.checkpoint("store.commit")  # rows written, transaction not yet committed
        faults.checkpoint("store.committed")
        return changes

    def _insert_chunks(
        self, conn: Connection, owned: list[tuple[int, bytes, list[EmbeddedChunk]]], changes: VectorChanges
    ) -> None:
        chunks = [(item_id, c) for item_id, _, item_chunks in owned for c in item_chunks]
        if not chunks:
            return
        path_of = {item_id: path for item_id, path, _ in owned}
        rows = [
            {
                "item_id": item_id,
                "ordinal": c.chunk.ordinal,
                "kind": c.chunk.kind.value,
                "text": c.chunk.text,
                "char_start": c.chunk.char_start,
                "char_end": c.chunk.char_end,
                "start_s": c.chunk.start_s,
                "end_s": c.chunk.end_s,
                "page": c.chunk.page,
            }
            for item_id, c in chunks
        ]
        ids = conn.execute(insert(ChunkRow).returning(ChunkRow.id, sort_by_parameter_order=True), rows).scalars().all()
        lexical.insert(conn, ((cid, c.chunk.text, path_of[item_id]) for cid, (item_id, c) in zip(ids, chunks)))
        vector_rows = []
        per_space: dict[Space, tuple[list[int], list[np.ndarray]]] = {}
        for chunk_id, (_, embedded) in zip(ids, chunks):
            for space, vector in embedded.vectors.items():
                vector_rows.append({"space": space.value, "chunk_id": chunk_id, "data": pack_vector(vector)})
                bucket = per_space.setdefault(space, ([], []))
                bucket[0].append(chunk_id)
                bucket[1].append(roundtrip(vector))
        if vector_rows:
            conn.execute(insert(VectorRow), vector_rows)
        for space, (space_ids, vectors) in per_space.items():
            changes.add(space, space_ids, vectors)

    def _delete_item_ids(self, conn: Connection, item_ids: list[int]) -> list[int]:
        removed: list[int] = []
        for start in range(0, len(item_ids), 500):
            batch = item_ids[start : start + 500]
            gone = conn.execute(select(ChunkRow.id).where(ChunkRow.item_id.in_(batch))).scalars().all()
            lexical.delete(conn, gone)
            removed += gone
            # Explicit deletes rather than relying on cascades: they work even if foreign keys were off.
            chunk_ids = select(ChunkRow.id).where(ChunkRow.item_id.in_(batch))
            conn.execute(delete(VectorRow).where(VectorRow.chunk_id.in_(chunk_ids)))
            conn.execute(delete(ChunkRow).where(ChunkRow.item_id.in_(batch)))
            conn.execute(delete(ItemRow).where(ItemRow.id.in_(batch)))
        return removed

    def delete_items(self, item_ids: list[int]) -> VectorChanges:
        with self.engine.begin() as conn:
            removed = self._delete_item_ids(conn, item_ids)
            self._bump(conn)
        return VectorChanges(removed=removed)

    def move_item(self, item_id: int, path: bytes, size: int, mtime_ns: int) -> VectorChanges:
        """A renamed file: same content, new path, so no model runs. Whatever held the new path goes."""
        changes = VectorChanges()
        with self.engine.begin() as conn:
            other = conn.execute(select(ItemRow.id).where(ItemRow.path == path)).scalar_one_or_none()
            if other is not None and other != item_id:
                changes.removed += self._delete_item_ids(conn, [other])
            conn.execute(update(ItemRow).where(ItemRow.id == item_id).values(path=path, size=size, mtime_ns=mtime_ns))
            lexical.rename(conn, item_id, path)
            self._bump(conn)
        return changes

    def touch_item(self, item_id: int, size: int, mtime_ns: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(ItemRow).where(ItemRow.id == item_id).values(size=size, mtime_ns=mtime_ns))

    def copy_item(self, source: Item, write: ItemWrite) -> VectorChanges:
        """A duplicate of an indexed file: reuse its chunks and vectors instead of running the models."""
        with self.engine.connect() as conn:
            chunk_rows = conn.execute(
                select(ChunkRow).where(ChunkRow.item_id == source.id).order_by(ChunkRow.ordinal)
            ).all()
            vector_rows = conn.execute(
                select(VectorRow).where(VectorRow.chunk_id.in_([r.id for r in chunk_rows]))
            ).all()
        by_chunk: dict[int, dict[Space, np.ndarray]] = {}
        for row in vector_rows:
            by_chunk.setdefault(row.chunk_id, {})[Space(row.space)] = np.frombuffer(row.data, np.float16)
        write.chunks = [EmbeddedChunk(_chunk(r), by_chunk.get(r.id, {})) for r in chunk_rows]
        write.modality, write.captured_at = source.modality, source.captured_at
        return self.write_items([write])

    # --- vectors --------------------------------------------------------------------------------
    def chunk_ids(self, space: Space) -> np.ndarray:
        with self.engine.connect() as conn:
            ids = conn.execute(select(VectorRow.chunk_id).where(VectorRow.space == space.value)).scalars().all()
        return np.asarray(ids, dtype=np.int64)

    def vectors(self, space: Space, ids: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
        found_ids: list[int] = []
        blobs: list[bytes] = []
        with self.engine.connect() as conn:
            for start in range(0, len(ids), BATCH_ROWS):
                batch = [int(i) for i in ids[start : start + BATCH_ROWS]]
                rows = conn.execute(
                    select(VectorRow.chunk_id, VectorRow.data).where(
                        VectorRow.space == space.value, VectorRow.chunk_id.in_(batch)
                    )
                )
                for row in rows:
                    found_ids.append(row.chunk_id)
                    blobs.append(row.data)
        return np.asarray(found_ids, np.int64), unpack_vectors(blobs, dim)

    def item_vectors(self, item_id: int, dim_by_space: dict[Space, int]) -> dict[Space, np.ndarray]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(VectorRow.space, VectorRow.data)
                .join(ChunkRow, ChunkRow.id == VectorRow.chunk_id)
                .where(ChunkRow.item_id == item_id)
            ).all()
        out: dict[Space, list[bytes]] = {}
        for row in rows:
            out.setdefault(Space(row.space), []).append(row.data)
        return {space: unpack_vectors(blobs, dim_by_space[space]) for space, blobs in out.items()}

    # --- search support -------------------------------------------------------------------------
    def chunk_contexts(self, chunk_ids: Iterable[int]) -> dict[int, ChunkContext]:
        """Chunks with their items. Ids the store no longer has (deleted since a search began) are absent."""
        ids = [int(i) for i in chunk_ids]
        chunks: dict[int, Chunk] = {}
        owners: dict[int, int] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                for row in conn.execute(_CHUNKS, {"ids": ids[start : start + 500]}):
                    chunks[row.id], owners[row.id] = _chunk(row), row.item_id
            item_ids = sorted(set(owners.values()))
            items = {}
            for start in range(0, len(item_ids), 500):
                for row in conn.execute(_ITEMS, {"ids": item_ids[start : start + 500]}):
                    items[row.id] = _item(row)
        return {cid: ChunkContext(chunk, items[owners[cid]]) for cid, chunk in chunks.items() if owners[cid] in items}

    def chunk_owners(self, chunk_ids: Iterable[int]) -> dict[int, tuple[ChunkKind, int]]:
        """Kind and item of each chunk, for fusion and one-hit-per-item; absent ids are gone from the store."""
        ids = [int(i) for i in chunk_ids]
        out: dict[int, tuple[ChunkKind, int]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(_CHUNK_OWNERS, {"ids": ids[start : start + 500]})
                out.update((row.id, (ChunkKind(row.kind), row.item_id)) for row in rows)
        return out

    def allowed_chunk_ids(
        self,
        modalities: tuple[Modality, ...],
        path_prefix: bytes | None,
        captured_after: float | None = None,
        captured_before: float | None = None,
    ) -> np.ndarray:
        query = select(ChunkRow.id).join(ItemRow, ItemRow.id == ChunkRow.item_id)
        if captured_after is not None:
            query = query.where(ItemRow.captured_at >= captured_after)
        if captured_before is not None:
            query = query.where(ItemRow.captured_at < captured_before)
        if modalities:
            query = query.where(ItemRow.modality.in_([m.value for m in modalities]))
        if path_prefix:
            query = query.where(func.substr(ItemRow.path, 1, len(path_prefix)) == path_prefix)
        with self.engine.connect() as conn:
            return np.asarray(conn.execute(query).scalars().all(), dtype=np.int64)

    def chunk_ids_of_kinds(self, space: Space, kinds: Iterable[ChunkKind]) -> np.ndarray:
        """Chunks of these kinds with a vector in this space (a route's targets, when its space is mixed)."""
        query = (
            select(VectorRow.chunk_id)
            .join(ChunkRow, ChunkRow.id == VectorRow.chunk_id)
            .where(VectorRow.space == space.value, ChunkRow.kind.in_([k.value for k in kinds]))
        )
        with self.engine.connect() as conn:
            return np.asarray(conn.execute(query).scalars().all(), dtype=np.int64)

    def lexical_search(
        self, expression: str, limit: int, modalities: tuple[Modality, ...] = (), path_prefix: bytes | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids matching an FTS5 expression, best BM25 first, with their (positive) BM25 scores."""
        with self.engine.connect() as conn:
            rows = lexical.search(conn, expression, limit, [m.value for m in modalities], path_prefix)
        return np.asarray([r[0] for r in rows], np.int64), np.asarray([r[1] for r in rows], np.float64)

    def lexical_frequencies(self, expressions: list[str]) -> list[int]:
        """How many chunks match each FTS5 expression (a word's document frequency)."""
        with self.engine.connect() as conn:
            return [lexical.frequency(conn, expression) for expression in expressions]

    def lexical_totals(self) -> tuple[int, int]:
        """The lexical index's row count and token count (all columns)."""
        with self.engine.connect() as conn:
            return lexical.totals(conn)

    def lexical_texts(self, chunk_ids: list[int]) -> dict[int, tuple[str, str]]:
        """The indexed words of these chunks: (text, names) by chunk id."""
        with self.engine.connect() as conn:
            return lexical.texts(conn, chunk_ids)

    def lexical_matches(self, expression: str) -> np.ndarray:
        """Every chunk id matching an FTS5 expression (the required phrases of a query)."""
        with self.engine.connect() as conn:
            return np.asarray(sorted(lexical.matches(conn, expression)), np.int64)

    # --- reporting ------------------------------------------------------------------------------
    def counts(self) -> dict[str, dict[str, int]]:
        with self.engine.connect() as conn:
            items = conn.execute(
                select(ItemRow.modality, ItemRow.status, func.count()).group_by(ItemRow.modality, ItemRow.status)
            ).all()
            chunks = conn.execute(select(ChunkRow.kind, func.count()).group_by(ChunkRow.kind)).all()
            vectors = conn.execute(select(VectorRow.space, func.count()).group_by(VectorRow.space)).all()
        by_modality: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for modality, status, count in items:
            by_status[status] = by_status.get(status, 0) + count
            if status == "ok":
                by_modality[modality] = by_modality.get(modality, 0) + count
        return {"items": by_modality, "status": by_status, "chunks": dict(chunks), "vectors": dict(vectors)}

    def errors(self, limit: int = 20) -> list[Item]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ItemRow).where(ItemRow.status == "error").order_by(ItemRow.id).limit(limit))
            return [_item(r) for r in rows]

    def start_run(self, command: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                insert(RunRow)
                .values(command=command, started_at=time.time(), status="running", stats="{}")
                .returning(RunRow.id)
            ).scalar_one()

    def finish_run(self, run_id: int, status: str, stats: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(finished_at=time.time(), status=status, stats=json.dumps(stats))
            )

    def last_run(self) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(RunRow).order_by(RunRow.id.desc()).limit(1)).one_or_none()
        if row is None:
            return None
        return {
            "command": row.command,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "status": row.status,
            "stats": json.loads(row.stats),
        }
