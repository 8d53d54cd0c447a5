"""Recall of an approximate index against exact search, and the search settings that reach a target.

Queries are vectors of the index's own space, held out: chosen before training (so the cells and codes
never saw them) and excluded from their own results and from the truth, so each one stands for a new
query from the same distribution. The truth is exact top-k by inner product, accumulated over the vectors
as they stream past (`RunningTopK`), so a 10M-vector space never needs them all in RAM.

`tune` picks the cheapest settings that reach the target with confidence, and records the recall they
reach: nprobe for the IVF kinds; nprobe and the re-ranking factor for the IVF-PQ + refine kinds, from one
shortlist per nprobe whose prefixes give every refine factor at once. "With confidence": the mean recall
of the held-out queries less 1.645 standard errors (a one-sided 95% bound) must reach the target, because
the cheapest setting whose sample mean just touches it reaches less on new queries about half the time
(bench/scale.py at 1M: 0.955 on 200 held-out queries, 0.934 on fresh ones). Where no setting reaches the
target, the best one is kept and its (lower) recall is what status reports.
"""

from __future__ import annotations

import logging

import numpy as np

from anyseek.engine.vectors.base import VectorIndex

log = logging.getLogger(__name__)

K = 10
TUNE_QUERIES = 500  # the standard error of a recall near 0.95 is then about 0.005
CONFIDENCE_Z = 1.645
REFINES = (1, 2, 4, 8, 16, 32, 64, 128)
# Cost model for choosing between settings that reach the target: scanning one PQ code (64 table lookups
# at 512-d) against re-ranking one candidate (a pread from the page cache, float16 to float32, a dot
# product). Measured on this machine's CPU with bench/scale.py's data: about 40 ns and 2 us.
CODE_NS, ROW_NS = 40, 2000
QUERY_BLOCK = 32  # queries whose shortlists are read together (32 x 1281 rows x 2 KiB at most)


class RunningTopK:
    """Exact top-k of a few queries over vectors that arrive in blocks, each query's own id excluded."""

    def __init__(self, queries: np.ndarray, query_ids: np.ndarray, k: int = K) -> None:
        self.queries, self.query_ids, self.k = queries, np.asarray(query_ids, np.int64), k
        self.scores = np.full((len(queries), k), -np.inf, np.float32)
        self.ids = np.full((len(queries), k), -1, np.int64)

    def update(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids) or not len(self.queries):
            return
        scores = self.queries @ vectors.T
        scores[self.query_ids[:, None] == ids[None, :]] = -np.inf
        if scores.shape[1] > self.k:  # this block's best k first, so the merge below stays k + k wide
            top = np.argpartition(-scores, self.k - 1, axis=1)[:, : self.k]
            scores, block_ids = np.take_along_axis(scores, top, 1), ids[top]
        else:
            block_ids = np.broadcast_to(ids, scores.shape)
        scores, both = np.hstack([self.scores, scores]), np.hstack([self.ids, block_ids])
        top = np.argpartition(-scores, self.k - 1, axis=1)[:, : self.k]
        self.scores, self.ids = np.take_along_axis(scores, top, 1), np.take_along_axis(both, top, 1)

    def truth(self) -> list[np.ndarray]:
        return [ids[np.isfinite(scores)] for scores, ids in zip(self.scores, self.ids)]


def recall_per_query(found: list[np.ndarray], truth: list[np.ndarray]) -> np.ndarray:
    """Each query's share of its true top k that was found (queries with no truth left out)."""
    return np.array([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth) if len(t)])


def recall_at_k(found: list[np.ndarray], truth: list[np.ndarray]) -> float:
    shares = recall_per_query(found, truth)
    return float(shares.mean()) if len(shares) else 1.0


def lower_bound(shares: np.ndarray) -> float:
    """The recall reached with 95% confidence, from a sample of per-query recalls."""
    if len(shares) < 2:
        return float(shares.mean()) if len(shares) else 1.0
    return float(shares.mean() - CONFIDENCE_Z * shares.std(ddof=1) / np.sqrt(len(shares)))


def found_without_self(index: VectorIndex, queries: np.ndarray, query_ids: np.ndarray, k: int = K):
    """The index's top k for each query, its own id left out (searched k + 1)."""
    return [ids[ids != own][:k] for (_, ids), own in zip(index.search(queries, k + 1), query_ids)]


