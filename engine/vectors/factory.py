"""Choose and build vector index backends by name."""

from __future__ import annotations

from anyseek.engine.errors import ConfigError
from anyseek.engine.vectors.base import VectorIndex
from anyseek.engine.vectors.exact import ExactIndex
from anyseek.engine.vectors.faiss_flat import FaissFlatIndex
from anyseek.engine.vectors.faiss_hnsw import FaissHnswIndex
from anyseek.engine.vectors.faiss_ivf import FaissIvfFlatIndex, FaissIvfPqIndex
from anyseek.engine.vectors.torch_exact import TorchExactIndex

BACKENDS: dict[str, type[VectorIndex]] = {
    ExactIndex.kind: ExactIndex,
    FaissFlatIndex.kind: FaissFlatIndex,
    FaissHnswIndex.kind: FaissHnswIndex,
    FaissIvfFlatIndex.kind: FaissIvfFlatIndex,
    FaissIvfPqIndex.kind: FaissIvfPqIndex,
    TorchExactIndex.kind: TorchExactIndex,
}

# Below this many vectors exact flat search answers in a few milliseconds on a laptop core: no reason to
# give up exactness (autofaiss draws the same line).
FLAT_UP_TO = 200_000
DEFAULT_MEMORY_BUDGET = 4 * 2**30
HNSW_LINK_BYTES = 2 * 32 * 4  # M=32: about 2*M int32 neighbour ids per vector on level 0
IVF_ID_BYTES = 8 + 16  # the int64 id in its list, plus the direct map's hash-table entry


def backend_class(kind: str) -> type[VectorIndex]:
    try:
        return BACKENDS[kind]
    except KeyError:
        raise ConfigError(f"unknown vector index kind {kind!r}; known: {', '.join(sorted(BACKENDS))}") from None


def create_index(kind: str, dim: int) -> VectorIndex:
    return backend_class(kind)(dim)


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
    }[kind]


def choose_kind(count: int, memory_budget_bytes: int | None = None, dim: int = 512) -> str:
    """The index type for a space of `count` vectors, autofaiss-style: exact flat search while it is
    cheap; above that IVF-Flat (recall@10 >= 0.95 at a small fraction of the scan, cheap to build and to
    remove from, unlike HNSW whose graph takes minutes per million vectors on two cores); HNSW only for
    callers who ask for it; IVF-PQ when full vectors do not fit the memory budget."""
    budget = DEFAULT_MEMORY_BUDGET if memory_budget_bytes is None else memory_budget_bytes
    if count <= FLAT_UP_TO and count * bytes_per_vector("flat", dim) <= budget:
        return FaissFlatIndex.kind
    if count * bytes_per_vector("ivf-flat", dim) <= budget:
        return FaissIvfFlatIndex.kind
    return FaissIvfPqIndex.kind
