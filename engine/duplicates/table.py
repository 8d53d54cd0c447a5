"""Pictures' fingerprints as arrays, so that the candidate pairs (hundreds of thousands in a large library
of similar pictures) are checked in numpy, not one by one in Python."""

from __future__ import annotations

import numpy as np

from anyseek.engine.duplicates.fingerprints import (
    BRIGHTNESS_FLOOR,
    CHROMA_FLOOR,
    PictureFingerprint,
    as_binary_codes,
)

SEARCH_ROWS = 4096  # hashes searched per call, so a 100k library never holds all matches at once


class PictureTable:
    def __init__(self, prints: dict[int, PictureFingerprint]) -> None:
        self.ids = np.asarray(sorted(prints), dtype=np.int64)
        self.row = {int(item_id): row for row, item_id in enumerate(self.ids)}
        ordered = [prints[int(i)] for i in self.ids]
        self.hashes = np.asarray([p.phash for p in ordered], dtype=np.uint64)
        colour = np.frombuffer(b"".join(p.colour for p in ordered), dtype=np.uint8).reshape(len(ordered), -1)
        self.colour = colour.astype(np.float32)
        cells = self.colour.reshape(len(ordered), -1, 3)
        self.chroma = (cells / (cells.sum(axis=2, keepdims=True) + CHROMA_FLOOR)).reshape(len(ordered), -1)
        self.light = self.colour.mean(axis=1)

    def hash_pairs(self, radius: int) -> np.ndarray:
        """Row pairs (a < b) within `radius` bits, through a binary index's range search (exact, in FAISS)."""
        import faiss

        if len(self.ids) < 2:
            return np.empty((0, 2), np.int64)
        codes = as_binary_codes(self.hashes)
        index = faiss.IndexBinaryFlat(64)
        index.add(codes)
        found = []
        for start in range(0, len(codes), SEARCH_ROWS):
            limits, _, rows = index.range_search(codes[start : start + SEARCH_ROWS], radius + 1)
            queries = start + np.repeat(np.arange(len(limits) - 1), np.diff(limits.astype(np.int64)))
            pairs = np.stack([queries, rows.astype(np.int64)], axis=1)
            found.append(pairs[pairs[:, 0] < pairs[:, 1]])
        return np.concatenate(found)

    def rows_of(self, item_pairs) -> np.ndarray:
        rows = [(self.row[a], self.row[b]) for a, b in item_pairs if a in self.row and b in self.row]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)

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
