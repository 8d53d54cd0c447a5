"""One scale for every route: a cosine becomes "how far above chance", measured per query.

Raw cosines of different spaces, and of one space across modalities, are not comparable: a real CLIP
puts every text near every other text (cosines ~0.6) and far from every image (~0.25, the modality gap),
and MiniLM's cosines spread differently again. So each route keeps a random sample of its own targets'
vectors (up to SAMPLE per route, drawn again when the route's target count moves by a tenth); a query's
cosines against that sample are the null distribution of *this* query on *these* targets, and a
candidate's evidence is its robust z-score against it: (cosine - median) / (1.4826 * MAD).

A relevant photo then stands out from the photos as far as a relevant passage stands out from the
passages, whatever the offset between the two. (Routes through one space share the widest spread of the
two: see Searcher._nulls.)

A z-score alone still favours the route with more targets: the best of 600 unrelated passages sits ~3
standard deviations above their median by chance alone, the best of 200 unrelated photos less far. So
the evidence is the z-score minus the route's *ceiling*, the z that the best of its N targets reaches by
chance (the normal quantile 1 - 1/N): a passage must beat what the best unrelated passage would score,
a photo what the best unrelated photo would. Within one route this is a constant shift, so it changes no
ranking of one kind of target; it only decides how photos and passages interleave. Evidence maps to a
score in [0, 1] by a logistic centred at Z_MID standard deviations above the ceiling (score 0.5) with
slope 1/Z_SCALE: the best chance hit of an unrelated query scores ~0.27.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from anyseek.engine.records import Space
from anyseek.engine.search.routing import Route
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog

SAMPLE = 512
MIN_SPREAD = 1e-3  # a route whose sample is all one vector (a tiny index) still divides by something
Z_MID, Z_SCALE = 1.0, 1.0
CEILING_FLOOR = 100
# A chunk no dense route scored (words alone found it, and its kind of target has no route in this query)
# counts as the median of chance: about this far below a ceiling of some thousand targets.
UNSCORED = -3.0
BM25_HALF = 10.0  # lexical mode: a BM25 of 10 (several rare words matched) scores 0.5


def evidence_score(evidence: float) -> float:
    return 1.0 / (1.0 + math.exp(-(evidence - Z_MID) / Z_SCALE))


def ceiling(targets: int) -> float:
    """The z-score the best of `targets` unrelated targets reaches by chance (normal quantile 1 - 1/N),
    counting at least CEILING_FLOOR targets: on a small index a route's median and spread come from a few
    dozen cosines that include its matches, too rough for the ceilings' difference (a fraction of a
    standard deviation) to mean anything, and there one exact match must not lose to a route that merely
    has fewer targets."""
    return NormalDist().inv_cdf(1.0 - 1.0 / max(targets, CEILING_FLOOR))


@dataclass(frozen=True, slots=True)
class Null:
    """A query's chance level on one route: its median cosine, the spread of its cosines, and the
    ceiling (in spreads) that the best unrelated target reaches."""

    median: float
    spread: float
    ceiling: float

    def evidence(self, cosine: float) -> float:
        return (cosine - self.median) / self.spread - self.ceiling


def bm25_score(bm25: float) -> float:
    return bm25 / (bm25 + BM25_HALF)


class Calibration:
    """Per route: which ids it may return (when its space also holds the other class of targets) and the
    sample its cosines are measured against."""

    def __init__(self, store: Store, catalog: VectorCatalog, text_spaces: frozenset[Space]) -> None:
        self.store, self.catalog, self.text_spaces = store, catalog, text_spaces
        self._revision: int | None = None
        self._ids: dict[Route, np.ndarray | None] = {}
        self._samples: dict[Route, tuple[int, np.ndarray]] = {}

    def refresh(self, revision: int) -> None:
        if revision != self._revision:
            self._ids.clear()
            self._revision = revision

    def selector(self, route: Route) -> np.ndarray | None:
        """The route's target ids, or None when its space holds no other kind of chunk."""
        if route not in self._ids:
            # records' fused vectors (ChunkKind.RECORD) share a space with its other chunks, and so do texts
            # and pictures in the joint space when it holds texts
            mixed = (route.space is Space.JOINT and Space.JOINT in self.text_spaces) or self.store.has_records()
            self._ids[route] = self.store.chunk_ids_of_kinds(route.space, route.kinds) if mixed else None
        return self._ids[route]

    def null(self, route: Route, query: np.ndarray) -> Null:
        """This query's chance level against the route's targets."""
        targets, sample = self._sample(route)
        if not len(sample):
            return Null(0.0, 1.0, 0.0)
        scores = sample @ query
        median = float(np.median(scores))
        spread = 1.4826 * float(np.median(np.abs(scores - median)))
        return Null(median, max(spread, MIN_SPREAD), ceiling(targets))

    def _sample(self, route: Route) -> tuple[int, np.ndarray]:
        """The route's target count and a sample of its targets' vectors."""
        ids = self.selector(route)
        if ids is None:
            ids = self.catalog.index(route.space, sync=False).ids()
        count = len(ids)
        cached = self._samples.get(route)
        if cached is not None and abs(cached[0] - count) <= cached[0] / 10:
            return count, cached[1]
        chosen = np.random.default_rng(0).choice(np.sort(ids), min(SAMPLE, count), replace=False) if count else ids
        _, vectors = self.store.vectors(route.space, chosen, self.catalog.dims[route.space])
        self._samples[route] = (count, vectors)
        return count, vectors
