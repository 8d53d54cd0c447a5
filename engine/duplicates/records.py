"""The records duplicate finding hands out: groups of files of one kind, each file marked keep or not.

They are wire records (engine/wire.py), as hits are: their JSON form (`anyseek duplicates --json`, `GET
/api/v1/duplicates`, the groups kept on disk for collapsing search results) comes from their declared
fields, and `from_dict` reads it back. Version 1's keys stay as they were: `{"version", "groups": [{"kind",
"tier", "similarity", "items": [{"item_id", "path", "keep"}]}]}`; the other keys were added beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from anyseek.engine.records import RAW_PATH, Modality, display_path
from anyseek.engine.wire import Record, wire

JSON_VERSION = 1
SPARSE = wire(sparse=True)


class Tier(StrEnum):
    EXACT = "exact"  # the same bytes
    DUPLICATE = "duplicate"  # the same picture, text or recording in another encoding, size or format
    SIMILAR = "similar"  # distinct shots close in content and in capture time (a burst); only on request


@dataclass(frozen=True, slots=True)
class DuplicateItem(Record):
    item_id: int
    raw_path: bytes = field(metadata=RAW_PATH)  # the exact bytes, as `path_b64` where `path` cannot carry them
    size: int = 0
    keep: bool = False
    width: int | None = field(default=None, metadata=SPARSE)  # pictures and videos, where the file says
    height: int | None = field(default=None, metadata=SPARSE)
    path: str = field(init=False, default="")  # printable (display_path); made from raw_path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", display_path(self.raw_path))


@dataclass(frozen=True, slots=True)
class DuplicateGroup(Record):
    """Files of one kind (`modality`) that hold the same content at `tier`. `similarity` in [0, 1] is the
    weakest link that joined the group (1.0 for identical bytes). The keeper comes first."""

    modality: Modality = field(metadata=wire(key="kind"))
    tier: Tier
    similarity: float = field(metadata=wire(digits=4))
    items: tuple[DuplicateItem, ...]
    bytes_freed: int = field(init=False, default=0)  # what removing every file but the keeper would free

    def __post_init__(self) -> None:
        object.__setattr__(self, "bytes_freed", sum(item.size for item in self.others))

    @property
    def keeper(self) -> DuplicateItem:
        return next(item for item in self.items if item.keep)

    @property
    def others(self) -> tuple[DuplicateItem, ...]:
        return tuple(item for item in self.items if not item.keep)


@dataclass(frozen=True, slots=True)
class DuplicateReport(Record):
    """Every group found (`total` of them), or the page of them asked for from `offset`."""

    version: int = field(default=JSON_VERSION, kw_only=True)
    groups: tuple[DuplicateGroup, ...] = ()
    total: int = 0
    offset: int = 0
    files_compared: int = 0
    seconds: float = field(default=0.0, metadata=wire(digits=3))
    warnings: tuple[str, ...] = field(default=(), metadata=SPARSE)
    bytes_freed: int = field(init=False, default=0)  # by the groups of this page

    def __post_init__(self) -> None:
        object.__setattr__(self, "bytes_freed", sum(group.bytes_freed for group in self.groups))
