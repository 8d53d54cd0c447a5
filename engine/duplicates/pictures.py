"""Which pictures are the same picture, and which are a burst.

A pair is a duplicate when its perceptual hashes lie within `max_hamming` bits, its 4x4 colours within
`max_colour`, their chromaticities within `max_chroma`, their mean light within `max_brightness_change`
of each other, and (where the index holds embeddings) its cosine
reaches `min_cosine`. No single signal is trusted alone: a CLIP-like model puts two shots of one scene
within 0.01 (Immich's false duplicates), a hash cannot see colour (a wallpaper's light and dark variants),
and colour says nothing of the drawing.
The thresholds are measured by bench/duplicates.py (see docs/duplicates.md).

Candidates come from indexes, never from all pairs: a FAISS binary index's range search over the hashes,
plus each picture's nearest neighbours in the joint vector index (engine/duplicates/embeddings.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from anyseek.engine.duplicates.embeddings import Embeddings
from anyseek.engine.duplicates.fingerprints import (
    PictureFingerprint,
    as_binary_codes,
    brightness_change,
    chroma_distance,
    colour_distance,
    hamming,
    hash_similarity,
)
from anyseek.engine.duplicates.grouping import UnionFind
from anyseek.engine.records import Item

SEARCH_ROWS = 4096  # hashes searched per call, so a 100k library never holds all matches at once


@dataclass(frozen=True, slots=True)
class PictureRules:
    max_hamming: int = 12
    max_colour: float = 0.06
    max_chroma: float = 0.02
    max_brightness_change: float = 0.15
    min_cosine: float = 0.90
    # bursts: close in capture time and close in content, though not the same picture
    burst_seconds: float = 10.0
    similar_hamming: int = 24
    similar_colour: float = 0.12
    similar_cosine: float = 0.80


def hash_pairs(ids: list[int], prints: dict[int, PictureFingerprint], radius: int) -> Iterable[tuple[int, int]]:
    """Every pair within `radius` bits, through a binary index's range search (exact, run in FAISS)."""
    import faiss

    if len(ids) < 2:
        return
    codes = as_binary_codes(np.asarray([prints[i].phash for i in ids], dtype=np.uint64))
    index = faiss.IndexBinaryFlat(64)
    index.add(codes)
    for start in range(0, len(ids), SEARCH_ROWS):
        limits, _, found = index.range_search(codes[start : start + SEARCH_ROWS], radius + 1)
        for row in range(len(limits) - 1):
            a = ids[start + row]
            for position in found[limits[row] : limits[row + 1]]:
                b = ids[int(position)]
                if a < b:
                    yield a, b


def link_duplicates(
    links: UnionFind,
    prints: dict[int, PictureFingerprint],
    embeddings: Embeddings | None,
    rules: PictureRules,
) -> None:
    ids = sorted(prints)
    pairs = set(hash_pairs(ids, prints, rules.max_hamming))
    if embeddings is not None:
        pairs |= {(a, b) for a, b in embeddings.pairs(rules.min_cosine) if a in prints and b in prints}
    for a, b in sorted(pairs):
        if _same_picture(prints[a], prints[b], embeddings, a, b, rules):
            links.union(a, b, hash_similarity(prints[a].phash, prints[b].phash))


def _same_picture(pa, pb, embeddings: Embeddings | None, a: int, b: int, rules: PictureRules) -> bool:
    if hamming(pa.phash, pb.phash) > rules.max_hamming or colour_distance(pa.colour, pb.colour) > rules.max_colour:
        return False
    if chroma_distance(pa.colour, pb.colour) > rules.max_chroma:
        return False
    if brightness_change(pa.colour, pb.colour) > rules.max_brightness_change:
        return False
    return embeddings is None or embeddings.cosine(a, b) >= rules.min_cosine


def link_bursts(
    links: UnionFind,
    items: list[Item],
    prints: dict[int, PictureFingerprint],
    embeddings: Embeddings | None,
    rules: PictureRules,
) -> None:
    """The similar tier, over pictures that are not duplicates of each other: shots taken within
    `burst_seconds` whose content is close. Pictures without a capture date are never in a burst (a file's
    mtime says when it was copied, not when it was taken)."""
    dated = sorted((item.captured_at, item.id) for item in items if item.captured_at is not None and item.id in prints)
    for i, (when, a) in enumerate(dated):
        for later, b in dated[i + 1 :]:
            if later - when > rules.burst_seconds:
                break
            pa, pb = prints[a], prints[b]
            if colour_distance(pa.colour, pb.colour) > rules.similar_colour:
                continue
            if embeddings is not None:
                close = embeddings.cosine(a, b) >= rules.similar_cosine
                similarity = embeddings.cosine(a, b)
            else:
                close = hamming(pa.phash, pb.phash) <= rules.similar_hamming
                similarity = hash_similarity(pa.phash, pb.phash)
            if close:
                links.union(a, b, similarity)
