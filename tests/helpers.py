"""Small builders shared by the unit tests: clustered unit vectors and store writes."""

from __future__ import annotations

import numpy as np

from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, Modality, Space
from anyseek.engine.store.store import ItemWrite


def clustered_unit_vectors(count: int, dim: int, *, clusters: int = 8, spread: float = 0.15, seed: int = 0):
    """L2-normalised float32 vectors in tight clusters: many near neighbours with close scores, which is
    where ranking and id-mapping bugs show (uniform noise in high dimensions makes every score ~0)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = centres[rng.integers(0, clusters, count)] + spread * rng.standard_normal((count, dim)) / np.sqrt(dim)
    return normalize(points)


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float64)
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def passage_write(path: bytes, vectors: np.ndarray, *, space: Space = Space.JOINT, content_hash: str = "h"):
    """An ItemWrite for a text file with one passage chunk per vector."""
    chunks = [
        EmbeddedChunk(Chunk(ChunkKind.PASSAGE, i, f"passage {i}", 0, 10), {space: vector})
        for i, vector in enumerate(vectors)
    ]
    return ItemWrite(path, 100, 1, content_hash, Modality.TEXT, chunks)
