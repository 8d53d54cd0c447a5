"""FAISS backend: exact inner-product search (IndexFlatIP) behind an id map whose ids are chunk ids.

The CPU index is the master copy. When faiss reports GPUs, searches run on a GPU clone that is rebuilt
lazily after the CPU copy changes; GPU indexes cannot take id selectors, so filtered GPU searches
oversample and filter on the host instead. When faiss has no GPU support but torch runs on CUDA (PyPI has
no FAISS for CUDA 13), the clone is a TorchExactIndex on the GPU instead: the same exact search as a
batched matrix product, filters included.
"""

from __future__ import annotations

import logging
import sys

import numpy as np

from anyseek.engine.vectors.base import SearchResult, VectorIndex, as_ids, as_vectors

log = logging.getLogger(__name__)


def _faiss():
    import faiss  # imported lazily: importing engine must stay cheap

    return faiss


def gpu_count() -> int:
    faiss = _faiss()
    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


def torch_cuda_device() -> str | None:
    """ "cuda" where torch is already loaded (an encoder runs on it) and sees a GPU. A process that never
    imported torch runs no model on a GPU, and must not pay seconds to import it for a search."""
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else None


class FaissFlatIndex(VectorIndex):
    kind = "flat"

    def __init__(self, dim: int, index=None, use_gpu: bool | None = None, mirror_device: str | None = None) -> None:
        """`mirror_device`: where the torch clone searches when faiss has no GPU (default: CUDA when torch
        sees one, else no clone; tests pass "cpu" to check the clone's logic anywhere)."""
        super().__init__(dim)
        faiss = _faiss()
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._use_gpu = gpu_count() > 0 if use_gpu is None else use_gpu
        self._gpu_index = None
        self._mirror_device = mirror_device if mirror_device or use_gpu is False else torch_cuda_device()
        self._mirror = None  # the TorchExactIndex clone, rebuilt lazily after a change

    @property
    def on_gpu(self) -> bool:
        return self._use_gpu

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        if len(ids):
            self._index.add_with_ids(vectors, ids)
            self._gpu_index = self._mirror = None

    def remove(self, ids: np.ndarray) -> int:
        ids = as_ids(ids)
        if not len(ids):
            return 0
        removed = int(self._index.remove_ids(_faiss().IDSelectorBatch(ids)))
        if removed:
            self._gpu_index = self._mirror = None
        return removed

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> SearchResult:
        queries = as_vectors(queries, self.dim)
        total = self._index.ntotal
        if total == 0 or k <= 0:
            empty = (np.empty(0, np.float32), np.empty(0, np.int64))
            return [empty for _ in range(len(queries))]
        if self._use_gpu:
            return self._search_gpu(queries, k, allowed)
        if self._mirror_device:
            return self._search_mirror(queries, k, allowed)
        params = None
        if allowed is not None:
            params = _faiss().SearchParameters(sel=_faiss().IDSelectorBatch(as_ids(allowed)))
        scores, ids = self._index.search(queries, min(k, total), params=params)
        return [self._trim(s, i) for s, i in zip(scores, ids)]

    def _search_gpu(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchResult:
        if self._gpu_index is None:
            self._gpu_index = _faiss().index_cpu_to_all_gpus(self._index)
        total = self._index.ntotal
        if allowed is None:
            scores, ids = self._gpu_index.search(queries, min(k, total, 2048))
            return [self._trim(s, i) for s, i in zip(scores, ids)]
        allowed_ids = as_ids(allowed)
        fetch = min(total, max(k * 4, 64))
        while True:
            # GPU flat search caps k at 2048; beyond that the CPU index with a selector is exact.
            if fetch > 2048:
                return FaissFlatIndex(self.dim, self._index, use_gpu=False).search(queries, k, allowed)
            scores, ids = self._gpu_index.search(queries, fetch)
            out = []
            for s, i in zip(scores, ids):
                s, i = self._trim(s, i)
                keep = np.isin(i, allowed_ids)
                out.append((s[keep][:k], i[keep][:k]))
            if all(len(r[1]) >= min(k, len(allowed_ids)) for r in out) or fetch >= total:
                return out
            fetch = min(total, fetch * 4)

    def _search_mirror(self, queries: np.ndarray, k: int, allowed: np.ndarray | None) -> SearchResult:
        if self._mirror is None:
            from anyseek.engine.vectors.torch_exact import TorchExactIndex

            mirror = TorchExactIndex(self.dim, self._mirror_device)
            mirror.add(self.ids(), self._index.index.reconstruct_n(0, self._index.ntotal))
            self._mirror = mirror
        return self._mirror.search(queries, k, allowed)

    def ids(self) -> np.ndarray:
        return _faiss().vector_to_array(self._index.id_map).astype(np.int64)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def to_bytes(self) -> memoryview:
        return memoryview(_faiss().serialize_index(self._index))  # no second copy of the payload

    @classmethod
    def from_bytes(cls, dim: int, payload: bytes) -> FaissFlatIndex:
        faiss = _faiss()
        index = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        if index.d != dim:
            raise ValueError(f"stored index has dimension {index.d}, expected {dim}")
        return cls(dim, index)
