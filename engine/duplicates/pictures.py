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

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from anyseek.engine.duplicates.embeddings import Embeddings
from anyseek.engine.duplicates.fingerprints import PictureFingerprint, colour_distance, hamming, hash_similarity
from anyseek.engine.duplicates.grouping import UnionFind
from anyseek.engine.duplicates.table import PictureTable
from anyseek.engine.records import Item

CHECK_ROWS = 262_144  # candidate pairs checked at once (their gathered colours: ~100 MB)


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


def link_duplicates(
    links: UnionFind,
    prints: dict[int, PictureFingerprint],
    embeddings: Embeddings | None,
    rules: PictureRules,
) -> None:
    """Joins every candidate pair that passes all the rules. Candidates are checked a block at a time, so
    memory stays bounded however many look-alikes a library holds (a pair found by both the hashes and
    the embeddings is checked twice; joining it twice changes nothing)."""
    table = PictureTable(prints)
    blocks: Iterable[np.ndarray] = table.hash_pair_blocks(rules.max_hamming)
    if embeddings is not None:
        blocks = itertools.chain(blocks, [table.rows_of(embeddings.pairs(rules.min_cosine))])
    for block in blocks:
        for start in range(0, len(block), CHECK_ROWS):
            _link_same(links, table, block[start : start + CHECK_ROWS], embeddings, rules)


def _link_same(links: UnionFind, table: PictureTable, pairs: np.ndarray, embeddings, rules: PictureRules) -> None:
    # the scalar signals first; the 48 colours of a pair are gathered only for the pairs still in question
    bits = table.hamming(pairs)
    near = (bits <= rules.max_hamming) & (table.brightness_change(pairs) <= rules.max_brightness_change)
    pairs, bits = pairs[near], bits[near]
    same = (table.colour_distance(pairs) <= rules.max_colour) & (table.chroma_distance(pairs) <= rules.max_chroma)
    if embeddings is not None and same.any():
        ids = table.ids[pairs[same]]
        same[same] = embeddings.cosines(ids[:, 0], ids[:, 1]) >= rules.min_cosine
    linked = table.ids[pairs[same]]
    links.union_many(linked[:, 0], linked[:, 1], 1.0 - bits[same] / 64.0)


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
                similarity = embeddings.cosine(a, b)
                close = similarity >= rules.similar_cosine
            else:
                close = hamming(pa.phash, pb.phash) <= rules.similar_hamming
                similarity = hash_similarity(pa.phash, pb.phash)
            if close:
                links.union(a, b, similarity)
