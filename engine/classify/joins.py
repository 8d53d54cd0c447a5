"""How classification joins a record's parts: the joins of search (search/part_vectors.join_scores), taken
in the log domain.

Search asks "does this record match?", and one strongly matching part may carry a record: its join is the
probabilistic sum of the parts' calibrated scores, a soft "or". Classification asks "which label fits this
record?", and a label must fit every part: a white circle's picture and a note saying "red" fit "a red
circle", not "a red heart" (which the note fits as well and the picture does not). So its joins work on
the logarithms of the same calibrated scores (or of each part's label probabilities, few-shot):

- sum: the weighted mean of the parts' log-scores (their weighted geometric mean: a product of experts);
- mean: the same, every part weighing alike;
- max: the best part's, as in search.

bench/records.py's demo world, where only both parts together know the label, measures it against each
part alone (docs/record-collections.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anyseek.engine.search.part_vectors import RecordFusion


def join_log_scores(parts: Sequence[tuple[str, np.ndarray]], fusion: RecordFusion) -> np.ndarray | None:
    """The record's log-score per label from its parts' (field, log-scores per label); None when every part
    weighs 0."""
    weighted = [(fusion.weight(name), logs) for name, logs in parts if fusion.weight(name) > 0]
    if not weighted:
        return None
    stacked = np.stack([logs for _, logs in weighted])
    if fusion.join == "max":
        return stacked.max(axis=0)
    if fusion.join == "mean":
        return stacked.mean(axis=0)
    weights = np.asarray([w for w, _ in weighted])
    return weights @ stacked / weights.sum()
