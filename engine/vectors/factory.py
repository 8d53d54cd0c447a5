"""Choose and build vector index backends by name."""

from __future__ import annotations

import os
from pathlib import Path

from anyseek.engine.errors import ConfigError
from anyseek.engine.vectors.base import VectorIndex
from anyseek.engine.vectors.exact import ExactIndex
from anyseek.engine.vectors.faiss_flat import FaissFlatIndex
from anyseek.engine.vectors.faiss_hnsw import FaissHnswIndex
from anyseek.engine.vectors.faiss_ivf import FaissIvfFlatIndex, FaissIvfPqIndex
from anyseek.engine.vectors.faiss_ondisk import FaissIvfPqDiskIndex
from anyseek.engine.vectors.faiss_refine import FaissIvfPqRefineIndex, pq_subquantizers
from anyseek.engine.vectors.torch_exact import TorchExactIndex

BACKENDS: dict[str, type[VectorIndex]] = {
    ExactIndex.kind: ExactIndex,
    FaissFlatIndex.kind: FaissFlatIndex,
    FaissHnswIndex.kind: FaissHnswIndex,
    FaissIvfFlatIndex.kind: FaissIvfFlatIndex,
    FaissIvfPqIndex.kind: FaissIvfPqIndex,
    FaissIvfPqRefineIndex.kind: FaissIvfPqRefineIndex,
    FaissIvfPqDiskIndex.kind: FaissIvfPqDiskIndex,
    TorchExactIndex.kind: TorchExactIndex,
}

# Below this many vectors exact flat search answers in a few milliseconds on a laptop core: no reason to
# give up exactness (autofaiss draws the same line).
FLAT_UP_TO = 200_000
# The vector indexes share the machine with the models, the decode workers and the page cache that serves
# the float16 rows for re-ranking: by default they may take a quarter of its RAM.
RAM_SHARE = 4
HNSW_LINK_BYTES = 2 * 32 * 4  # M=32: about 2*M int32 neighbour ids per vector on level 0
IVF_ID_BYTES = 8 + 16  # the int64 id in its list, plus the direct map's hash-table entry
ROW_BYTES = 8 + 1  # refine kinds: a row's chunk id and its removed flag


def default_memory_budget() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // RAM_SHARE
    except (ValueError, OSError):  # no sysconf (not POSIX): assume a 16 GB machine
        return 4 * 2**30


def backend_class(kind: str) -> type[VectorIndex]:
    try:
        return BACKENDS[kind]
    except KeyError:
        raise ConfigError(f"unknown vector index kind {kind!r}; known: {', '.join(sorted(BACKENDS))}") from None


def create_index(kind: str, dim: int, storage: Path | None = None) -> VectorIndex:
    """`storage` (vectors/<space>) is where a kind that keeps files (the float16 rows) puts them; the
    others ignore it, and without it those kinds keep everything in RAM."""
    cls = backend_class(kind)
    return cls(dim, storage=storage) if getattr(cls, "stores_files", False) else cls(dim)


def load_index(kind: str, dim: int, payload: bytes, storage: Path | None = None) -> VectorIndex:
    cls = backend_class(kind)
    if getattr(cls, "stores_files", False):
        return cls.from_bytes(dim, payload, storage=storage)
    return cls.from_bytes(dim, payload)


def bytes_per_vector(kind: str, dim: int) -> int:
    """Approximate memory per stored vector, for the budget check (ids and id maps included)."""
    full = 4 * dim
    return {
        "exact": full + 8,
        "torch": full + 8,
        "flat": full + 8,
        "hnsw": full + HNSW_LINK_BYTES + 8,
        "ivf-flat": full + IVF_ID_BYTES,
        "ivf-pq": max(1, dim // 4) + IVF_ID_BYTES,
        "ivf-pq-refine": pq_subquantizers(dim) + 8 + ROW_BYTES,
        "ivf-pq-disk": ROW_BYTES,
    }[kind]


def disk_bytes_per_vector(kind: str, dim: int) -> int:
    """Besides the index file: the float16 rows and their ids, and on-disk lists."""
    rows = 2 * dim + 8
    return {"ivf-pq-refine": rows, "ivf-pq-disk": rows + pq_subquantizers(dim) + 8}.get(kind, 0)


def choose_kind(count: int, memory_budget_bytes: int | None = None, dim: int = 512) -> str:
    """The index type for a space of `count` vectors under a memory budget, autofaiss-style: exact flat
    search while it is cheap; above that IVF-Flat while full vectors fit (recall@10 >= 0.95 scanning a
    small fraction, cheap to build and to remove from, unlike HNSW, whose graph takes minutes per million
    vectors on two cores; HNSW only for callers who ask for it); then IVF-PQ codes in RAM re-ranked from
    float16 rows on disk; and when even the codes do not fit, the same with its lists on disk too. Plain
    IVF-PQ is never chosen: re-ranking costs RAM nothing and lifts its recall from ~0.5 to the target."""
    budget = default_memory_budget() if memory_budget_bytes is None else memory_budget_bytes
    if count <= FLAT_UP_TO and count * bytes_per_vector("flat", dim) <= budget:
        return FaissFlatIndex.kind
    if count * bytes_per_vector("ivf-flat", dim) <= budget:
        return FaissIvfFlatIndex.kind
    if count * bytes_per_vector("ivf-pq-refine", dim) <= budget:
        return FaissIvfPqRefineIndex.kind
    return FaissIvfPqDiskIndex.kind
