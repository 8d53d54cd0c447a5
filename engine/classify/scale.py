"""The engine's calibrated scale (engine/search/calibration.py), as classification and alignment use it.

No second scale: a label's score for a part is the score a search for that label's text would give that
part, from the same null (the query's cosines with unrelated targets on the part's route) and the same map
from evidence to [0, 1]. The null's sample is the index's own targets on that route, as in search, when
the index holds enough of them; on a fresh or small index it is the records being classified (a label
measured against the batch's pictures, say), through the same formula. Alignment measures a pair of parts
against mismatched pairs of the same file the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from anyseek.engine.search.calibration import Calibration, Null, evidence_score, null_of
from anyseek.engine.search.routing import Route

# A route with fewer targets in the index measures a label against the records at hand: a handful of
# cosines gives no median and spread worth the name.
MIN_INDEX_TARGETS = 50
MAX_LOGIT = 30.0  # a score or probability of exactly 0 (float rounding) still has a finite logarithm


def sample_null(cosines: np.ndarray) -> Null:
    """A query's null from its cosines with a sample of unrelated targets (search's formula, with no
    reference set: the bar is a normal null's top 1%)."""
    return null_of(None, np.asarray(cosines, np.float64), len(cosines))


def score(null: Null, cosine: float) -> float:
    """A cosine on the calibrated scale, in [0, 1]."""
    return evidence_score(null.evidence(cosine))


def log_score(value: float) -> float:
    """The logarithm of a score, never -inf (a score of exactly 0 is float rounding)."""
    return math.log(max(value, math.exp(-MAX_LOGIT)))


def index_targets(calibration: Calibration, route: Route) -> int:
    if route.space not in calibration.catalog.dims:
        return 0
    ids = calibration.selector(route)
    return len(ids) if ids is not None else len(calibration.catalog.index(route.space, sync=False))


class Scale:
    """Nulls of query vectors (labels, or a part of a record) on a route."""

    def __init__(self, calibration: Calibration | None) -> None:
        self.calibration = calibration
        self._from_index: dict[Route, bool] = {}

    def uses_index(self, route: Route) -> bool:
        if route not in self._from_index:
            enough = self.calibration is not None and index_targets(self.calibration, route) >= MIN_INDEX_TARGETS
            self._from_index[route] = enough
        return self._from_index[route]

    def nulls(self, route: Route, queries: np.ndarray, batch: np.ndarray) -> list[Null]:
        """One null per query vector (rows of `queries`): the index's when it has enough targets on the
        route, else the query's cosines with `batch` (the targets at hand, rows)."""
        if self.uses_index(route):
            return [self.calibration.null(route, query) for query in queries]  # type: ignore[union-attr]
        cosines = batch @ queries.T if len(batch) else np.zeros((0, len(queries)), np.float32)
        return [sample_null(cosines[:, i]) for i in range(len(queries))]


def widest_per_space(nulls: Mapping[Route, Sequence[Null]]) -> dict[Route, list[Null]]:
    """Routes through one space share the widest spread, query by query, as in search (Searcher._nulls):
    the modality gap shifts a space's cosines between kinds of targets; it does not make one kind's small
    differences mean more."""
    out: dict[Route, list[Null]] = {}
    for route, route_nulls in nulls.items():
        same_space = [ns for r, ns in nulls.items() if r.space is route.space]
        widest = [max(ns[i].spread for ns in same_space) for i in range(len(route_nulls))]
        out[route] = [n.widened(w) for n, w in zip(route_nulls, widest, strict=True)]
    return out
