"""What the facade serves: a report filtered by tier and kind and cut into pages. The groups of one
index revision are kept, so paging through them over HTTP does not search again for each page."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from anyseek.engine.duplicates.finder import DuplicateFinder, DuplicateRules
from anyseek.engine.duplicates.records import DuplicateReport, Tier
from anyseek.engine.errors import QueryError
from anyseek.engine.records import Modality, Progress

DEFAULT_TIERS = (Tier.EXACT, Tier.DUPLICATE)


def parse_tiers(values: Iterable[Tier | str] | str | None, similar: bool) -> tuple[Tier, ...]:
    """None: exact and duplicate, plus similar when `similar` asks for bursts."""
    if values is None:
        return (*DEFAULT_TIERS, Tier.SIMILAR) if similar else DEFAULT_TIERS
    if isinstance(values, str):
        values = values.split(",")
    known = ", ".join(t.value for t in Tier)
    try:
        return tuple(dict.fromkeys(Tier(str(v).strip().lower()) for v in values))
    except ValueError:
        raise QueryError(f"a duplicate tier must be among {known}, got {values!r}") from None


def check_page(offset: object, limit: object) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise QueryError(f"offset must be a whole number of at least 0, not {offset!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise QueryError(f"limit must be a whole number of at least 1, not {limit!r}")


class DuplicatePages:
    def __init__(self, finder: DuplicateFinder, revision: Callable[[], int]) -> None:
        self.finder, self.revision = finder, revision
        self._kept: tuple[tuple, DuplicateReport] | None = None

    def report(
        self,
        tiers: tuple[Tier, ...],
        modalities: tuple[Modality, ...],
        offset: int = 0,
        limit: int | None = None,
        rules: DuplicateRules | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> DuplicateReport:
        similar = Tier.SIMILAR in tiers
        key = (self.revision(), similar, modalities or tuple(Modality), rules)
        if self._kept is None or self._kept[0] != key:
            found = self.finder.find(similar=similar, modalities=key[2], rules=rules, on_progress=on_progress)
            self._kept = (key, found)
        full = self._kept[1]
        groups = tuple(g for g in full.groups if g.tier in tiers)
        page = groups[offset : None if limit is None else offset + limit]
        return dataclasses.replace(full, groups=page, total=len(groups), offset=offset)
