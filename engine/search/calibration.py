"""One scale for every route: a cosine becomes "how far above what unrelated targets reach", per query.

Raw cosines of different spaces, and of one space across modalities, are not comparable: a real CLIP
puts every text near every other text (cosines ~0.6) and far from every image (~0.25, the modality gap),
and MiniLM's cosines spread differently again. So each query's cosines on a route are measured against
that route's *null*: the cosines the same query reaches with targets unrelated to it.

The null does not depend on the index's size (docs/scores.md has the method, its figures and limits):
- its reference part is a fixed set of targets from no user's folder (generated passages and pictures,
  reference.py), embedded once per model and cached: a ten-file folder and a million-file index measure
  a query against the same unrelated targets;
- the index's own targets (a random sample of up to SAMPLE) refine its centre and spread as the index
  grows: they weigh N / (N + REFERENCE_WEIGHT) of it, N the route's target count, so a small folder
  is measured against the reference and a large one mostly against itself (its own kind of targets:
  real photos sit closer to every caption than generated pictures do);
- the bar is the reference's own tail: the cosine that the top TAIL of the unrelated reference targets
  reach for this query. The index's targets do not set it: a user's folder is about a few things, and the
  best of its targets for a query is often a match, not chance.

All of it on Fisher's z = atanh(cosine), the variance-stabilising transform of a correlation: cosines
near 1 carry far more evidence than the same step lower down (a photo at 0.99 with a query photo is the
same picture; 0.60 against 0.59 means little). A candidate's evidence is its distance from the bar, in
units of the null's own upper tail above it: the span from the closest 10% to the closest 1% of the
reference, scaled to what that span is on a normal null (never less than the bulk's robust spread), and
in robust spreads below it. A heavy-tailed null (MiniLM's: its top 1% sits 3-5 spreads above the centre,
not 2.3) thus gives less evidence for the same excess than a light-tailed one; 0 is "as close as the
closest 1% of unrelated targets". A route with no reference set (encoders that cannot say which model
they are, as tests' fixed vectors) is measured against the index sample alone, with a normal null's bar.

The score is a monotone stand-in for the probability of relevance: logistic((evidence - E_MID) / E_SCALE).
Anchors (docs/scores.md): at the bar, 0.18; 0.5 at E_MID = 1.5 spreads above it ("clearly related": on a
normal null, about 1 unrelated target in 15,000 gets there); a near-duplicate (cosine >= 0.99) scores
above 0.99; the median unrelated target below 0.02. Lexical evidence joins on the same scale
(lexical.lexical_evidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from anyseek.engine.records import Space
from anyseek.engine.search.reference import References
from anyseek.engine.search.routing import Route
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog

SAMPLE = 512
REFERENCE_WEIGHT = 1000  # the index's targets weigh N / (N + this) of the null's centre and spread
TAIL = 0.01  # the bar: the cosine the closest 1% of unrelated reference targets reach
SHOULDER = 0.10  # the tail's unit is measured from the closest 10% to the bar
TAIL_SPREADS = NormalDist().inv_cdf(1 - TAIL) - NormalDist().inv_cdf(1 - SHOULDER)  # that span on a normal null
NORMAL_BAR = NormalDist().inv_cdf(1 - TAIL)  # the bar without a reference set: a normal null's top 1%
MIN_SPREAD = 1e-3  # a route whose null is all one vector (a tiny index) still divides by something
MAX_COSINE = 0.9999  # atanh(1) is infinite; 0.9999 is already far past any ordinary bar
# A target this close to the query is the query's own content (the same file, a copy, a re-encode: decode
# noise alone moves a cosine by ~1e-5). It is a certain match whatever the null: a model that also puts
# some unrelated reference pictures at 0.997 (noise and fine texture look alike to a small model) has a
# bar so high that the copy would otherwise score as a coin toss. Measured: tests/test_scores.py.
SAME_CONTENT = 0.9999
E_MID, E_SCALE = 1.5, 1.0
SAME_CONTENT_EVIDENCE = E_MID + 5.0 * E_SCALE  # scores 0.993
# A chunk no dense route scored (words alone found it, and its kind of target has no route in this query)
# counts as the median of chance: about this far below the bar.
UNSCORED = -3.0


def evidence_score(evidence: float) -> float:
    return 1.0 / (1.0 + math.exp(-(evidence - E_MID) / E_SCALE))


def fisher(cosines):
    return np.arctanh(np.clip(cosines, -MAX_COSINE, MAX_COSINE))


@dataclass(frozen=True, slots=True)
class Null:
    """A query's chance level on one route, on Fisher's scale: the centre and spread of its cosines with
    unrelated targets, the bar that the closest of them reach, and the unit of evidence above the bar
    (the spread its own upper tail implies: wider than `spread` where the tail is heavier than normal)."""

    median: float
    spread: float
    bar: float  # atanh of the bar's cosine
    unit: float

    def evidence(self, cosine: float) -> float:
        excess = float(fisher(cosine)) - self.bar
        evidence = excess / (self.unit if excess > 0 else self.spread)
        return max(evidence, SAME_CONTENT_EVIDENCE) if cosine >= SAME_CONTENT else evidence

    def widened(self, spread: float) -> Null:
        """The same null measured with a wider spread (routes through one space share the widest)."""
        return Null(self.median, spread, self.bar, max(self.unit, spread))


def null_of(reference: np.ndarray | None, sample: np.ndarray, targets: int) -> Null:
    """The null of one query on one route, from its cosines with the reference set and with a sample of the
    route's `targets` indexed targets (both possibly empty)."""
    sample = fisher(sample)
    if reference is None or not len(reference):
        if not len(sample):
            return Null(0.0, 1.0, NORMAL_BAR, 1.0)
        median, spread = _centre_spread(sample, np.ones(len(sample)))
        return Null(median, spread, median + NORMAL_BAR * spread, spread)  # the index's own tail holds matches
    reference = fisher(reference)
    share = targets / (targets + REFERENCE_WEIGHT) if len(sample) else 0.0
    values = np.concatenate([reference, sample])
    weights = np.concatenate(
        [np.full(len(reference), (1 - share) / len(reference)), np.full(len(sample), share / max(len(sample), 1))]
    )
    median, spread = _centre_spread(values, weights)
    ones = np.ones(len(reference))
    bar, shoulder = _quantile(reference, ones, 1 - TAIL), _quantile(reference, ones, 1 - SHOULDER)
    return Null(median, spread, bar, max((bar - shoulder) / TAIL_SPREADS, spread))


def _quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][min(int(np.searchsorted(cumulative, q * cumulative[-1])), len(values) - 1)])


def _centre_spread(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    median = _quantile(values, weights, 0.5)
    mad = _quantile(np.abs(values - median), weights, 0.5)
    return median, max(1.4826 * mad, MIN_SPREAD)


class Calibration:
    """Per route: which ids it may return (when its space also holds the other class of targets), the
    sample of its targets and its reference set its cosines are measured against."""

    def __init__(
        self, store: Store, catalog: VectorCatalog, text_spaces: frozenset[Space], references: References | None = None
    ) -> None:
        self.store, self.catalog, self.text_spaces = store, catalog, text_spaces
        self.references = references
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
            # sorted once here, so the vector index need not sort them for every query (approximate.py)
            self._ids[route] = np.unique(self.store.chunk_ids_of_kinds(route.space, route.kinds)) if mixed else None
        return self._ids[route]

    def null(self, route: Route, query: np.ndarray) -> Null:
        """This query's chance level on the route."""
        targets, sample = self._sample(route)
        reference = self.references.vectors(route, len(query)) if self.references is not None else None
        return null_of(reference @ query if reference is not None else None, sample @ query, targets)

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
