"""The one interface every vector index backend implements.

Vectors are L2-normalised float32, so inner product is cosine similarity. Ids are chunk ids (int64).
`search` returns, per query, (scores, ids) in descending score order with no padding: fewer than k
results when fewer vectors (or fewer allowed vectors) exist.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

SearchResult = list[tuple[np.ndarray, np.ndarray]]  # per query: (scores float32, ids int64)


def as_ids(ids: np.ndarray | list[int]) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def as_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    out = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if out.ndim == 1:
        out = out.reshape(1, -1)
    if out.shape[1] != dim:
        raise ValueError(f"vector dimension {out.shape[1]} does not match index dimension {dim}")
    return out


class VectorIndex(ABC):
    """add / remove / search / ids / count, plus a byte form for atomic persistence."""

    kind: str
    approximate: bool = False  # True: results may miss true neighbours (recall < 1); see faiss_hnsw/faiss_ivf

    def __init__(self, dim: int) -> None:
        self.dim = dim

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under ids that are not in the index yet (the caller guarantees it)."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids if present; returns how many were removed."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> SearchResult:
        """Top-k by inner product. `allowed`, when given, restricts the result to those ids."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """Every id held, in no particular order."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def to_bytes(self) -> bytes | memoryview: ...

    @classmethod
    @abstractmethod
    def from_bytes(cls, dim: int, payload: bytes) -> VectorIndex: ...

    @staticmethod
    def _trim(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = ids >= 0
        return scores[keep].astype(np.float32), ids[keep].astype(np.int64)
