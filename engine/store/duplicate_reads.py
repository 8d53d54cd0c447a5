"""Reads for duplicate finding (engine/duplicates): every indexed file of one kind with what its kind is
compared by (the picture's chunk, a document's text, a recording's transcript and length)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from anyseek.engine.records import ChunkKind, Item, Modality
from anyseek.engine.store.models import ChunkRow, ItemRow
from anyseek.engine.store.rows import item_record

BATCH_ITEMS = 2000


@dataclass(frozen=True, slots=True)
class ItemContent:
    """An item, its first chunk of the kind it is compared by, its text in order (documents: passages;
    recordings: the transcript) and its length in seconds (recordings, videos: the last chunk's end)."""

    item: Item
    chunk_id: int | None
    text: str
    duration_s: float | None


class DuplicateReads:
    """Part of Store (see store.py)."""

    engine: Engine

    def files_of(self, modality: Modality) -> list[Item]:
        """Indexed files (not records' parts or archive members, whose content hash names their container)."""
        query = select(ItemRow).where(
            ItemRow.modality == modality.value, ItemRow.status == "ok", ItemRow.content_hash.not_like("%/%")
        )
        with self.engine.connect() as conn:
            return [item_record(row) for row in conn.execute(query.order_by(ItemRow.id))]

    def files_signature(self) -> list[float]:
        """What duplicate groups depend on besides the vectors' revision: which files there are, their sizes,
        times and capture dates (the keeper's rule). A file touched, or whose date was read again, keeps
        its vectors, so the revision does not move. One scan of the items table (tens of ms at 100k)."""
        query = select(
            func.count(ItemRow.id),
            func.total(ItemRow.size),
            func.total(ItemRow.mtime_ns % 1_000_000_007),  # exact: a total of 100k such stays under 2**53
            func.total(ItemRow.captured_at),
        )
        with self.engine.connect() as conn:
            return [float(value) for value in conn.execute(query).one()]

    def item_contents(self, items: list[Item], kinds: tuple[ChunkKind, ...]) -> Iterator[ItemContent]:
        """Each item's chunks of these kinds, read in batches: their texts joined in order, the first chunk's
        id and the last end time."""
        for start in range(0, len(items), BATCH_ITEMS):
            batch = {item.id: item for item in items[start : start + BATCH_ITEMS]}
            query = (
                select(ChunkRow.item_id, ChunkRow.id, ChunkRow.text, ChunkRow.end_s)
                .where(ChunkRow.item_id.in_(list(batch)), ChunkRow.kind.in_([k.value for k in kinds]))
                .order_by(ChunkRow.item_id, ChunkRow.ordinal)
            )
            texts: dict[int, list[str]] = {}
            first: dict[int, int] = {}
            ends: dict[int, float] = {}
            with self.engine.connect() as conn:
                for row in conn.execute(query):
                    first.setdefault(row.item_id, row.id)
                    if row.text:
                        texts.setdefault(row.item_id, []).append(row.text)
                    if row.end_s is not None:
                        ends[row.item_id] = max(ends.get(row.item_id, 0.0), row.end_s)
            for item_id, item in batch.items():
                yield ItemContent(item, first.get(item_id), "\n".join(texts.get(item_id, ())), ends.get(item_id))
