"""Merging the routes' candidates into one ranked list, and collapsing chunks into one hit per item.

Each chunk has at most one dense route (see routing.py), whose calibrated evidence (robust standard
deviations above what unrelated targets reach, see calibration.py) ranks it against every other chunk,
photos and passages alike. In the hybrid mode the words add their own evidence on the same scale
(lexical.lexical_evidence, times `lexical_weight`): up to 3 for a chunk holding every rare word of the
query, whatever other chunks matched. So a passage holding a query's rare words verbatim rises above
chunks the dense routes merely find close, and a photo outranks it only with stronger evidence of its
own; among chunks that hold the words about equally, the dense route keeps the order.
"""

from __future__ import annotations

from dataclasses import dataclass

from anyseek.engine.search.calibration import UNSCORED, evidence_score
from anyseek.engine.search.routing import Mode

LEXICAL_ONLY_SHIFT = 0.5


@dataclass(slots=True)
class Evidence:
    """What the routes found for one chunk."""

    chunk_id: int
    z: float | None = None  # dense evidence: robust standard deviations above the route's chance ceiling
    similarity: float | None = None  # the dense route's raw cosine
    route: str | None = None  # the dense route's space
    bm25: float | None = None  # positive, higher is better
    lexical: float = 0.0  # the words' evidence (lexical.lexical_evidence)


@dataclass(slots=True)
class ChunkScore:
    chunk_id: int
    key: float  # what the list is ordered by
    score: float  # calibrated, in [0, 1]
    similarity: float | None
    route: str


def merge(found: dict[int, Evidence], mode: Mode, lexical_weight: float) -> list[ChunkScore]:
    out = []
    for e in found.values():
        if mode is Mode.LEXICAL:
            if not e.bm25:
                continue
            # ranked by BM25; scored by the words' evidence alone: a chunk holding every rare word of the
            # query scores ~0.73, half of their evidence ~0.2 (no dense route vouches for it here)
            score = evidence_score(lexical_weight * e.lexical - LEXICAL_ONLY_SHIFT)
            out.append(ChunkScore(e.chunk_id, e.bm25, score, None, "lexical"))
            continue
        lexical = lexical_weight * e.lexical if mode is Mode.HYBRID else 0.0
        key = (e.z if e.z is not None else UNSCORED) + lexical
        names = [n for n in (e.route, "lexical" if lexical > 0 else None) if n]
        out.append(ChunkScore(e.chunk_id, key, evidence_score(key), e.similarity, "+".join(names)))
    return sorted(out, key=lambda c: (-c.key, c.chunk_id))


def best_per_item(scored: list[ChunkScore], owner: dict[int, int]) -> list[ChunkScore]:
    """The best chunk of each item, in merged order; chunks whose item is unknown are dropped."""
    seen: set[int] = set()
    out = []
    for entry in scored:
        item_id = owner.get(entry.chunk_id)
        if item_id is None or item_id in seen:
            continue
        seen.add(item_id)
        out.append(entry)
    return out


def strong_chunks(
    scored: list[ChunkScore], owner: dict[int, int], items: set[int], ratio: float, limit: int
) -> dict[int, list[ChunkScore]]:
    """For each of `items`, its chunks scoring at least `ratio` of its best one, best first, at most
    `limit`: the other moments of a video or recording worth seeking to."""
    out: dict[int, list[ChunkScore]] = {}
    for entry in scored:
        item_id = owner.get(entry.chunk_id)
        if item_id not in items:
            continue
        found = out.setdefault(item_id, [])
        if len(found) < limit and (not found or entry.score >= ratio * found[0].score):
            found.append(entry)
    return out
