"""Union-find over item ids, and groups out of it with their suggested keeper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from anyseek.engine.duplicates.records import DuplicateGroup, DuplicateItem, Tier
from anyseek.engine.records import Item, Modality


class UnionFind:
    """Disjoint sets with path halving and union by size: near-constant time per link at any scale. Each set
    remembers its weakest link, which becomes the group's similarity."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}
        self._size: dict[int, int] = {}
        self.weakest: dict[int, float] = {}

    def find(self, x: int) -> int:
        parent = self._parent.setdefault(x, x)
        while parent != x:
            grand = self._parent[parent]
            self._parent[x] = grand
            x, parent = parent, grand
        return x

    def union_many(self, a: np.ndarray, b: np.ndarray, similarity: np.ndarray) -> None:
        """Many links at once, as if each were `union(a[i], b[i], similarity[i])`: the block's own
        components are found in C (scipy), then each member is joined to its component's first member
        with the component's weakest link. One Python step per picture, not per pair: 1,600 crops of one
        smooth wallpaper are over a million pairs, and linking them one by one took minutes."""
        if not len(a):
            return
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
        ia, ib = inverse[: len(a)], inverse[len(a) :]
        graph = coo_matrix((np.ones(len(a), np.int8), (ia, ib)), shape=(len(nodes), len(nodes)))
        count, labels = connected_components(graph, directed=False)
        weakest = np.ones(count)
        np.minimum.at(weakest, labels[ia], np.asarray(similarity, np.float64))
        first = np.full(count, -1, np.int64)
        first[labels[::-1]] = np.arange(len(nodes))[::-1]  # the lowest node index of each component
        roots = nodes[first]
        for node, label in zip(nodes.tolist(), labels.tolist(), strict=True):
            if node != roots[label]:
                self.union(int(roots[label]), node, float(weakest[label]))

    def union(self, a: int, b: int, similarity: float = 1.0) -> None:
        ra, rb = self.find(a), self.find(b)
        weakest = min(similarity, self.weakest.get(ra, 1.0), self.weakest.get(rb, 1.0))
        if ra != rb:
            if self._size.get(ra, 1) < self._size.get(rb, 1):
                ra, rb = rb, ra
            self._parent[rb] = ra
            self._size[ra] = self._size.get(ra, 1) + self._size.get(rb, 1)
        self.weakest[ra] = weakest

    def sets(self) -> list[list[int]]:
        """Every set of two or more, members in ascending order."""
        out: dict[int, list[int]] = {}
        for x in self._parent:
            out.setdefault(self.find(x), []).append(x)
        return [sorted(members) for members in out.values() if len(members) > 1]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the keeper rule looks at: the largest picture, then the richest metadata, then the oldest file
    (the one a user had first is the one other copies were made from), then the path, for a stable choice."""

    item: Item
    pixels: int = 0
    metadata: int = 0
    width: int | None = None
    height: int | None = None

    def rank(self) -> tuple:
        return (-self.pixels, -self.metadata, self.item.mtime_ns, self.item.path)


def build_groups(
    links: UnionFind, candidates: dict[int, Candidate], modality: Modality, tier_of: Callable[[list[Item]], Tier]
) -> list[DuplicateGroup]:
    groups = []
    for members in links.sets():
        ranked = sorted((candidates[m] for m in members), key=Candidate.rank)
        items = tuple(
            DuplicateItem(c.item.id, c.item.path, c.item.size, i == 0, c.width, c.height) for i, c in enumerate(ranked)
        )
        tier = tier_of([c.item for c in ranked])
        similarity = 1.0 if tier is Tier.EXACT else links.weakest.get(links.find(members[0]), 1.0)
        groups.append(DuplicateGroup(modality, tier, similarity, items))
    return groups


def same_bytes(items: Iterable[Item]) -> Tier:
    return Tier.EXACT if len({item.content_hash for item in items}) == 1 else Tier.DUPLICATE


def link_same_bytes(links: UnionFind, items: Iterable[Item]) -> None:
    """The exact tier: the store knows each file's content hash (identical files share their vectors)."""
    first: dict[str, int] = {}
    for item in items:
        if item.content_hash in first:
            links.union(first[item.content_hash], item.id, 1.0)
        else:
            first[item.content_hash] = item.id
