"""The target's side of a cross-modal score: how far a photo stands out for this caption among the captions
it could have been asked with (or a passage for this photo among the pictures).

calibration.py measures a query against unrelated *targets*. Across modalities that view alone is weak
where the joint model is coarse: the demo model sees colour first, so every generated blue picture (a
gradient, a fractal, grain) sits within a few hundredths of "a blue square", the bar rises to the match's
level, and the photo that shows a blue square gets ~0.6 spreads of evidence (a score of 0.28, below a
memo that merely says "square"). Seen from the photo, the same cosine is far out: the photo is near that
caption and near few of the 1,200 generated reference passages. This is the query-bank normalisation of
cross-modal retrieval (QB-Norm, Bogolin et al., CVPR 2022; CSLS, Conneau et al. 2018): a hub, a target
close to every query, stands out for none of them, and a true match stands out from both sides.

Each target's null is measured exactly as a query's is (calibration.null_of: Fisher's z, the reference's
own 1% bar, tail units), against the reference set of the *query's* modality: the joint model's generated
passages for a text query, its generated pictures for a photo used as the query. A hit's evidence is the
query's view lifted by the target's (`lifted`): never above the stronger of the two views. Under the null
each view passes a bar about as often as the other, so this at most doubles how often an unrelated target
reaches a score (docs/scores.md: a score of 0.5 is about 1 unrelated target in 7,500 on a cross-modal
route, against 1 in 15,000 within one).

A target's null does not depend on the query, so it is computed once per target and kept until the index
changes (three floats per target). Measured on the mixed benchmark index (200 photos, 637 passages): a
caption query takes 16.6 ms with it and 16.7 ms without once its targets are known, 28 ms when its ~50
photos are all new (their vectors read from SQLite, 1,200 cosines and a sort each).
"""

from __future__ import annotations

import math

import numpy as np

from anyseek.engine.records import Space
from anyseek.engine.search.calibration import MIN_SPREAD, SHOULDER, TAIL, TAIL_SPREADS, fisher
from anyseek.engine.search.reference import JOINT_IMAGE, JOINT_TEXT, References
from anyseek.engine.search.routing import VISUAL, Route
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog

TEXT_QUERY, IMAGE_QUERY = "text", "image"
MAX_KEPT = 200_000  # targets' nulls kept at once (~40 MB): a long-lived server forgets them all past it
NO_VECTOR = -1e9  # a target whose stored vector is gone (removed since the search began) gains nothing


def bank_of(route: Route, modality: str | None) -> str | None:
    """The reference kind that stands for the queries a target of this route could have been asked with,
    or None when the route is not cross-modal for this query (within one modality, the query's own view
    is the whole story: a photo that finds itself, a passage that holds the words)."""
    if route.space is not Space.JOINT:
        return None
    if modality == TEXT_QUERY and route.kinds == VISUAL:
        return JOINT_TEXT
    if modality == IMAGE_QUERY and route.kinds != VISUAL:
        return JOINT_IMAGE
    return None


def rows_null(cosines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of cosines with a reference set: the bar, the unit above it and the spread below it, as
    calibration.null_of measures one query against the reference alone (equal weights)."""
    z = np.sort(fisher(cosines), axis=1)
    count = z.shape[1]

    def at(q: float) -> int:
        return min(max(math.ceil(q * count) - 1, 0), count - 1)

    median = z[:, at(0.5)]
    mad = np.sort(np.abs(z - median[:, None]), axis=1)[:, at(0.5)]
    spread = np.maximum(1.4826 * mad, MIN_SPREAD)
    bar = z[:, at(1 - TAIL)]
    unit = np.maximum((bar - z[:, at(1 - SHOULDER)]) / TAIL_SPREADS, spread)
    return bar, unit, spread


def lifted(evidence: np.ndarray, own: np.ndarray, cosines) -> np.ndarray:
    """The query's view of a route's targets, lifted by their own: each target gains what its own view
    adds over the query's, but never more than any target closer to the query gains.

    Taking the stronger view outright would re-rank the route by the targets' views, which tell near
    misses apart less well than the query's (measured: a relevant photo first 0.86 instead of 0.91 on the
    mixed index, where a photo of "a blue cross" stood out for "a blue cross with an orange star" as much
    as the right one). Bounding each lift by the closer targets' keeps the route's order (its cosines')
    and lifts a match only as far as every target above it also stands out: a hub at the top, close to
    every caption, lifts nothing below it."""
    order = np.argsort(-np.asarray(cosines, np.float64), kind="stable")
    gains = np.maximum(np.minimum.accumulate((own - evidence)[order]), 0.0)
    lift = np.empty(len(order))
    lift[order] = gains
    return evidence + lift


class TargetSide:
    """Targets' own nulls, per reference kind, kept until the index's revision changes."""

    def __init__(self, store: Store, catalog: VectorCatalog, references: References) -> None:
        self.store, self.catalog, self.references = store, catalog, references
        self._revision: int | None = None
        self._nulls: dict[tuple[str, int], tuple[float, float, float]] = {}

    def refresh(self, revision: int) -> None:
        if revision != self._revision:
            self._nulls.clear()
            self._revision = revision

    def evidence(self, route: Route, modality: str | None, ids, cosines) -> np.ndarray | None:
        """Each target's evidence for this cosine, seen from the target; None where the route is not
        cross-modal for the query or the models have no reference set."""
        kind = bank_of(route, modality)
        if kind is None or not len(ids):
            return None
        dim = self.catalog.dims[route.space]
        bank = self.references.vectors_of(kind, dim)
        if bank is None:
            return None
        self._measure(kind, route.space, dim, bank, [int(i) for i in ids])
        nulls = np.asarray([self._nulls.get((kind, int(i)), (math.inf, 1.0, 1.0)) for i in ids], np.float64)
        excess = fisher(np.asarray(cosines, np.float64)) - nulls[:, 0]
        evidence = excess / np.where(excess > 0, nulls[:, 1], nulls[:, 2])
        return np.where(np.isfinite(evidence), evidence, NO_VECTOR)

    def _measure(self, kind: str, space: Space, dim: int, bank: np.ndarray, ids: list[int]) -> None:
        missing = np.asarray([i for i in ids if (kind, i) not in self._nulls], np.int64)
        if not len(missing):
            return
        if len(self._nulls) + len(missing) > MAX_KEPT:
            self._nulls.clear()
        stored, vectors = self.store.vectors(space, missing, dim)
        if not len(stored):
            return
        bars, units, spreads = rows_null(vectors.astype(np.float32) @ bank.T)
        for chunk_id, bar, unit, spread in zip(stored.tolist(), bars.tolist(), units.tolist(), spreads.tolist()):
            self._nulls[(kind, chunk_id)] = (bar, unit, spread)
