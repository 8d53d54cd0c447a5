"""The order of a result list: by relevance (the searcher's), or by capture date.

Sorting by date orders the hits that pass `min_score` by when they were taken, newest first (a photo
library's timeline order); hits without a capture date follow, by relevance. Which hits take part: with a
`min_score`, every hit above it (up to DATE_POOL, the most relevant first); without one, the k most relevant,
since nothing else says where relevance ends, and sorting a whole index by date would list unrelated files.
"""

from __future__ import annotations

import dataclasses

from anyseek.engine.records import SearchResults, Sort

DATE_POOL = 1000


def pool_size(sort: Sort, k: int, min_score: float | None) -> int:
    """How many hits to ask the searcher for."""
    return max(k, DATE_POOL) if sort is Sort.DATE and min_score is not None else k


def by_date(results: SearchResults, k: int) -> SearchResults:
    dated = sorted((h for h in results.hits if h.captured_at is not None), key=lambda h: -h.captured_at)
    undated = [h for h in results.hits if h.captured_at is None]
    return dataclasses.replace(results, hits=tuple((dated + undated)[:k]))
