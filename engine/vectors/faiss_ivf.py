"""FAISS inverted-file backends: IVF-Flat (full vectors in `nlist` k-means cells) and IVF-PQ (the same
cells, vectors compressed to `dim / 4` bytes by product quantisation: 128 bytes for 512-d instead of 2 KiB).

A query scans the `nprobe` nearest cells, so nprobe trades speed for recall at query time.

IVF needs training (k-means on the vectors themselves). Until `train_at` vectors have arrived they are
held in an exact flat index, and searches are exact; the first add that reaches `train_at` trains on
everything held (nlist ~ sqrt(count), a power of two) and moves it in. A space that later grows far past
its training size keeps working but with coarse cells: `outgrown()` says when a rebuild from the store
(with the new count) would pay.

Removes are native: ids live in the inverted lists, and a hash-table direct map finds them.
"""

from __future__ import annotations

import numpy as np

from anyseek.engine.vectors.approximate import ApproximateIndex
from anyseek.engine.vectors.base import SearchResult
from anyseek.engine.vectors.faiss_flat import _faiss, gpu_count


def nlist_for(count: int) -> int:
    """About sqrt(count) cells, as a power of two, at least 8 and with at least ~39 points per cell."""
    target = max(8, min(65536, count // 39, int(np.sqrt(max(count, 1)))))
    return int(2 ** np.floor(np.log2(target)))


class FaissIvfFlatIndex(ApproximateIndex):
    kind = "ivf-flat"
    default_train_at = 10_000

    def __init__(
        self, dim: int, nprobe: int = 0, train_at: int = 0, nlist: int = 0, recall: float | None = None
    ) -> None:
        super().__init__(dim)
        self.nprobe = nprobe  # 0: automatic, from nlist
        self.train_at = train_at or self.default_train_at
        self.nlist = nlist  # 0 until trained
        self.recall = recall  # recall@10 on held-out vectors when nprobe was tuned (engine/vectors/tuning.py)
        faiss = _faiss()
        self._staging = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._index = None  # the trained IVF index

    @property
    def trained(self) -> bool:
        return self._index is not None

    # --- building ---------------------------------------------------------------------------------
    def _make(self, nlist: int):
        faiss = _faiss()
        return faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)

    def _train(self) -> None:
        vectors = _faiss().downcast_index(self._staging.index).reconstruct_n(0, self._staging.ntotal)
        sample = vectors
        cap = max(64 * nlist_for(len(vectors)), 20_000)  # k-means needs tens of points per cell, not all
        if len(vectors) > cap:
            pick = np.random.default_rng(0).choice(len(vectors), cap, replace=False)
            sample = vectors[np.sort(pick)]
        self.fit(sample, len(vectors))

    def fit(self, sample: np.ndarray, expected: int) -> None:
        """Train for a space of about `expected` vectors on `sample` (a rebuild draws it from the whole
        space); what staging held moves in."""
        faiss = _faiss()
        self.nlist = nlist_for(max(expected, len(sample)))
        index = self._make(self.nlist)
        # k-means, the slow part of building an IVF index, on the GPUs where faiss has them (its
        # clustering_index hook), with the metric the CPU quantizer uses. The local reference keeps the GPU
        # index alive while faiss holds its raw pointer. The contract's IVF tests run through this wherever
        # faiss reports a GPU.
        clustering = faiss.index_cpu_to_all_gpus(faiss.IndexFlatIP(self.dim)) if gpu_count() > 0 else None
        if clustering is not None:
            index.clustering_index = clustering
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        if clustering is not None:
            index.clustering_index = None
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        if self._staging.ntotal:
            ids = faiss.vector_to_array(self._staging.id_map).astype(np.int64)
            index.add_with_ids(faiss.downcast_index(self._staging.index).reconstruct_n(0, len(ids)), ids)
        self._index, self._staging = index, faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check_add(ids, vectors)
        if not len(ids):
            return
        self._sorted_ids = None
        if self._index is not None:
            self._index.add_with_ids(vectors, ids)
            return
        self._staging.add_with_ids(vectors, ids)
        if self._staging.ntotal >= self.train_at:
            self._train()

    def remove(self, ids: np.ndarray) -> int:
        present = self._present(np.asarray(ids, np.int64).reshape(-1))
        if not len(present):
            return 0
        self._sorted_ids = None
        target = self._index if self._index is not None else self._staging
        selector = _faiss().IDSelectorArray(present) if self._index is not None else _faiss().IDSelectorBatch(present)
        return int(target.remove_ids(selector))

    def outgrown(self) -> bool:
        """Far more vectors than the cells were trained for: a rebuild would restore the speed/recall."""
        return self._index is not None and nlist_for(len(self)) >= 4 * self.nlist

    # --- searching --------------------------------------------------------------------------------
    @property
    def effective_nprobe(self) -> int:
        """Default: 1/16 of the cells (at least 8), which keeps recall@10 >= 0.95 on clustered data in the
        ANN benchmark while scanning about 6% of the vectors."""
        return min(self.nlist, self.nprobe or max(8, self.nlist // 16))

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self._index is None:
            return self._staging.reconstruct_batch(ids)
        return self._index.reconstruct_batch(ids)

    def _search(self, queries: np.ndarray, k: int, selector) -> SearchResult:
        faiss = _faiss()
        if self._index is None:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
            scores, ids = self._staging.search(queries, k, params=params)
            return self._results(scores, ids)
        params = faiss.SearchParametersIVF(nprobe=self.effective_nprobe)
        if selector is not None:
            params.sel = selector
        scores, ids = self._index.search(queries, k, params=params)
        return self._results(scores, ids)

    def ids(self) -> np.ndarray:
        faiss = _faiss()
        if self._index is None:
            return faiss.vector_to_array(self._staging.id_map).astype(np.int64)
        lists = self._index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(self._index.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    def __len__(self) -> int:
        return int((self._index if self._index is not None else self._staging).ntotal)

    # --- persistence ------------------------------------------------------------------------------
    def _state(self):
        params = {"nprobe": self.nprobe, "train_at": self.train_at, "nlist": self.nlist, "recall": self.recall}
        trained = self._index is not None
        return {"params": params, "trained": trained}, (self._index if trained else self._staging)

    def _restore(self, state: dict, index) -> None:
        if state.get("trained"):
            index.set_direct_map_type(_faiss().DirectMap.Hashtable)  # a no-op when it already has one
            self._index = index
        elif index is not None:
            self._staging = index


class FaissIvfPqIndex(FaissIvfFlatIndex):
    """IVF with product-quantised codes: for a tight memory budget. Scores are approximate too (codes,
    not vectors), so its recall is lower than IVF-Flat's at the same nprobe."""

    kind = "ivf-pq"
    default_train_at = 20_000  # 256 centroids per sub-quantiser want thousands of training points

    def _make(self, nlist: int):
        faiss = _faiss()
        m = next(m for m in (self.dim // 4, self.dim // 2, self.dim) if m and self.dim % m == 0)
        return faiss.IndexIVFPQ(faiss.IndexFlatIP(self.dim), self.dim, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
