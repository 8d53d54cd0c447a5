"""A query given as an embedding (search by vector): checked against the index's space and normalised.

Such a vector is treated as what the space's model would have made of a query: it goes through the same
routes and the same per-query calibration (calibration.py measures each query vector against that
route's unrelated reference targets), so a joint-space vector scores like an image or a text query in the
joint space, and a text-space vector like a text query's MiniLM vector. No model runs.
"""

from __future__ import annotations

import numpy as np

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Space

MIN_NORM = 1e-6


def checked_vector(values: object, space: Space, dims: dict[Space, int]) -> np.ndarray:
    """`values` as a unit-length float32 vector of `space`; QueryError (one line) if the index has no such
    space yet or the length is not the space's dimension."""
    if space not in dims:
        raise QueryError(f"the index holds no vectors in the {space} space yet, so a {space} vector finds nothing")
    vector = np.asarray(values, dtype=np.float32).reshape(-1)
    if vector.shape[0] != dims[space]:
        raise QueryError(
            f"the vector has {vector.shape[0]} dimensions; the {space} space of this index has {dims[space]}"
        )
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < MIN_NORM:
        raise QueryError("the vector is all zeros (or not finite): it points nowhere")
    return vector / norm
