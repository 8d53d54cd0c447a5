"""The joint space's vectors of the items being compared, and their neighbours through the vector index."""

from __future__ import annotations

import math

import numpy as np

from anyseek.engine.duplicates.table import unique_pairs
from anyseek.engine.records import Space
from anyseek.engine.vectors.catalog import VectorCatalog

NEIGHBOURS = 16  # a photo has rarely more copies than this; more copies still join through union-find
QUERY_ROWS = 2048


class Embeddings:
    """One vector per item (its picture's chunk), read from the store, and pairs found by k-NN search of
    the space's index (IVF at scale: approximate, like any search; the hash search is exact)."""

    def __init__(self, catalog: VectorCatalog, chunk_of_item: dict[int, int], space: Space = Space.JOINT) -> None:
        self.catalog, self.space = catalog, space
        item_of_chunk = {chunk: item for item, chunk in chunk_of_item.items()}
        chunk_ids, vectors = catalog.store.vectors(space, np.asarray(list(item_of_chunk)), catalog.dims[space])
        self.chunk_ids, self.vectors = chunk_ids, vectors
        # sorted arrays instead of dicts, so a million candidate pairs are mapped in numpy, not in a loop
        # (at 100k photos the loops took minutes: duplicates' first run spent most of its time in them)
        items = np.asarray([item_of_chunk[int(c)] for c in chunk_ids], np.int64)
        by_chunk, by_item = np.argsort(chunk_ids), np.argsort(items)
        self._chunks, self._chunk_items = np.asarray(chunk_ids, np.int64)[by_chunk], items[by_chunk]
        self._items, self._item_rows = items[by_item], by_item.astype(np.int64)
        self._padded: np.ndarray | None = None  # the vectors and a zero row for items without one

    @classmethod
    def available(cls, catalog: VectorCatalog, chunk_of_item: dict[int, int]) -> Embeddings | None:
        if Space.JOINT not in catalog.dims or not chunk_of_item:
            return None
        found = cls(catalog, chunk_of_item)
        return found if len(found.chunk_ids) else None

    def cosine(self, a: int, b: int) -> float:
        return float(self.cosines(np.asarray([a]), np.asarray([b]))[0])

    def cosines(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The cosine of each pair of items (0 where an item has no vector)."""
        missing = len(self.vectors)
        rows_a, rows_b = self._rows(np.asarray(a, np.int64), missing), self._rows(np.asarray(b, np.int64), missing)
        if self._padded is None:  # once: the candidates are checked block by block (pictures.py)
            self._padded = np.vstack([self.vectors, np.zeros((1, self.vectors.shape[1]), np.float32)])
        return np.einsum("ij,ij->i", self._padded[rows_a], self._padded[rows_b])

    def pairs(self, min_cosine: float, k: int = NEIGHBOURS) -> np.ndarray:
        """Item pairs (a < b, each once) whose vectors are within `min_cosine`, among each item's k nearest."""
        index = self.catalog.index(self.space)
        share = len(self.chunk_ids) / max(len(index), 1)
        # Where the compared pictures are most of the space (a photo library), search it all and drop the
        # rest (_item_of): FAISS's flat search with an ID selector leaves BLAS, 5x slower here (26 s
        # against 5 s per 2,048 queries at 100k photos), and the selector admitted every vector anyway.
        allowed, fetch = (None, math.ceil((k + 1) / share)) if share >= 0.5 else (self.chunk_ids, k + 1)
        found = []
        for start in range(0, len(self.chunk_ids), QUERY_ROWS):
            results = index.search(self.vectors[start : start + QUERY_ROWS], fetch, allowed=allowed)
            for row, (scores, ids) in enumerate(results):
                ids = ids[scores >= min_cosine]
                if len(ids):
                    a = self._item_of(self.chunk_ids[start + row : start + row + 1])[0]
                    b = self._item_of(ids)
                    b = b[(b >= 0) & (b != a)]
                    found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
        return unique_pairs(np.concatenate(found)) if found else np.empty((0, 2), np.int64)

    def _item_of(self, chunks: np.ndarray) -> np.ndarray:
        """The item of each chunk; -1 for chunks not compared."""
        pos = np.minimum(np.searchsorted(self._chunks, chunks), len(self._chunks) - 1)
        return np.where(self._chunks[pos] == chunks, self._chunk_items[pos], -1)

    def _rows(self, items: np.ndarray, missing: int) -> np.ndarray:
        if not len(self._items):
            return np.full(len(items), missing, np.int64)
        pos = np.minimum(np.searchsorted(self._items, items), len(self._items) - 1)
        return np.where(self._items[pos] == items, self._item_rows[pos], missing)
