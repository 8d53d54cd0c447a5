"""Alignment: how well each record's parts agree, and which records look wrong ("an image that doesn't
match its text description will lead to flawed model training").

For two parts of one record (a picture and its caption), their cosine in a space both are in (the text
space for two texts, else the joint space) is calibrated against mismatched pairs drawn from the same file:
this record's first part with other records' second parts and the other way round. The record's own pair
is scored against that null with the engine's calibrated scale (classify/scale.py), so an agreement of 0.5
means "as far above the mismatched pairs as a search hit scoring 0.5 is above unrelated targets". Pairs
known to mean the same (one group of `anyseek train`'s pairs, one identical text) are not counted as
mismatched.

A record's agreement is its weakest pair's: one part that does not belong is enough to flag it. A file
too small to draw mismatched pairs from is measured against the index's targets, as search is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anyseek.engine.classify.parts import PartVectors, RecordVectors, fields_of
from anyseek.engine.classify.scale import Scale, sample_null, score
from anyseek.engine.predictions import Agreement, PairAgreement
from anyseek.engine.records import Space
from anyseek.engine.search.routing import Route

# Chosen on bench/records.py's alignment world (300 demo scenes, 10% of captions swapped for another
# record's): the swapped pairs' agreements sit near 0.03, the right ones' mostly above 0.3 (ROC AUC 0.99).
# 0.1 flagged 25 at precision 1.0 and recall 0.83; 0.2 flagged 30 (0.90 / 0.90); 0.5 flagged 84 (0.36 / 1.0),
# which is no outlier flag.
DEFAULT_THRESHOLD = 0.1
MISMATCHED = 64  # mismatched records drawn per record (each gives two mismatched pairs)
MIN_MISMATCHED = 8  # fewer other records than this: the file is too small to be its own null
BLOCK = 1024  # records whose mismatched cosines are computed at once (memory: BLOCK x MISMATCHED x dim)


@dataclass(slots=True)
class _Pairing:
    """One pair of fields in one space, over the records that have both parts there."""

    fields: tuple[str, str]
    space: Space
    rows: list[int]  # indexes into the records


def agreements(
    records: Sequence[RecordVectors],
    threshold: float,
    scale: Scale,
    groups: Sequence[str | None] | None = None,
) -> tuple[list[Agreement], list[str]]:
    """Each record's agreement, and warnings (a pairing too small to measure)."""
    found: dict[int, list[PairAgreement]] = {i: [] for i in range(len(records))}
    warnings = []
    for pairing in _pairings(records):
        scored = _score_pairing(records, pairing, scale, groups)
        if scored is None:
            warnings.append(
                f"fields {pairing.fields[0]!r} and {pairing.fields[1]!r}: {len(pairing.rows)} records have both, "
                f"too few to draw mismatched pairs from, and the index has too little to compare with; "
                f"their agreement is not measured"
            )
            continue
        for row, pair in scored:
            found[row].append(pair)
    out = []
    for i, record in enumerate(records):
        pairs = tuple(found[i])
        agreement = min((p.agreement for p in pairs), default=None)
        flagged = agreement is not None and agreement < threshold
        out.append(Agreement(record.id, agreement, flagged, pairs, record.row, record.summary))
    return out, warnings


def _pairings(records: Sequence[RecordVectors]) -> list[_Pairing]:
    by_key: dict[tuple[tuple[str, str], Space], list[int]] = {}
    for first, second in itertools.combinations(fields_of(records), 2):
        for i, record in enumerate(records):
            a, b = record.part(first), record.part(second)
            space = _shared_space(a, b) if a is not None and b is not None else None
            if space is not None:
                by_key.setdefault(((first, second), space), []).append(i)
    return [_Pairing(fields, space, rows) for (fields, space), rows in by_key.items()]


def _shared_space(a: PartVectors, b: PartVectors) -> Space | None:
    """The text space for two texts (the stronger model for words), else the joint one."""
    for space in (Space.TEXT, Space.JOINT):
        if space in a.spaces and space in b.spaces:
            return space
    return None


def _score_pairing(records, pairing: _Pairing, scale: Scale, groups) -> list[tuple[int, PairAgreement]] | None:
    first, second = pairing.fields
    a = np.stack([records[i].part(first).spaces[pairing.space] for i in pairing.rows])
    b = np.stack([records[i].part(second).spaces[pairing.space] for i in pairing.rows])
    own = np.einsum("id,id->i", a, b)
    keys = _keys(records, pairing, groups)
    if len(pairing.rows) - 1 >= MIN_MISMATCHED:
        nulls = [sample_null(cosines) for cosines in _mismatched(a, b, keys)]
    else:
        route = _route_of(records[pairing.rows[0]].part(second), pairing.space)
        if route is None or not scale.uses_index(route):
            return None
        nulls = scale.nulls(route, a, np.zeros((0, a.shape[1]), np.float32))
    return [
        (row, PairAgreement(pairing.fields, pairing.space.value, float(c), score(null, float(c))))
        for row, c, null in zip(pairing.rows, own.tolist(), nulls, strict=True)
    ]


def _keys(records, pairing: _Pairing, groups) -> list[str]:
    """What each record's pair means, where known: its group, else its parts' words (identical captions
    are not mismatched); a record with neither is its own."""
    out = []
    for i in pairing.rows:
        group = groups[i] if groups is not None else None
        words = [records[i].part(f).words for f in pairing.fields]
        out.append(group if group is not None else ("\x00".join(words) if all(words) else f"\x01{i}"))
    return out


def _mismatched(a: np.ndarray, b: np.ndarray, keys: list[str]) -> list[np.ndarray]:
    """Per record, its first part's cosines with other records' second parts and the other way round (up
    to MISMATCHED others, drawn at random, the same draw every run)."""
    n = len(a)
    rng = np.random.default_rng(0)
    draw = min(MISMATCHED, n - 1)
    others = rng.integers(0, n - 1, size=(n, draw))
    others += others >= np.arange(n)[:, None]  # skip the record itself
    out = []
    for start in range(0, n, BLOCK):
        rows = np.arange(start, min(n, start + BLOCK))
        picked = others[rows]
        forward = np.einsum("id,ikd->ik", a[rows], b[picked])
        backward = np.einsum("id,ikd->ik", b[rows], a[picked])
        for k, row in enumerate(rows.tolist()):
            different = np.asarray([keys[j] != keys[row] for j in picked[k].tolist()])
            out.append(np.concatenate([forward[k][different], backward[k][different]]))
    return out


def _route_of(part: PartVectors, space: Space) -> Route | None:
    return next((route for route in part.routes if route.space is space), None)
