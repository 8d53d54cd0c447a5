"""One hit per group of duplicate files (`collapse_duplicates`): the best-ranked file of each group stands
for it and carries the group's size and its other files; files in no group pass as they are.

The groups come from engine/duplicates (exact and duplicate tiers, kept per index revision), never
computed per query. A group is the index's whole group: a copy outside the searched folder or below
`min_score` still counts and is listed, since the question a collapsed hit answers is "which other files
hold this content". Collapsing removes hits, so the searcher is asked for more (doubling the pool, up to
MAX_POOL) until `wanted` distinct hits are found or the results run out: paging (`offset`) and sorting by
date then work on the collapsed list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from anyseek.engine.duplicates.records import DuplicateGroup
from anyseek.engine.records import Duplicate, Hit, SearchResults

MAX_POOL = 4000  # hits one search may look through to fill its page after collapsing


def collapsed(
    search: Callable[[int], SearchResults], groups: Mapping[int, DuplicateGroup], wanted: int
) -> SearchResults:
    """`search(n)` gives the n best hits; the answer holds up to `wanted` hits, one per group."""
    pool = wanted
    while True:
        results = search(pool)
        hits = collapse(results.hits, groups)
        if len(hits) >= wanted or len(results.hits) < pool or pool >= MAX_POOL:
            return dataclasses.replace(results, hits=hits[:wanted])
        pool = min(MAX_POOL, pool + 2 * (pool - len(hits)) + 10)  # about what the removed hits need again


def collapse(hits: tuple[Hit, ...], groups: Mapping[int, DuplicateGroup]) -> tuple[Hit, ...]:
    """The hits in their order, each group at its best-ranked hit's place, standing for the group. Of hits
    tied at the top of a group (exact copies share their vectors, so always tie), the keeper stands."""
    shown: dict[int, Hit] = {}  # a group's keeper's id -> the hit that stands for it
    order: list[Hit | int] = []
    for hit in hits:
        group = groups.get(hit.item_id)
        if group is None:
            order.append(hit)
            continue
        keeper = group.items[0].item_id
        if keeper not in shown:
            shown[keeper] = hit
            order.append(keeper)
        elif hit.item_id == keeper and hit.score >= shown[keeper].score:
            shown[keeper] = hit
    return tuple(entry if isinstance(entry, Hit) else _standing(shown[entry], groups[entry]) for entry in order)


def _standing(hit: Hit, group: DuplicateGroup) -> Hit:
    others = tuple(Duplicate(i.item_id, i.path, i.raw_path) for i in group.items if i.item_id != hit.item_id)
    return dataclasses.replace(hit, group_size=len(group.items), duplicates=others)
