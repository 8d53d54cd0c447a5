"""Pictures' fingerprints as arrays, so that the candidate pairs (hundreds of thousands in a large library
of similar pictures) are checked in numpy, not one by one in Python."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from anyseek.engine.duplicates.fingerprints import (
    BRIGHTNESS_FLOOR,
    CHROMA_FLOOR,
    PictureFingerprint,
    as_binary_codes,
)

SEARCH_ROWS = 4096  # hashes searched per call, so a 100k library never holds all matches at once


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """The distinct rows of an (n, 2) array of non-negative ids, sorted: one int64 key per pair, since
    np.unique(axis=0) sorts rows as opaque records, many times slower on the millions of candidate pairs
    of a 100k-photo library."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if not len(pairs) or pairs.max() >= 2**31 or pairs.min() < 0:
        return np.unique(pairs, axis=0) if len(pairs) else pairs
    keys = np.unique((pairs[:, 0] << 32) | pairs[:, 1])
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1)


class PictureTable:
    def __init__(self, prints: dict[int, PictureFingerprint]) -> None:
        self.ids = np.asarray(sorted(prints), dtype=np.int64)
        ordered = [prints[int(i)] for i in self.ids]
        self.hashes = np.asarray([p.phash for p in ordered], dtype=np.uint64)
        colour = np.frombuffer(b"".join(p.colour for p in ordered), dtype=np.uint8).reshape(len(ordered), -1)
        self.colour = colour.astype(np.float32)
        cells = self.colour.reshape(len(ordered), -1, 3)
        self.chroma = (cells / (cells.sum(axis=2, keepdims=True) + CHROMA_FLOOR)).reshape(len(ordered), -1)
        self.light = self.colour.mean(axis=1)

    def hash_pair_blocks(self, radius: int) -> Iterator[np.ndarray]:
        """Row pairs (a < b) within `radius` bits, through a binary index's range search (exact, in FAISS),
        one block of SEARCH_ROWS hashes at a time: a library of many look-alike pictures (night shots,
        skies, 1,600 crops of one smooth wallpaper) has tens of millions of candidate pairs, and holding them
        all, then their colours, took 22 GB at 100k photos before the kernel killed it."""
        import faiss

        if len(self.ids) < 2:
            return
        codes = as_binary_codes(self.hashes)
        index = faiss.IndexBinaryFlat(64)
        index.add(codes)
        for start in range(0, len(codes), SEARCH_ROWS):
            limits, _, rows = index.range_search(codes[start : start + SEARCH_ROWS], radius + 1)
            queries = start + np.repeat(np.arange(len(limits) - 1), np.diff(limits.astype(np.int64)))
            pairs = np.stack([queries, rows.astype(np.int64)], axis=1)
            yield pairs[pairs[:, 0] < pairs[:, 1]]

    def rows_of(self, item_pairs: np.ndarray) -> np.ndarray:
        """The table's rows of item pairs (`self.ids` is sorted); pairs with an item not here are dropped."""
        pairs = np.asarray(item_pairs, dtype=np.int64).reshape(-1, 2)
        if not len(pairs) or not len(self.ids):
            return np.empty((0, 2), np.int64)
        rows = np.minimum(np.searchsorted(self.ids, pairs), len(self.ids) - 1)
        return rows[(self.ids[rows] == pairs).all(axis=1)]

    def hamming(self, pairs: np.ndarray) -> np.ndarray:
        xor = (self.hashes[pairs[:, 0]] ^ self.hashes[pairs[:, 1]]).astype("<u8")
        return np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)

    def colour_distance(self, pairs: np.ndarray) -> np.ndarray:
        return np.abs(self.colour[pairs[:, 0]] - self.colour[pairs[:, 1]]).mean(axis=1) / 255.0

    def chroma_distance(self, pairs: np.ndarray) -> np.ndarray:
        return np.abs(self.chroma[pairs[:, 0]] - self.chroma[pairs[:, 1]]).mean(axis=1)

    def brightness_change(self, pairs: np.ndarray) -> np.ndarray:
        a, b = self.light[pairs[:, 0]], self.light[pairs[:, 1]]
        return np.abs(a - b) / np.maximum(np.maximum(a, b), BRIGHTNESS_FLOOR)
