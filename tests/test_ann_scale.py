"""IVF-PQ with exact re-ranking at a scale where its codes alone would miss half the true neighbours: built
by the catalog from a real store (trained on a spread sample, tuned on held-out vectors), it must find the
exact top 10 of fresh queries with recall >= 0.95. Recall only: nothing here looks at a timing."""

from __future__ import annotations

import numpy as np
import pytest

from anyseek.engine.records import Space
from anyseek.engine.store.rows import roundtrip
from anyseek.engine.vectors.catalog import VectorCatalog
from anyseek.engine.vectors.tuning import RunningTopK, recall_at_k
from bench.common import embedding_like_blocks
from tests.helpers import passage_write

PER_ITEM = 1000
FRESH = 300


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ivf-pq-refine", "ivf-pq-disk"])
def test_compressed_index_of_200k_512d_vectors_finds_the_exact_top_10(tmp_path, store, kind):
    count, dim = 200_000, 512
    blocks = list(embedding_like_blocks(count + FRESH, dim, seed=11))
    stored = roundtrip(np.concatenate(blocks)[:count])  # as the store returns them
    fresh = np.concatenate(blocks)[count:]
    del blocks
    for item in range(count // PER_ITEM):
        store.write_items([passage_write(f"/{item}.txt".encode(), stored[item * PER_ITEM : (item + 1) * PER_ITEM])])
    truth = RunningTopK(fresh, np.full(FRESH, -1))
    truth.update(*store.vectors(Space.JOINT, store.chunk_ids(Space.JOINT), dim))

    catalog = VectorCatalog(tmp_path, store, {Space.JOINT: dim}, kind=kind)
    catalog.load_all()  # the writer builds it from the store: trained, tuned, rows in the vector file
    catalog.save()
    index = catalog.index(Space.JOINT)
    assert index.trained and len(index) == count
    assert index.recall >= 0.95, f"recall measured at build on held-out vectors: {index.recall}"
    found = [ids for _, ids in index.search(fresh, 10)]
    assert recall_at_k(found, truth.truth()) >= 0.95
