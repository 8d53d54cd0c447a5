"""Merging the routes' candidates into one ranked list, and collapsing chunks into one hit per item.

Each chunk has at most one dense route (see routing.py), whose calibrated evidence (a z-score above
what chance reaches, see calibration.py) ranks it against every other chunk, photos and passages
alike. In the hybrid mode, BM25 adds `lexical_weight` times the chunk's share of the best BM25 of this
query: a strong lexical match can lift a chunk by that much and no more, so the dense route keeps
deciding the order among chunks that match the words about equally, and lexical evidence alone cannot
bury a strong dense match.
"""

from __future__ import annotations

from dataclasses import dataclass

from anyseek.engine.search.calibration import UNSCORED, bm25_score, evidence_score
from anyseek.engine.search.routing import Mode


@dataclass(slots=True)
class Evidence:
    """What the routes found for one chunk."""

    chunk_id: int
    z: float | None = None  # dense evidence: robust standard deviations above the route's chance ceiling
    similarity: float | None = None  # the dense route's raw cosine
    route: str | None = None  # the dense route's space
    bm25: float | None = None  # positive, higher is better


@dataclass(slots=True)
class ChunkScore:
    chunk_id: int
    key: float  # what the list is ordered by
    score: float  # calibrated, in [0, 1]
    similarity: float | None
    route: str


def merge(found: dict[int, Evidence], mode: Mode, lexical_weight: float) -> list[ChunkScore]:
    best_bm25 = max((e.bm25 for e in found.values() if e.bm25), default=0.0) if mode is Mode.HYBRID else 0.0
    out = []
    for e in found.values():
        if mode is Mode.LEXICAL:
            if not e.bm25:
                continue
            out.append(ChunkScore(e.chunk_id, e.bm25, bm25_score(e.bm25), None, "lexical"))
            continue
        lexical = lexical_weight * (e.bm25 or 0.0) / best_bm25 if best_bm25 else 0.0
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
