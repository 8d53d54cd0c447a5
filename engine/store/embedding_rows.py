"""Reads for embedding import and export (engine/embedding_import.py, embedding_export.py): batched, so
neither holds more than a page of the index at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from anyseek.engine.records import ChunkKind, ItemStatus, Modality, Space
from anyseek.engine.store.models import ChunkRow, ItemRow, VectorRow

PAGE = 2000


def hashes_of(engine: Engine, paths: list[bytes]) -> dict[bytes, str]:
    """The stored content hash of each of these paths that the index holds."""
    found: dict[bytes, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(paths), 500):
            where = ItemRow.path.in_(paths[start : start + 500])
            found.update(
                (row.path, row.content_hash)
                for row in conn.execute(select(ItemRow.path, ItemRow.content_hash).where(where))
            )
    return found


def ids_with_hash_prefix(engine: Engine, prefix: str) -> Iterator[tuple[int, bytes]]:
    """(id, path) of every item whose content hash starts with `prefix`, a page at a time."""
    last = 0
    condition = func.substr(ItemRow.content_hash, 1, len(prefix)) == prefix
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ItemRow.id, ItemRow.path).where(condition, ItemRow.id > last).order_by(ItemRow.id).limit(PAGE)
            ).all()
        if not rows:
            return
        yield from ((row.id, row.path) for row in rows)
        last = rows[-1].id


@dataclass(frozen=True, slots=True)
class ExportRow:
    item_id: int
    path: bytes
    image_vector: bytes  # float16, the joint vector of the item's picture
    caption: str | None  # the item's first passage (an imported caption)
    caption_vector: bytes | None  # float16, that passage's joint vector


def picture_pages(engine: Engine) -> Iterator[list[ExportRow]]:
    """Every searchable picture (an item of one image chunk with a joint vector) with its caption, by item
    id, PAGE items at a time."""
    last = 0
    while True:
        with engine.connect() as conn:
            pictures = conn.execute(
                select(ItemRow.id, ItemRow.path, VectorRow.data)
                .join(ChunkRow, ChunkRow.item_id == ItemRow.id)
                .join(VectorRow, VectorRow.chunk_id == ChunkRow.id)
                .where(
                    ItemRow.id > last,
                    ItemRow.status == ItemStatus.OK,
                    ItemRow.modality == Modality.IMAGE.value,  # not a record's screenshot, not a PDF's page
                    ChunkRow.kind == ChunkKind.IMAGE.value,
                    VectorRow.space == Space.JOINT.value,
                )
                .order_by(ItemRow.id)
                .limit(PAGE)
            ).all()
            if not pictures:
                return
            captions = _captions(conn, [row.id for row in pictures])
        yield [ExportRow(row.id, row.path, row.data, *captions.get(row.id, (None, None))) for row in pictures]
        last = pictures[-1].id


def _captions(conn, item_ids: list[int]) -> dict[int, tuple[str, bytes | None]]:
    """Each item's first passage with its joint vector, if any."""
    rows = conn.execute(
        select(ChunkRow.item_id, ChunkRow.text, VectorRow.data)
        .outerjoin(VectorRow, (VectorRow.chunk_id == ChunkRow.id) & (VectorRow.space == Space.JOINT.value))
        .where(ChunkRow.item_id.in_(item_ids), ChunkRow.kind == ChunkKind.PASSAGE.value)
        .order_by(ChunkRow.item_id.desc(), ChunkRow.ordinal.desc())
    ).all()
    return {row.item_id: (row.text, row.data) for row in rows}  # descending: each item's first passage wins


def has_caption_vectors(engine: Engine) -> bool:
    """Whether any passage of a picture has a joint vector (then an export writes text_emb)."""
    picture = select(ChunkRow.item_id).where(ChunkRow.kind == ChunkKind.IMAGE.value)
    query = (
        select(VectorRow.chunk_id)
        .join(ChunkRow, ChunkRow.id == VectorRow.chunk_id)
        .where(
            VectorRow.space == Space.JOINT.value,
            ChunkRow.kind == ChunkKind.PASSAGE.value,
            ChunkRow.item_id.in_(picture),
        )
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.execute(query).first() is not None
