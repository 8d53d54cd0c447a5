"""Fusing ranked lists from several spaces, and collapsing chunks into one hit per item."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class ChunkScore:
    chunk_id: int
    score: float
    similarity: float


def fuse(
    ranked: dict[str, tuple[np.ndarray, np.ndarray]],
    weights: dict[str, float],
    method: str,
    rrf_k: int,
    spaces_of: Callable[[int], frozenset[str]] | None = None,
) -> list[ChunkScore]:
    """Reciprocal-rank fusion (default): scores of different models are not comparable, ranks are.

    Each chunk's score is the weighted *mean* of its reciprocal ranks over the searched spaces that can
    hold it (`spaces_of`), not the sum: otherwise a passage, present in two lists, would beat an image,
    present only in the joint space, just for being counted twice. `max` keeps the best weighted cosine.
    """
    fused: dict[int, ChunkScore] = {}
    for space, (scores, ids) in ranked.items():
        weight = weights.get(space, 1.0)
        for rank, (score, chunk_id) in enumerate(zip(scores.tolist(), ids.tolist())):
            entry = fused.setdefault(chunk_id, ChunkScore(chunk_id, 0.0, -1.0))
            entry.similarity = max(entry.similarity, score)
            if method == "max":
                entry.score = max(entry.score, weight * score)
            else:
                entry.score += weight / (rrf_k + rank + 1)
    if method != "max" and spaces_of is not None:
        for entry in fused.values():
            applicable = spaces_of(entry.chunk_id) & ranked.keys()
            entry.score /= sum(weights.get(space, 1.0) for space in applicable) or 1.0
    return sorted(fused.values(), key=lambda c: (-c.score, -c.similarity, c.chunk_id))


def best_per_item(scored: list[ChunkScore], owner: dict[int, int]) -> list[ChunkScore]:
    """The best chunk of each item, in fused order; chunks whose item is unknown are dropped."""
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
