"""Records in the store: a record is an item (modality "record") whose chunks are its parts' chunks, each
tagged with its field, plus its early-fusion chunk; the `records` row holds its collection, id, label and
metadata, and `record_parts` what each part was when it was indexed (what the next run compares).

A record's item path is its key, `<collection>#<id>` (the collection is the manifest's absolute path, or a
name given in Python): unique like a file's path, readable in a hit, and never under a folder an index run
walks (store/items.items_under leaves records out).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, insert, select

from anyseek.engine import faults
from anyseek.engine.records import ChunkKind, EmbeddedChunk, Modality, Space
from anyseek.engine.store.models import ChunkRow, ItemRow, RecordPartRow, RecordRow, VectorRow
from anyseek.engine.store.rows import chunk_record
from anyseek.engine.store.writes import ItemWrite, VectorChanges

_RECORDS_OF_CHUNKS = (
    select(ChunkRow.id, ChunkRow.item_id, ChunkRow.kind, ChunkRow.field)
    .where(
        ChunkRow.item_id.in_(select(RecordRow.item_id).where(RecordRow.item_id.in_(bindparam("items", expanding=True))))
    )
    .order_by(ChunkRow.item_id, ChunkRow.ordinal)
)

_RECORDS = select(
    RecordRow.item_id,
    RecordRow.collection,
    RecordRow.record_id,
    RecordRow.label,
    RecordRow.metadata_json.label("metadata"),
    ItemRow.content_hash,
    ItemRow.status,
).join(ItemRow, ItemRow.id == RecordRow.item_id)


def record_key(collection: str, record_id: str) -> bytes:
    return os.fsencode(collection) + b"#" + record_id.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A record's part as indexed: text (its hash) or a file (path, size, mtime, content hash, modality), and
    the reason it could not be decoded, if it could not."""

    field: str
    ordinal: int
    kind: str  # "text" | "file"
    content_hash: str
    path: bytes | None = None
    size: int | None = None
    mtime_ns: int | None = None
    modality: Modality | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    item_id: int
    collection: str
    record_id: str
    label: str | None
    metadata: dict[str, object]
    row_hash: str  # of everything the row said, and its files' size and mtime (items.content_hash)
    status: str
    parts: tuple[StoredPart, ...] = ()

    def part(self, name: str) -> StoredPart | None:
        return next((p for p in self.parts if p.field == name), None)


@dataclass(frozen=True, slots=True)
class RecordChunk:
    """One chunk of a record, as the search needs it to score every part (search/record_fusion.py)."""

    chunk_id: int
    item_id: int
    kind: ChunkKind
    field: str | None  # None for the fused chunk


@dataclass(slots=True)
class RecordWrite:
    """A record with its parts' chunks (and its fused chunk), ready to replace what its key held."""

    collection: str
    record_id: str
    label: str | None
    metadata: dict[str, object]
    row_hash: str
    parts: list[StoredPart]
    chunks: list[EmbeddedChunk] = field(default_factory=list)
    captured_at: float | None = None
    error: str | None = None  # no part could be decoded: the record is an error, with their reasons

    @property
    def key(self) -> bytes:
        return record_key(self.collection, self.record_id)

    def item_write(self) -> ItemWrite:
        size = sum(part.size or 0 for part in self.parts)
        return ItemWrite(
            self.key, size, 0, self.row_hash, Modality.RECORD, self.chunks, self.error, captured_at=self.captured_at
        )


