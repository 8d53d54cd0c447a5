"""Union-find over item ids, and groups out of it with their suggested keeper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
