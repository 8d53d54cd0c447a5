"""The labelled records of the index with their parts' chunks and vectors: the examples of few-shot
classification when no other examples are given (engine/classify/)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, select

from anyseek.engine.records import EmbeddedChunk, Space
from anyseek.engine.store.models import ChunkRow, ItemRow, RecordRow, VectorRow
from anyseek.engine.store.rows import chunk_record

BLOCK = 500  # records read per query


@dataclass(frozen=True, slots=True)
class LabelledRecord:
    item_id: int
    collection: str
    record_id: str
    label: str
    parts: dict[str, list[EmbeddedChunk]]  # by field, in the record's order; the fused chunk is not a part


class LabelledReads:
    engine: Engine

    def labelled_records(self) -> list[LabelledRecord]:
        """Every indexed record (status ok) that has a label, with its parts' chunks and their vectors."""
        query = (
            select(RecordRow.item_id, RecordRow.collection, RecordRow.record_id, RecordRow.label)
            .join(ItemRow, ItemRow.id == RecordRow.item_id)
            .where(RecordRow.label.is_not(None), ItemRow.status == "ok")
            .order_by(RecordRow.collection, RecordRow.item_id)
        )
        with self.engine.connect() as conn:
            heads = conn.execute(query).all()
            out = []
            for start in range(0, len(heads), BLOCK):
                block = heads[start : start + BLOCK]
                parts = self._labelled_parts(conn, [row.item_id for row in block])
                out += [
                    LabelledRecord(row.item_id, row.collection, row.record_id, row.label, parts.get(row.item_id, {}))
                    for row in block
                ]
        return out

    @staticmethod
    def _labelled_parts(conn, item_ids: list[int]) -> dict[int, dict[str, list[EmbeddedChunk]]]:
        chunks = conn.execute(
            select(ChunkRow)
            .where(ChunkRow.item_id.in_(item_ids), ChunkRow.field.is_not(None))
            .order_by(ChunkRow.item_id, ChunkRow.ordinal)
        ).all()
        vectors: dict[int, dict[Space, np.ndarray]] = {}
        ids = [row.id for row in chunks]
        for start in range(0, len(ids), BLOCK):
            for row in conn.execute(select(VectorRow).where(VectorRow.chunk_id.in_(ids[start : start + BLOCK]))):
                vector = np.frombuffer(row.data, np.float16).astype(np.float32)
                vectors.setdefault(row.chunk_id, {})[Space(row.space)] = vector
        out: dict[int, dict[str, list[EmbeddedChunk]]] = {}
        for row in chunks:
            embedded = EmbeddedChunk(chunk_record(row), vectors.get(row.id, {}))
            out.setdefault(row.item_id, {}).setdefault(row.field, []).append(embedded)
        return out
