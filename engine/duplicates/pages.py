"""What the facade serves: a report filtered by tier and kind and cut into pages, and the groups that
collapse search results. The groups of one index revision are kept in memory, so paging through them over
HTTP does not search again for each page, and the default report (every kind, default rules) is also kept
on disk (`<index>/duplicates/groups*.json`, derived data written atomically like the vector files), so a
new process (each CLI search with --collapse-duplicates) reads it in milliseconds instead of grouping again.
Measured (docs/duplicates.md): grouping again takes seconds at 10,000 photos; reading the kept groups
back, tens of milliseconds at 100,000."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from anyseek.engine.duplicates.finder import DuplicateFinder, DuplicateRules
from anyseek.engine.duplicates.records import DuplicateGroup, DuplicateReport, Tier
from anyseek.engine.duplicates.signatures import CACHE_DIR
from anyseek.engine.errors import QueryError
from anyseek.engine.records import Modality, Progress
from anyseek.engine.vectors.persist import write_atomic

log = logging.getLogger(__name__)
DEFAULT_TIERS = (Tier.EXACT, Tier.DUPLICATE)
# What collapsing search results merges: the same content only. A burst's shots are distinct pictures (one
# with eyes closed, one in focus): a search ranks each on its own, and `duplicates --similar` chooses among them.
COLLAPSED_TIERS = DEFAULT_TIERS


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
    def __init__(self, finder: DuplicateFinder, revision: Callable[[], list], home: Path) -> None:
        """`revision`: what the groups depend on (the store's revision and its files' signature), as JSON."""
        self.finder, self.revision, self.directory = finder, revision, home / CACHE_DIR
        self._kept: tuple[tuple, DuplicateReport] | None = None
        self._members: tuple[list, dict[int, DuplicateGroup]] | None = None

    def report(
        self,
        tiers: tuple[Tier, ...],
        modalities: tuple[Modality, ...],
        offset: int = 0,
        limit: int | None = None,
        rules: DuplicateRules | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> DuplicateReport:
        full = self._full(Tier.SIMILAR in tiers, modalities or tuple(Modality), rules, on_progress)
        groups = tuple(g for g in full.groups if g.tier in tiers)
        page = groups[offset : None if limit is None else offset + limit]
        return dataclasses.replace(full, groups=page, total=len(groups), offset=offset)

    def members(self) -> Mapping[int, DuplicateGroup]:
        """item id -> its group, for every file in an exact or duplicate group (collapsing search results)."""
        revision = self.revision()
        if self._members is None or self._members[0] != revision:
            in_memory = self._kept is not None and self._kept[0][0] == tuple(revision)
            kept = None if in_memory else self._raw(revision, False)
            if kept is not None:  # a new process: the kept groups, each decoded only when a hit asks for it
                self._members = (revision, KeptGroups(kept["report"]["groups"]))
            else:
                full = self._full(False, tuple(Modality), None, None)
                groups = (g for g in full.groups if g.tier in COLLAPSED_TIERS)
                self._members = (revision, {item.item_id: group for group in groups for item in group.items})
        return self._members[1]

    def _full(self, similar, modalities, rules, on_progress) -> DuplicateReport:
        key = (tuple(self.revision()), similar, modalities, rules)
        if self._kept is None or self._kept[0] != key:
            on_disk = rules is None and modalities == tuple(Modality)  # only the default report is kept
            found = self._load(key[0], similar) if on_disk else None
            if found is None:
                found = self.finder.find(similar=similar, modalities=modalities, rules=rules, on_progress=on_progress)
                if on_disk:
                    self._save(key[0], similar, found)
            self._kept = (key, found)
        return self._kept[1]

    def _path(self, similar: bool) -> Path:
        return self.directory / ("groups-similar.json" if similar else "groups.json")

    def _load(self, revision: list, similar: bool) -> DuplicateReport | None:
        kept = self._raw(revision, similar)
        try:
            return None if kept is None else DuplicateReport.from_dict(kept["report"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("grouping duplicates again: %s could not be read (%s)", self._path(similar), exc)
            return None

    def _raw(self, revision: list, similar: bool) -> dict | None:
        """The kept groups' JSON, if they are the current revision's."""
        try:
            data = json.loads(self._path(similar).read_bytes())
            return data if data.get("revision") == list(revision) else None  # else the index changed since
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("grouping duplicates again: %s could not be read (%s)", self._path(similar), exc)
            return None

    def _save(self, revision: list, similar: bool, report: DuplicateReport) -> None:
        data = {"revision": list(revision), "report": report.to_dict(exact=True)}
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(self._path(similar), json.dumps(data).encode())
        except OSError as exc:  # a read-only index: grouped again by the next process
            log.warning("could not keep the duplicate groups: %s", exc)


class KeptGroups(Mapping[int, DuplicateGroup]):
    """item id -> its group, from the kept groups' JSON; a group is decoded when a hit asks for it, so a
    collapsed search in a new process pays for the JSON and an id map, not for every group's records
    (about a second to decode them all at 100k photos; docs/duplicates.md)."""

    def __init__(self, groups: list[dict]) -> None:
        self._raw = [group for group in groups if group.get("tier") in COLLAPSED_TIERS]
        self._row = {item["item_id"]: row for row, group in enumerate(self._raw) for item in group["items"]}
        self._decoded: dict[int, DuplicateGroup] = {}

    def __getitem__(self, item_id: int) -> DuplicateGroup:
        row = self._row[item_id]
        if row not in self._decoded:
            self._decoded[row] = DuplicateGroup.from_dict(self._raw[row])
        return self._decoded[row]

    def __iter__(self) -> Iterator[int]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)
