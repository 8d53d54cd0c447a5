"""What the approximate FAISS backends (HNSW, IVF) share: filtered search, top-k of a small set, and a
payload that carries the FAISS index together with the backend's own state.

Filtered searches (`allowed`) are exact whenever the allowed set is small (up to `EXACT_FILTER_LIMIT`
vectors): those vectors are reconstructed and scored directly. A graph or inverted-list search with a
selector would miss allowed vectors that lie off its search path, which is exactly when a filter is
narrow. Larger allowed sets use FAISS's selector inside the approximate search.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from anyseek.engine.vectors.base import SearchResult, VectorIndex, as_ids, as_vectors
from anyseek.engine.vectors.faiss_flat import _faiss

EXACT_FILTER_LIMIT = 20_000


def top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> SearchResult:
    out: SearchResult = []
    for row in np.atleast_2d(scores):
        k_row = min(k, len(row))
        top = np.argpartition(-row, k_row - 1)[:k_row] if k_row < len(row) else np.arange(len(row))
        top = top[np.argsort(-row[top], kind="stable")]
        out.append((row[top].astype(np.float32), ids[top].astype(np.int64)))
    return out


def empty(count: int) -> SearchResult:
    return [(np.empty(0, np.float32), np.empty(0, np.int64)) for _ in range(count)]


class ApproximateIndex(VectorIndex):
    """Subclasses hold a FAISS index in `_index` whose search takes external ids, and implement
    `_reconstruct(ids)`, `_search(queries, k, selector)`, `_state()` and `_restore(state, index)`."""

    approximate = True

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self._sorted_ids: np.ndarray | None = None  # cache for membership tests; reset on add/remove

    def _held(self) -> np.ndarray:
        if self._sorted_ids is None:
            self._sorted_ids = np.sort(self.ids())
        return self._sorted_ids

    def _present(self, ids: np.ndarray) -> np.ndarray:
        held = self._held()
        if not len(held) or not len(ids):
            return np.empty(0, np.int64)
        pos = np.minimum(np.searchsorted(held, ids), len(held) - 1)
        present = ids[held[pos] == ids]
        # The searcher passes sorted ids (a route's kind, a filter's set); sorting them again took 170 ms
        # of a 200 ms query at 400k ids, so only ids out of order are sorted and made unique here.
        return present if bool(np.all(present[1:] > present[:-1])) else np.unique(present)

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> SearchResult:
        queries = as_vectors(queries, self.dim)
        if len(self) == 0 or k <= 0:
            return empty(len(queries))
        if allowed is None:
            return self._search(queries, min(k, len(self)), None)
        live = self._present(as_ids(allowed))
        if not len(live):
            return empty(len(queries))
        if len(live) <= EXACT_FILTER_LIMIT:
            return top_k(queries @ self._reconstruct(live).T, live, k)
        return self._search(queries, min(k, len(live)), _faiss().IDSelectorBatch(live))

    def _results(self, scores: np.ndarray, ids: np.ndarray) -> SearchResult:
        return [self._trim(s, i) for s, i in zip(scores, ids)]

    # --- persistence: the FAISS bytes plus a small JSON state, in one npz -------------------------
    def to_bytes(self) -> memoryview:
        state, index = self._state()
        buffer = io.BytesIO()
        faiss_bytes = _faiss().serialize_index(index) if index is not None else np.empty(0, np.uint8)
        np.savez(buffer, state=np.frombuffer(json.dumps(state).encode(), np.uint8), index=faiss_bytes)
        return buffer.getbuffer()  # a view, not one more copy of a payload that can be gigabytes

    @classmethod
    def from_bytes(cls, dim: int, payload: bytes):
        try:
            with np.load(io.BytesIO(payload)) as data:
                state = json.loads(data["state"].tobytes())
                raw = data["index"]
                index = _faiss().deserialize_index(raw) if len(raw) else None
        except (OSError, EOFError, KeyError, ValueError, RuntimeError, zipfile.BadZipFile) as exc:
            raise ValueError(f"damaged {cls.kind} index payload: {exc}") from None
        if index is not None and index.d != dim:
            raise ValueError(f"stored index has dimension {index.d}, expected {dim}")
        out = cls(dim, **state.get("params", {}))
        out._restore(state, index)
        return out

    def _check_add(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        return ids, vectors
