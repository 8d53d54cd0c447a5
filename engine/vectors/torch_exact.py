"""Exact search as a batched matrix product in PyTorch: on a CUDA machine whose FAISS has no GPU support
(PyPI has no FAISS build for CUDA 13), this is how exact search runs on the GPU. On the CPU it is a valid
backend too, so the vector contract checks it on every machine.

Vectors live on the device in a buffer that grows by doubling, so adding a million vectors in indexer-
sized commits costs amortised copies, not a quadratic series of concatenations. Ids stay on the host.
"""

from __future__ import annotations

import numpy as np

from anyseek.engine.vectors.base import SearchResult, VectorIndex, as_ids, as_vectors
from anyseek.engine.vectors.exact import pack, unpack

# Scores computed per block of queries: at most this many floats of (queries x vectors) at a time
# (1 GiB of float32), so a large query batch against 1M vectors never asks the GPU for 4 GB at once.
SCORE_BLOCK = 1 << 28


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TorchExactIndex(VectorIndex):
    kind = "torch"

    def __init__(self, dim: int, device: str | None = None) -> None:
        import torch

        super().__init__(dim)
        self._torch = torch
        self.device = torch.device(device or default_device())
        self._ids = np.empty(0, dtype=np.int64)
        self._store = torch.empty((0, dim), dtype=torch.float32, device=self.device)

    @property
    def _vectors(self):
        return self._store[: len(self._ids)]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        count, needed = len(self._ids), len(self._ids) + len(ids)
        if needed > len(self._store):
            size = (max(needed, 2 * len(self._store)), self.dim)
            grown = self._torch.empty(size, dtype=self._torch.float32, device=self.device)
            grown[:count] = self._vectors
            self._store = grown
        self._store[count:needed] = self._torch.from_numpy(vectors).to(self.device)
        self._ids = np.concatenate([self._ids, ids])

    def remove(self, ids: np.ndarray) -> int:
        drop = np.isin(self._ids, as_ids(ids))
        removed = int(drop.sum())
        if removed:
            keep = self._torch.from_numpy(np.flatnonzero(~drop)).to(self.device)
            self._store = self._vectors.index_select(0, keep)
            self._ids = self._ids[~drop]
        return removed

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> SearchResult:
        queries = as_vectors(queries, self.dim)
        torch = self._torch
        ids, vectors = self._ids, self._vectors
        if allowed is not None:
            rows = np.flatnonzero(np.isin(ids, as_ids(allowed)))
            ids, vectors = ids[rows], vectors.index_select(0, torch.from_numpy(rows).to(self.device))
        k = min(k, len(ids))
        if k <= 0:
            empty = (np.empty(0, np.float32), np.empty(0, np.int64))
            return [empty for _ in range(len(queries))]
        step = max(1, SCORE_BLOCK // max(1, len(ids)))
        out: SearchResult = []
        with torch.inference_mode():
            for start in range(0, len(queries), step):
                block = torch.from_numpy(queries[start : start + step]).to(self.device)
                scores, rows = torch.topk(block @ vectors.T, k, dim=1)  # sorted, largest first
                scores, rows = scores.cpu().numpy(), rows.cpu().numpy()
                out += [(s.astype(np.float32), ids[r]) for s, r in zip(scores, rows)]
        return out

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def __len__(self) -> int:
        return len(self._ids)

    def to_bytes(self) -> bytes:
        """The exact backend's format: a saved index opens on any machine, with or without a GPU."""
        return pack(self._ids, self._vectors.cpu().numpy())

    @classmethod
    def from_bytes(cls, dim: int, payload: bytes, device: str | None = None) -> TorchExactIndex:
        index = cls(dim, device)
        index.add(*unpack(payload, dim, cls.kind))
        return index
