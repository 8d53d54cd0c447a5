"""Writes of items with their chunks, vectors and words, one transaction each, reporting the vector changes.

Every transaction that changes vectors bumps the store's revision; the VectorChanges it returns are what
the index writer (engine/writer.py) mirrors into the vector indexes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from anyseek.engine import faults
from anyseek.engine.records import ChunkKind, EmbeddedChunk, Item, ItemStatus, Modality, Space
from anyseek.engine.store import lexical
from anyseek.engine.store.members import inside, member_ids
from anyseek.engine.store.models import ChunkRow, ItemRow, RecordPartRow, RecordRow, VectorRow
from anyseek.engine.store.rows import box_columns, chunk_record, item_record, pack_vector, roundtrip


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
    attached: bool = False  # a subtitle file whose cues are its video's (indexer/companions.py)
    member: bool = False  # a message of a mailbox file, stored at `<mailbox path>/<n>` (members.py)
    ocr: str | None = None  # the OCR reader that read its pictures, "off", or None: nothing to read (records.Item)

    @property
    def status(self) -> ItemStatus:
        if self.error:
            return ItemStatus.ERROR
        return ItemStatus.IGNORED if self.ignored else ItemStatus.ATTACHED if self.attached else ItemStatus.OK


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


class ItemWrites:
    """Part of Store (see store.py)."""

    engine: Engine
    _bump: Callable[[Connection], None]  # Metadata's: every transaction that changes vectors bumps the revision

    def write_items(self, writes: list[ItemWrite]) -> VectorChanges:
        """Insert or replace files with their chunks and vectors, all in one transaction. A batch costs a
        handful of statements, not a few per file: on small files those dominated the writer's time."""
        changes = VectorChanges()
        with self.engine.begin() as conn:
            self._replace_items(conn, writes, changes)
            self._bump(conn)
            faults.checkpoint("store.commit")  # rows written, transaction not yet committed
        faults.checkpoint("store.committed")
        return changes

    def _replace_items(self, conn: Connection, writes: list[ItemWrite], changes: VectorChanges) -> list[int]:
        """Inside the caller's transaction: whatever held each write's path goes, and the writes go in.
        Returns the new item ids, in the order of `writes` (a path twice: the later write wins)."""
        now = time.time()
        writes = list({write.path: write for write in writes}.values())
        paths = [write.path for write in writes]
        replaced: list[int] = []
        replaced_paths: list[bytes] = []
        for start in range(0, len(paths), 500):
            where = ItemRow.path.in_(paths[start : start + 500])
            for row in conn.execute(select(ItemRow.id, ItemRow.path).where(where)):
                replaced.append(row.id)
                replaced_paths.append(row.path)
        replaced += member_ids(conn, replaced_paths)  # a mailbox read again (or failing) replaces its messages
        changes.removed += self._delete_item_ids(conn, list(dict.fromkeys(replaced)))
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
                "ocr": write.ocr,
            }
            for write in writes
        ]
        if not rows:
            return []
        statement = insert(ItemRow).returning(ItemRow.id, sort_by_parameter_order=True)
        item_ids = list(conn.execute(statement, rows).scalars().all())
        owned = [(item_id, write.path, write.chunks) for item_id, write in zip(item_ids, writes)]
        self._insert_chunks(conn, owned, changes)
        return item_ids

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
                "slide": c.chunk.slide,
                "sheet": c.chunk.sheet,
                "row": c.chunk.row,
                "row_end": c.chunk.row_end,
                **box_columns(c.chunk.box),
                "confidence": c.chunk.confidence,
                "field": c.chunk.field,
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
            conn.execute(delete(RecordPartRow).where(RecordPartRow.item_id.in_(batch)))
            conn.execute(delete(RecordRow).where(RecordRow.item_id.in_(batch)))
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
            old = conn.execute(select(ItemRow.path).where(ItemRow.id == item_id)).scalar_one()
            conn.execute(update(ItemRow).where(ItemRow.id == item_id).values(path=path, size=size, mtime_ns=mtime_ns))
            lexical.rename(conn, item_id, path)
            for member in conn.execute(select(ItemRow.id, ItemRow.path).where(inside(old))).all():
                new = path + member.path[len(old) :]  # a mailbox's messages move with it
                conn.execute(update(ItemRow).where(ItemRow.id == member.id).values(path=new))
                lexical.rename(conn, member.id, new)
            self._bump(conn)
        return changes

    def touch_item(self, item_id: int, size: int, mtime_ns: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(ItemRow).where(ItemRow.id == item_id).values(size=size, mtime_ns=mtime_ns))

    def copy_item(self, source: Item, write: ItemWrite) -> VectorChanges:
        """A duplicate of an indexed file: reuse its chunks and vectors instead of running the models (a
        mailbox's messages too)."""
        with self.engine.connect() as conn:
            # the source may have moved earlier in this run: its current path, where its members are now
            path = conn.execute(select(ItemRow.path).where(ItemRow.id == source.id)).scalar_one_or_none()
            members = conn.execute(select(ItemRow).where(inside(path or source.path))).all()
        writes = [self._copied(source, write)]
        for member in members:
            suffix = member.path[len(path or source.path) :]
            copy = ItemWrite(write.path + suffix, 0, write.mtime_ns, member.content_hash, None, member=True)
            writes.append(self._copied(item_record(member), copy))
        return self.write_items(writes)

    def _copied(self, source: Item, write: ItemWrite) -> ItemWrite:
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
        write.chunks = [EmbeddedChunk(chunk_record(r), by_chunk.get(r.id, {})) for r in chunk_rows]
        write.modality, write.captured_at, write.ocr = source.modality, source.captured_at, source.ocr
        return write

    def replace_ocr(self, item_id: int, chunks: list[EmbeddedChunk], reader: str | None) -> VectorChanges:
        """An unchanged picture read again by another OCR reader (or no longer read): its text chunks are
        replaced and the reader recorded, in one transaction; its other chunks (the picture itself, a
        video's frames and speech) and their vectors stay as they are."""
        changes = VectorChanges()
        with self.engine.begin() as conn:
            path = conn.execute(select(ItemRow.path).where(ItemRow.id == item_id)).scalar_one_or_none()
            if path is None:
                return changes  # deleted by another writer since the run planned it (cannot happen under the lock)
            old = (
                conn.execute(
                    select(ChunkRow.id).where(ChunkRow.item_id == item_id, ChunkRow.kind == ChunkKind.OCR.value)
                )
                .scalars()
                .all()
            )
            lexical.delete(conn, old)
            conn.execute(delete(VectorRow).where(VectorRow.chunk_id.in_(old)))
            conn.execute(delete(ChunkRow).where(ChunkRow.id.in_(old)))
            changes.removed += old
            last = conn.execute(select(func.max(ChunkRow.ordinal)).where(ChunkRow.item_id == item_id)).scalar()
            first = 0 if last is None else last + 1  # after the chunks that stay
            renumbered = [
                EmbeddedChunk(dataclasses.replace(c.chunk, ordinal=first + n), c.vectors) for n, c in enumerate(chunks)
            ]
            self._insert_chunks(conn, [(item_id, path, renumbered)], changes)
            conn.execute(update(ItemRow).where(ItemRow.id == item_id).values(ocr=reader, indexed_at=time.time()))
            self._bump(conn)
            faults.checkpoint("store.commit")
        faults.checkpoint("store.committed")
        return changes
