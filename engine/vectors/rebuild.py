"""Building a space's index from the store in bounded memory, then tuning it to the recall target.

Order matters for honesty and for memory:
1. hold out `TUNE_QUERIES` vectors, chosen first so that neither training nor the truth sees them as data;
2. train on a sample drawn from the rest of the space (not on its first vectors, which may all be one
   folder's);
3. stream every vector from the store in batches: add it, let the exact top-k of the held-out queries see
   it, and flush the index's files (the float16 rows) so that RAM holds a batch, not the space;
4. tune the search settings on the held-out queries and record the recall reached (tuning.py).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from anyseek.engine.vectors.base import VectorIndex
from anyseek.engine.vectors.faiss_ivf import nlist_for
from anyseek.engine.vectors.faiss_refine import training_size
from anyseek.engine.vectors.tuning import TUNE_QUERIES, RunningTopK, tune

log = logging.getLogger(__name__)

BATCH = 65_536  # vectors read from the store at a time: 128 MiB of float32 at 512-d


def held_out(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """At most TUNE_QUERIES ids, and at most 1 in 20, so a small space keeps almost all for training."""
    count = min(TUNE_QUERIES, len(ids) // 20)
    return np.sort(rng.choice(ids, count, replace=False)) if count else np.empty(0, np.int64)


def rebuild(index: VectorIndex, store, space, dim: int, ids: np.ndarray, recall_target: float) -> VectorIndex:
    """Fill the empty `index` with the stored vectors of `ids` (sorted chunk ids) and tune it."""
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    queries_ids = held_out(ids, rng) if index.approximate else np.empty(0, np.int64)
    if hasattr(index, "fit") and len(ids) >= getattr(index, "train_at", 0):
        pool = np.setdiff1d(ids, queries_ids, assume_unique=True)
        size = min(len(pool), training_size(nlist_for(len(ids))))
        _, sample = store.vectors(space, np.sort(rng.choice(pool, size, replace=False)), dim)
        index.fit(sample, len(ids))
        log.info("%s index: trained on %d vectors in %.1fs", space.value, size, time.perf_counter() - started)
    queries_ids, queries = store.vectors(space, queries_ids, dim)
    truth = RunningTopK(queries, queries_ids)
    flush = getattr(index, "flush", None)
    for start in range(0, len(ids), BATCH):
        batch_ids, vectors = store.vectors(space, ids[start : start + BATCH], dim)
        index.add(batch_ids, vectors)
        truth.update(batch_ids, vectors)
        if flush is not None:
            flush()
    if flush is not None:
        flush(complete=True)
    tune(index, queries, queries_ids, truth.truth(), recall_target)
    seconds = time.perf_counter() - started
    log.info("%s index: %s of %d vectors built in %.1fs", space.value, index.kind, len(ids), seconds)
    return index
