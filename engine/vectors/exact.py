"""Exact NumPy backend: the reference every other backend is tested against."""

from __future__ import annotations

import io
import zipfile

import numpy as np

from anyseek.engine.vectors.base import SearchResult, VectorIndex, as_ids, as_vectors


class ExactIndex(VectorIndex):
    kind = "exact"

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self._ids = np.empty(0, dtype=np.int64)
        self._vectors = np.empty((0, dim), dtype=np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, vectors])

    def remove(self, ids: np.ndarray) -> int:
        drop = np.isin(self._ids, as_ids(ids))
        self._ids, self._vectors = self._ids[~drop], self._vectors[~drop]
        return int(drop.sum())

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> SearchResult:
        queries = as_vectors(queries, self.dim)
        ids, vectors = self._ids, self._vectors
        if allowed is not None:
            mask = np.isin(ids, as_ids(allowed))
            ids, vectors = ids[mask], vectors[mask]
        scores = queries @ vectors.T
        out: SearchResult = []
        for row in scores:
            top = np.argsort(-row, kind="stable")[:k]
            out.append((row[top].astype(np.float32), ids[top]))
        return out

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def __len__(self) -> int:
        return len(self._ids)

    def to_bytes(self) -> bytes:
        return pack(self._ids, self._vectors)

    @classmethod
    def from_bytes(cls, dim: int, payload: bytes) -> ExactIndex:
        index = cls(dim)
        index._ids, index._vectors = unpack(payload, dim, cls.kind)
        return index


def pack(ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """The exact format (ids and float32 vectors in an npz), which the torch backend saves too."""
    buffer = io.BytesIO()
    np.savez(buffer, ids=ids, vectors=vectors)
    return buffer.getvalue()


def unpack(payload: bytes, dim: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(io.BytesIO(payload)) as data:
            return data["ids"], as_vectors(data["vectors"], dim)
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        # a damaged payload is a ValueError, as from every backend, so the catalog rebuilds it
        raise ValueError(f"damaged {kind} index payload: {exc}") from None
