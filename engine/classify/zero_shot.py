"""Zero-shot classification: each label is embedded in every space, as a text query would be, and scored
against each record the way search scores a record for that query (search/record_fusion.py).

- Late fusion: each part is scored on its own route (a picture on the joint space's visual route, a text
  or a transcript on the text space), calibrated against the label's null on that route (classify/scale.py);
  the part scores are joined by the fusion's join (weighted sum, max or mean) into the record's score for
  the label, in the log domain (classify/joins.py: a label must fit every part).
- Early fusion: the record's fused vector (the weighted mean of its parts' vectors) is scored on the
  records' own route: in the text space when every part is there, else in the joint space.

A label's score is its calibrated score in [0, 1]; its logarithm is the logit that classify/probability.py
turns into probabilities over the labels. Calibrating against each label's own null matters: a vague label
("a shape") sits close to every record, and its raw cosines would win everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anyseek.engine.classify.joins import join_log_scores
from anyseek.engine.classify.parts import RecordVectors
from anyseek.engine.classify.scale import Scale, log_score, score, widest_per_space
from anyseek.engine.index_models import SPACE_OF_ROLE
from anyseek.engine.records import Space
from anyseek.engine.search.calibration import Null
from anyseek.engine.search.part_vectors import RecordFusion, fuse
from anyseek.engine.search.routing import FUSED, Mode, Route, plan


@dataclass(frozen=True, slots=True)
class LabelVectors:
    names: tuple[str, ...]
    spaces: dict[Space, np.ndarray]  # one row per label


def embed_labels(names: Sequence[str], encoders, spaces: set[Space]) -> LabelVectors:
    """The labels as text queries, in each of `spaces` (the spaces the records' parts are in)."""
    vectors = {}
    for role, space in SPACE_OF_ROLE.items():
        if space in spaces:
            vectors[space] = np.asarray(encoders.for_text_query(role).encode_texts(list(names)), np.float32)
    return LabelVectors(tuple(names), vectors)


def zero_shot_logits(
    records: Sequence[RecordVectors],
    labels: LabelVectors,
    fusion: RecordFusion,
    text_spaces: frozenset[Space],
    scale: Scale,
) -> np.ndarray:
    """One row of log-scores per record, one column per label; a row of NaN for a record that no label
    reaches (none of its weighted parts is in a space the labels are in)."""
    if fusion.mode == "early":
        return _early(records, labels, fusion, scale)
    return _late(records, labels, fusion, text_spaces, scale)


def _late(records, labels: LabelVectors, fusion: RecordFusion, text_spaces, scale: Scale) -> np.ndarray:
    spaces = set(labels.spaces)
    routes = plan(spaces, spaces, text_spaces, Mode.DENSE)
    weighted = [[p for p in r.parts if fusion.weight(p.field) > 0] for r in records]
    batch = {route: [p.routes[route] for parts in weighted for p in parts if route in p.routes] for route in routes}
    nulls = widest_per_space(
        {route: scale.nulls(route, labels.spaces[route.space], np.asarray(vs)) for route, vs in batch.items() if vs}
    )
    out = np.full((len(records), len(labels.names)), np.nan)
    for row, parts in enumerate(weighted):
        part_scores = []
        for part in parts:
            reached = [(route, part.routes[route]) for route in nulls if route in part.routes]
            if reached:
                part_scores.append((part.field, _best_log_scores(reached, labels, nulls)))
        joined = join_log_scores(part_scores, fusion)
        if joined is not None:
            out[row] = joined
    return out


def _best_log_scores(reached, labels: LabelVectors, nulls: dict[Route, list[Null]]) -> np.ndarray:
    """A part's log-score for each label: its best route's (a video's pictures or its words)."""
    best = np.zeros(len(labels.names))
    for route, vector in reached:
        cosines = labels.spaces[route.space] @ vector
        scores = [score(null, cosine) for null, cosine in zip(nulls[route], cosines.tolist(), strict=True)]
        best = np.maximum(best, scores)
    return np.asarray([log_score(s) for s in best])


def fused_vectors(
    records: Sequence[RecordVectors], fusion: RecordFusion, spaces: set[Space]
) -> list[tuple[Route, np.ndarray] | None]:
    """Each record's early-fusion vector and the route it is scored on, as search does: the text space when
    every weighted part is in it, else the joint space (the one that sees pictures and words together)."""
    out: list[tuple[Route, np.ndarray] | None] = []
    for record in records:
        parts = [p for p in record.parts if fusion.weight(p.field) > 0]
        whole_text = Space.TEXT in spaces and parts and all(Space.TEXT in p.spaces for p in parts)
        space = Space.TEXT if whole_text else Space.JOINT
        vectors = {p.field: p.spaces[space] for p in parts if space in p.spaces}
        fused = fuse(vectors, fusion) if space in spaces and vectors else None
        out.append(None if fused is None else (Route(space, FUSED), fused))
    return out


def _early(records, labels: LabelVectors, fusion: RecordFusion, scale: Scale) -> np.ndarray:
    fused = fused_vectors(records, fusion, set(labels.spaces))
    batch: dict[Route, list[np.ndarray]] = {}
    for entry in fused:
        if entry is not None:
            batch.setdefault(entry[0], []).append(entry[1])
    nulls = {route: scale.nulls(route, labels.spaces[route.space], np.asarray(vs)) for route, vs in batch.items()}
    out = np.full((len(records), len(labels.names)), np.nan)
    for row, entry in enumerate(fused):
        if entry is None:
            continue
        route, vector = entry
        cosines = labels.spaces[route.space] @ vector
        out[row] = [log_score(score(null, c)) for null, c in zip(nulls[route], cosines.tolist(), strict=True)]
    return out
