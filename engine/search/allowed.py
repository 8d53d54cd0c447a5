"""The chunk ids a search's filters allow, kept per index revision.

A filter (a modality, a folder, capture dates) is applied as a set of chunk ids that the vector search
may return. Read from SQLite on every search, that set cost more than the search itself on a large index:
a `--modality image` search over 200,000 chunks (an import of 100k clip-retrieval rows) spent 330 ms
fetching 100k ids and 20 ms per route intersecting them with the route's own kind, against 45 ms in
FAISS. A user (the web page, a script) repeats the same few filters, and the ids change only when the
index does, so they are kept until the revision moves, at most a few filters at a time.
"""

from __future__ import annotations

import numpy as np

from anyseek.engine.records import Filters
from anyseek.engine.store.store import Store

KEPT = 8  # filters remembered at once (each up to 8 bytes per chunk of the index)


class AllowedIds:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._revision: int | None = None
        self._ids: dict[tuple, np.ndarray] = {}
        self._narrowed: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def refresh(self, revision: int) -> None:
        if revision != self._revision:
            self._ids.clear()
            self._narrowed.clear()
            self._revision = revision

    def of(self, filters: Filters) -> np.ndarray | None:
        """The ids the filters allow (sorted, unique), or None when they allow every chunk."""
        if not filters.restricts_ids:
            return None
        key = (filters.modalities, filters.path_prefix, filters.captured_after, filters.captured_before)
        ids = self._ids.get(key)  # one lookup: a concurrent search may clear the dict in between
        if ids is None:
            ids = np.unique(self.store.allowed_chunk_ids(*key))
            if len(self._ids) >= KEPT:
                self._ids.clear()
            self._ids[key] = ids
        return ids

    def narrowed(self, route, selector: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """`selector` (a route's kind of chunks) within `allowed`, kept while both are the same arrays."""
        key = (route, id(selector), id(allowed))
        kept = self._narrowed.get(key)
        if kept is not None and kept[0] is selector and kept[1] is allowed:
            return kept[2]
        if len(self._narrowed) >= KEPT * 2:
            self._narrowed.clear()
        both = np.intersect1d(selector, allowed, assume_unique=True)
        self._narrowed[key] = (selector, allowed, both)
        return both
