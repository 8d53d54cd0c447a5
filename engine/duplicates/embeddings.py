"""The joint space's vectors of the items being compared, and their neighbours through the vector index."""

from __future__ import annotations

import numpy as np

from anyseek.engine.records import Space
from anyseek.engine.vectors.catalog import VectorCatalog

NEIGHBOURS = 16  # a photo has rarely more copies than this; more copies still join through union-find
QUERY_ROWS = 2048


class Embeddings:
    """One vector per item (its picture's chunk), read from the store, and pairs found by k-NN search of
    the space's index (IVF at scale: approximate, like any search; the hash search is exact)."""

    def __init__(self, catalog: VectorCatalog, chunk_of_item: dict[int, int], space: Space = Space.JOINT) -> None:
        self.catalog, self.space = catalog, space
        self.item_of_chunk = {chunk: item for item, chunk in chunk_of_item.items()}
        chunk_ids, vectors = catalog.store.vectors(space, np.asarray(list(self.item_of_chunk)), catalog.dims[space])
        self.chunk_ids, self.vectors = chunk_ids, vectors
        self.row_of_item = {self.item_of_chunk[int(c)]: row for row, c in enumerate(chunk_ids)}

    @classmethod
    def available(cls, catalog: VectorCatalog, chunk_of_item: dict[int, int]) -> Embeddings | None:
        if Space.JOINT not in catalog.dims or not chunk_of_item:
            return None
        found = cls(catalog, chunk_of_item)
        return found if len(found.chunk_ids) else None

    def cosine(self, a: int, b: int) -> float:
        ra, rb = self.row_of_item.get(a), self.row_of_item.get(b)
        if ra is None or rb is None:
            return 0.0
        return float(self.vectors[ra] @ self.vectors[rb])

    def cosines(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The cosine of each pair of items (0 where an item has no vector)."""
        missing = len(self.vectors)
        rows_a = np.asarray([self.row_of_item.get(int(i), missing) for i in a], dtype=np.int64)
        rows_b = np.asarray([self.row_of_item.get(int(i), missing) for i in b], dtype=np.int64)
        padded = np.vstack([self.vectors, np.zeros((1, self.vectors.shape[1]), np.float32)])
        return np.einsum("ij,ij->i", padded[rows_a], padded[rows_b])

    def pairs(self, min_cosine: float, k: int = NEIGHBOURS) -> set[tuple[int, int]]:
        index = self.catalog.index(self.space)
        allowed = self.chunk_ids
        out: set[tuple[int, int]] = set()
        for start in range(0, len(self.chunk_ids), QUERY_ROWS):
            results = index.search(self.vectors[start : start + QUERY_ROWS], k + 1, allowed=allowed)
            for row, (scores, ids) in enumerate(results):
                a = self.item_of_chunk[int(self.chunk_ids[start + row])]
                for score, chunk in zip(scores, ids, strict=True):
                    b = self.item_of_chunk.get(int(chunk))
                    if b is not None and b != a and score >= min_cosine:
                        out.add((min(a, b), max(a, b)))
        return out
