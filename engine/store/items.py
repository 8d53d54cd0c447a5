"""Reads of items: by path, under folders, by content hash, by id; the index's counts and errors."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, bindparam, func, or_, select

from anyseek.engine.records import Item, ItemStatus, Modality
from anyseek.engine.store.models import ChunkRow, ItemRow, VectorRow
from anyseek.engine.store.rows import item_record

# Built once: SQLAlchemy memoises a statement's cache key on the object (see chunks.py).
_ITEMS_WITH_HASH = select(ItemRow).where(
    ItemRow.content_hash == bindparam("content_hash"), ItemRow.status == ItemStatus.OK
)


def normalize_root(path: Path | str | bytes) -> bytes:
    """A path as items are keyed: absolute, user expanded, raw bytes (a non-UTF-8 name round-trips)."""
    raw = os.fsencode(path)
    return os.path.abspath(os.path.expanduser(raw))


def under(roots: Iterable[bytes]):
    clauses = []
    for root in roots:
        root = root.rstrip(b"/") or b"/"
        prefix = root if root.endswith(b"/") else root + b"/"
        clauses += [ItemRow.path == root, func.substr(ItemRow.path, 1, len(prefix)) == prefix]
    return or_(*clauses)


class ItemReads:
    """Part of Store (see store.py)."""

    engine: Engine

    def items_under(self, roots: list[bytes]) -> dict[bytes, Item]:
        """Files under the roots. Records are not files (a record's path is its manifest's plus `#id`):
        a folder run never sees them, so it cannot take them for files that vanished."""
        not_record = ItemRow.modality.is_distinct_from(Modality.RECORD.value)
        with self.engine.connect() as conn:
            rows = conn.execute(select(ItemRow).where(under(roots), not_record))
            return {row.path: item_record(row) for row in rows}

    def items_with_hash(self, content_hash: str) -> list[Item]:
        """Indexed files with this content; called once per new file, so the statement is built once."""
        with self.engine.connect() as conn:
            return [item_record(row) for row in conn.execute(_ITEMS_WITH_HASH, {"content_hash": content_hash})]

    def indexed_hashes(self) -> set[str]:
        """The content hashes of every indexed file: what a worker without the database (a Ray task, see
        indexer/distributed/workers.py) checks a new file's hash against before decoding it."""
        with self.engine.connect() as conn:
            query = select(ItemRow.content_hash).where(ItemRow.status == ItemStatus.OK).distinct()
            return set(conn.execute(query).scalars())

    def find_item(self, item_id: int | None = None, path: bytes | None = None) -> Item | None:
        where = ItemRow.id == item_id if item_id is not None else ItemRow.path == path
        with self.engine.connect() as conn:
            row = conn.execute(select(ItemRow).where(where)).one_or_none()
        return item_record(row) if row else None

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
            if status == ItemStatus.OK:
                by_modality[modality] = by_modality.get(modality, 0) + count
        return {"items": by_modality, "status": by_status, "chunks": dict(chunks), "vectors": dict(vectors)}

    def errors(self, limit: int = 20) -> list[Item]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ItemRow).where(ItemRow.status == ItemStatus.ERROR).order_by(ItemRow.id).limit(limit)
            )
            return [item_record(r) for r in rows]
