"""The Engine's duplicates method (engine/facade.py mixes it in, so the facade stays one screenful per
concern): groups of duplicate files, paged, computed once per index revision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from anyseek.engine.duplicates import DuplicateFinder, DuplicateReport, DuplicateRules, Tier
from anyseek.engine.duplicates.pages import DuplicatePages, check_page, parse_tiers
from anyseek.engine.records import Modality, Progress
from anyseek.engine.request import parse_modalities


class DuplicateMethods:
    def duplicates(
        self,
        *,
        similar: bool = False,
        tiers: Iterable[Tier | str] | str | None = None,
        modalities: Iterable[Modality | str] | str = (),
        offset: int = 0,
        limit: int | None = None,
        rules: DuplicateRules | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> DuplicateReport:
        """Groups of duplicate files, largest savings first, each with its suggested keeper. Tiers: "exact"
        (same bytes), "duplicate" (same picture, text or recording in another encoding, size or format) and,
        with `similar=True` or asked for in `tiers`, "similar" (bursts). `offset`/`limit` page the groups
        (`total` counts them all). Reads files, never changes one."""
        check_page(offset, limit)
        wanted = parse_tiers(tiers, similar)
        return self._duplicates().report(wanted, parse_modalities(modalities), offset, limit, rules, on_progress)

    def _duplicates(self) -> DuplicatePages:
        """The groups, kept per index revision in memory and on disk (search with collapse_duplicates reads
        them too: engine/search/collapse.py)."""
        if not hasattr(self, "_duplicate_pages"):
            store, settings = self.store, self.settings  # type: ignore[attr-defined]
            finder = DuplicateFinder(store, self.catalog, self.home, settings.max_image_pixels)  # type: ignore[attr-defined]
            revision = lambda: [store.revision(), *store.files_signature()]  # noqa: E731
            self._duplicate_pages = DuplicatePages(finder, revision, self.home)  # type: ignore[attr-defined]
        return self._duplicate_pages
