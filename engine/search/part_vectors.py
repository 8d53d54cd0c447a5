"""How a record's parts join: the vectors of early fusion and the score joins of late fusion, shared by the
indexer (which stores each record's fused vector) and the search (which scores records, search/record_fusion.py).

- A part's vector in a space is the normalised mean of its chunks' vectors there (a long description is
  several passages, a voice note several speech windows): each part then counts once, whatever its length.
- Early fusion: a record's vector in a space is the normalised weighted mean of its parts' vectors.
- Late fusion: each part is scored on its own route (calibrated, search/calibration.py), and the part
  scores are joined into a score on the same [0, 1] scale as every other hit's:
  - `sum`, the probabilistic sum 1 - prod((1 - s) ** w): a record matches when any of its parts does, and
    better when several do. One part that matches exactly makes a strong record (a ticket found by its
    screenshot), and two parts that each carry half of the query (a white circle's picture and a note
    saying "red", for "a red circle") add up.
  - `max`: the best part alone (weights only leave parts out).
  - `mean`: the weighted mean; a record is as good as its parts on average, so the parts a query does not
    speak to pull it down (a screenshot's ticket ranks below a ticket with fewer parts).

A field the weights do not name weighs 1; a weight of 0 leaves the field out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from anyseek.engine.errors import QueryError
from anyseek.engine.request import parse_weights

FUSIONS = ("early", "late")
JOINS = ("sum", "max", "mean")


@dataclass(frozen=True, slots=True)
class RecordFusion:
    mode: str = "late"
    join: str = "sum"
    weights: Mapping[str, float] = field(default_factory=dict)

    def weight(self, name: str | None) -> float:
        return 1.0 if name is None else float(self.weights.get(name, 1.0))


def record_fusion(mode: str | None, join: str | None, weights: object, settings) -> RecordFusion:
    """A query's fusion: what it asks for, else the settings'. Bad values raise QueryError."""
    mode = mode or settings.record_fusion
    join = join or settings.record_join
    if mode not in FUSIONS:
        raise QueryError(f"fusion must be one of {', '.join(FUSIONS)}, got {mode!r}")
    if join not in JOINS:
        raise QueryError(f"the join of part scores must be one of {', '.join(JOINS)}, got {join!r}")
    merged = parse_weights(settings.record_weights or "")
    if weights:
        merged |= parse_weights(weights)
    return RecordFusion(mode, join, merged)


def unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 1e-6 else None


def part_vector(chunk_vectors: Iterable[np.ndarray]) -> np.ndarray | None:
    """The part's direction in one space: the normalised mean of its chunks' vectors."""
    stacked = [np.asarray(v, np.float32) for v in chunk_vectors]
    return unit(np.mean(stacked, axis=0)) if stacked else None


def fuse(part_vectors: Mapping[str, np.ndarray], fusion: RecordFusion) -> np.ndarray | None:
    """Early fusion in one space: the normalised weighted mean of the parts' vectors (None when every
    part weighs 0)."""
    total = None
    for name, vector in part_vectors.items():
        weight = fusion.weight(name)
        if weight > 0:
            total = weight * vector if total is None else total + weight * vector
    return None if total is None else unit(total)


def join_scores(scores: Mapping[str, float], fusion: RecordFusion) -> float | None:
    """Late fusion: the parts' calibrated scores joined into the record's. Parts no route of the query
    reaches are not in `scores`: they neither help nor hurt."""
    weighted = [(fusion.weight(name), score) for name, score in scores.items() if fusion.weight(name) > 0]
    if not weighted:
        return None
    if fusion.join == "max":
        return max(score for _, score in weighted)
    if fusion.join == "mean":
        return sum(w * score for w, score in weighted) / sum(w for w, _ in weighted)
    missed = 1.0
    for weight, score in weighted:
        missed *= (1.0 - min(max(score, 0.0), 1.0)) ** weight
    return 1.0 - missed