class RecordRows:
    """Part of Store (see store.py)."""

    engine: Engine
    _bump: Callable[[Connection], None]
    _replace_items: Callable[..., list[int]]

    def write_records(self, writes: list[RecordWrite]) -> VectorChanges:
        """Insert or replace records with their chunks, vectors, parts and labels, in one transaction."""
        changes = VectorChanges()
        writes = list({write.key: write for write in writes}.values())
        with self.engine.begin() as conn:
            item_ids = self._replace_items(conn, [w.item_write() for w in writes], changes)
            record_rows, part_rows = [], []
            for item_id, write in zip(item_ids, writes, strict=True):
                record_rows.append(
                    {
                        "item_id": item_id,
                        "collection": write.collection,
                        "record_id": write.record_id,
                        "label": write.label,
                        "metadata": json.dumps(write.metadata),
                    }
                )
                part_rows += [_part_row(item_id, part) for part in write.parts]
            if record_rows:
                conn.execute(insert(RecordRow), record_rows)
            if part_rows:
                conn.execute(insert(RecordPartRow), part_rows)
            self._bump(conn)
            faults.checkpoint("store.commit")
        faults.checkpoint("store.committed")
        return changes

    def collection_records(self, collection: str) -> dict[str, StoredRecord]:
        """Every record of a collection, by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(_RECORDS.where(RecordRow.collection == collection)).all()
            parts = self._parts(conn, [row.item_id for row in rows])
        return {row.record_id: _stored(row, parts) for row in rows}

    def records_by_item(self, item_ids: Iterable[int]) -> dict[int, StoredRecord]:
        """The records among these items (others are files), by item id."""
        ids = sorted({int(i) for i in item_ids})
        out: dict[int, StoredRecord] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(_RECORDS.where(RecordRow.item_id.in_(ids[start : start + 500]))).all()
                parts = self._parts(conn, [row.item_id for row in rows])
                out.update((row.item_id, _stored(row, parts)) for row in rows)
        return out

    def record_chunks(self, item_ids: Iterable[int]) -> list[RecordChunk]:
        """All chunks of those of these items that are records, in order; nothing for files."""
        ids = sorted({int(i) for i in item_ids})
        out: list[RecordChunk] = []
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(_RECORDS_OF_CHUNKS, {"items": ids[start : start + 500]})
                out += [RecordChunk(row.id, row.item_id, ChunkKind(row.kind), row.field) for row in rows]
        return out

    def has_records(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(RecordRow.item_id).limit(1)).first() is not None

    def part_chunks(self, item_id: int) -> dict[str, list[EmbeddedChunk]]:
        """A stored record's part chunks with their vectors, by field: what an unchanged part reuses."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ChunkRow)
                .where(ChunkRow.item_id == item_id, ChunkRow.field.is_not(None))
                .order_by(ChunkRow.ordinal)
            ).all()
            vectors = conn.execute(select(VectorRow).where(VectorRow.chunk_id.in_([r.id for r in rows]))).all()
        by_chunk: dict[int, dict[Space, np.ndarray]] = {}
        for row in vectors:
            by_chunk.setdefault(row.chunk_id, {})[Space(row.space)] = np.frombuffer(row.data, np.float16)
        out: dict[str, list[EmbeddedChunk]] = {}
        for row in rows:
            out.setdefault(row.field, []).append(EmbeddedChunk(chunk_record(row), by_chunk.get(row.id, {})))
        return out

    def _parts(self, conn: Connection, item_ids: list[int]) -> dict[int, list[StoredPart]]:
        out: dict[int, list[StoredPart]] = {}
        for start in range(0, len(item_ids), 500):
            rows = conn.execute(
                select(RecordPartRow)
                .where(RecordPartRow.item_id.in_(item_ids[start : start + 500]))
                .order_by(RecordPartRow.item_id, RecordPartRow.ordinal)
            ).all()
            for row in rows:
                out.setdefault(row.item_id, []).append(
                    StoredPart(
                        row.field,
                        row.ordinal,
                        row.kind,
                        row.content_hash,
                        row.path,
                        row.size,
                        row.mtime_ns,
                        Modality(row.modality) if row.modality else None,
                        row.error,
                    )
                )
        return out


def _stored(row, parts: dict[int, list[StoredPart]]) -> StoredRecord:
    """A row of _RECORDS, with its parts."""
    metadata = json.loads(row.metadata) if row.metadata else {}
    found = tuple(parts.get(row.item_id, ()))
    return StoredRecord(
        row.item_id, row.collection, row.record_id, row.label, metadata, row.content_hash, row.status, found
    )


def _part_row(item_id: int, part: StoredPart) -> dict[str, object]:
    return {
        "item_id": item_id,
        "field": part.field,
        "ordinal": part.ordinal,
        "kind": part.kind,
        "path": part.path,
        "size": part.size,
        "mtime_ns": part.mtime_ns,
        "content_hash": part.content_hash,
        "modality": part.modality.value if part.modality else None,
        "error": part.error,
    }