def measure(index: VectorIndex, queries: np.ndarray, query_ids: np.ndarray, truth, k: int = K) -> float:
    return recall_at_k(found_without_self(index, queries, query_ids, k), truth)


def nprobe_grid(nlist: int) -> list[int]:
    return [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if p < nlist] + [nlist]


def tune(index: VectorIndex, queries: np.ndarray, query_ids: np.ndarray, truth, target: float, k: int = K) -> None:
    """Set the index's search settings for `target` recall@k and record the recall reached."""
    if not len(queries):
        return
    if getattr(index, "trained", False) and hasattr(index, "refine"):
        _tune_refine(index, queries, query_ids, truth, target, k)
    elif getattr(index, "_index", None) is not None and hasattr(index, "nprobe"):
        _tune_nprobe(index, queries, query_ids, truth, target, k)
    if hasattr(index, "recall"):
        index.recall = measure(index, queries, query_ids, truth, k)
        log.info("%s index: recall@%d %.3f on %d held-out vectors", index.kind, k, index.recall, len(queries))


def _tune_nprobe(index, queries, query_ids, truth, target: float, k: int) -> None:
    best = (-1.0, index.nlist)
    for nprobe in nprobe_grid(index.nlist):
        index.nprobe = nprobe
        shares = recall_per_query(found_without_self(index, queries, query_ids, k), truth)
        best = max(best, (float(shares.mean()), -nprobe))
        if lower_bound(shares) >= target:
            return
    index.nprobe = -best[1]


def _tune_refine(index, queries, query_ids, truth, target: float, k: int) -> None:
    """One shortlist of k x max(REFINES) candidates per nprobe; each refine factor re-ranks a prefix."""
    per_list = len(index.rows) / index.nlist
    own_rows = index.rows.rows_of(np.asarray(query_ids, np.int64))
    refines = [r for r in REFINES if k * r <= len(index.rows)] or [1]
    options = []  # (cost, reached with confidence, mean recall, nprobe, refine)
    for nprobe in nprobe_grid(index.nlist):
        scan = nprobe * per_list * CODE_NS
        if min((o[0] for o in options if o[1] >= target), default=np.inf) <= scan:
            break  # every setting from here on scans more than a cheaper one that already reaches the target
        pool = min(k * refines[-1] + 1, len(index.rows))
        shortlist = index._candidates(queries, pool, nprobe)
        for refine, shares in _recall_by_refine(index, queries, shortlist, own_rows, truth, refines, k).items():
            mean = float(shares.mean()) if len(shares) else 1.0
            options.append((scan + k * refine * ROW_NS, lower_bound(shares), mean, nprobe, refine))
    good = [o for o in options if o[1] >= target]
    chosen = min(good) if good else max(options, key=lambda o: (o[2], -o[0]))
    index.nprobe, index.refine = chosen[3], chosen[4]


def _recall_by_refine(index, queries, shortlist, own_rows, truth, refines, k: int) -> dict[int, np.ndarray]:
    """Per refine factor, each query's recall: exact scores for each shortlist (its rows read for a block
    of queries at once: neighbouring queries share candidates, and sorted reads coalesce), then the top k
    of each refine factor's prefix."""
    dead, ids = index._dead.view(), index.rows.ids()
    shares: dict[int, list[float]] = {refine: [] for refine in refines}
    for start in range(0, len(queries), QUERY_BLOCK):
        block = slice(start, start + QUERY_BLOCK)
        lists = [r[(r >= 0) & (r != own)] for r, own in zip(shortlist[block], own_rows[block])]
        lists = [r[~dead[r]] for r in lists]
        wanted = np.unique(np.concatenate(lists))
        vectors = index.rows.read(wanted)
        for query, rows, want in zip(queries[block], lists, truth[block]):
            if not len(want):
                continue
            scores = vectors[np.searchsorted(wanted, rows)] @ query
            relevant = set(want.tolist())
            for refine in refines:
                top = rows[np.argsort(-scores[: k * refine], kind="stable")[:k]]
                shares[refine].append(len(relevant & set(ids[top].tolist())) / len(want))
    return {refine: np.asarray(values) for refine, values in shares.items()}
