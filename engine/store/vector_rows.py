"""Reads of stored vectors (float16 blobs, one per chunk and space): what the vector indexes are derived from."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import Engine, select

from anyseek.engine.records import ChunkKind, Space
from anyseek.engine.store.models import ChunkRow, VectorRow
from anyseek.engine.store.rows import unpack_vectors

BATCH_ROWS = 5000


class VectorReads:
    """Part of Store (see store.py)."""

    engine: Engine

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

    def chunk_ids_of_kinds(self, space: Space, kinds: Iterable[ChunkKind]) -> np.ndarray:
        """Chunks of these kinds with a vector in this space (a route's targets, when its space is mixed)."""
        query = (
            select(VectorRow.chunk_id)
            .join(ChunkRow, ChunkRow.id == VectorRow.chunk_id)
            .where(VectorRow.space == space.value, ChunkRow.kind.in_([k.value for k in kinds]))
        )
        with self.engine.connect() as conn:
            return np.asarray(conn.execute(query).scalars().all(), dtype=np.int64)
