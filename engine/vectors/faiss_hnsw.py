"""FAISS HNSW backend: a navigable small-world graph over the full float32 vectors, inner product.

Fast queries with high recall and no training; costs the vectors plus about 2*M links per vector, and
building is slower than IVF. `ef_search` trades speed for recall at query time.

HNSW cannot delete a node from its graph. Removes are tombstones: the ids are excluded from every search
with an id selector (and from ids() and len()), and once tombstones exceed `COMPACT_FRACTION` of the
nodes, the graph is rebuilt from the live vectors (reconstructed from the index itself, no model). Ids
stay unique: re-adding a tombstoned id compacts first.
"""

from __future__ import annotations

import numpy as np

from anyseek.engine.vectors.approximate import ApproximateIndex
from anyseek.engine.vectors.base import SearchResult
from anyseek.engine.vectors.faiss_flat import _faiss

COMPACT_FRACTION = 0.2


class FaissHnswIndex(ApproximateIndex):
    kind = "hnsw"

    def __init__(self, dim: int, m: int = 32, ef_construction: int = 40, ef_search: int = 64) -> None:
        super().__init__(dim)
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self._index = self._new()
        self._tombstones = np.empty(0, np.int64)  # sorted

    def _new(self):
        faiss = _faiss()
        graph = faiss.IndexHNSWFlat(self.dim, self.m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = self.ef_construction
        return faiss.IndexIDMap2(graph)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check_add(ids, vectors)
        if not len(ids):
            return
        if len(self._tombstones) and np.isin(ids, self._tombstones).any():
            self._compact()
        self._index.add_with_ids(vectors, ids)
        self._sorted_ids = None

    def remove(self, ids: np.ndarray) -> int:
        present = self._present(np.asarray(ids, np.int64).reshape(-1))
        if not len(present):
            return 0
        self._tombstones = np.union1d(self._tombstones, present)
        self._sorted_ids = None
        if len(self._tombstones) > COMPACT_FRACTION * self._index.ntotal:
            self._compact()
        return len(present)

    def _compact(self) -> None:
        live = self.ids()
        vectors = self._reconstruct(live) if len(live) else np.empty((0, self.dim), np.float32)
        self._index, self._tombstones, self._sorted_ids = self._new(), np.empty(0, np.int64), None
        if len(live):
            self._index.add_with_ids(vectors, live)

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        return self._index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def _search(self, queries: np.ndarray, k: int, selector) -> SearchResult:
        faiss = _faiss()
        if selector is None and len(self._tombstones):
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(self._tombstones))
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        if selector is not None:
            params.sel = selector
        scores, ids = self._index.search(queries, k, params=params)
        return self._results(scores, ids)

    def ids(self) -> np.ndarray:
        held = _faiss().vector_to_array(self._index.id_map).astype(np.int64)
        if len(self._tombstones):
            held = held[~np.isin(held, self._tombstones)]
        return held

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._tombstones)

    def _state(self):
        params = {"m": self.m, "ef_construction": self.ef_construction, "ef_search": self.ef_search}
        return {"params": params, "tombstones": self._tombstones.tolist()}, self._index

    def _restore(self, state: dict, index) -> None:
        self._index = index
        self._tombstones = np.asarray(state.get("tombstones", []), np.int64)
