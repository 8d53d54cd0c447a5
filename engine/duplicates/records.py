"""The records duplicate finding hands out: groups of files of one kind, each file marked keep or not."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from anyseek.engine.records import Modality, display_path, path_b64

JSON_VERSION = 1


class Tier(StrEnum):
    EXACT = "exact"  # the same bytes
    DUPLICATE = "duplicate"  # the same picture, text or recording in another encoding, size or format
    SIMILAR = "similar"  # distinct shots close in content and in capture time (a burst); only on request


@dataclass(frozen=True, slots=True)
class DuplicateItem:
    item_id: int
    raw_path: bytes
    size: int
    keep: bool
    width: int | None = None  # pictures and videos, where the file says
    height: int | None = None

    @property
    def path(self) -> str:
        return display_path(self.raw_path)

    def to_dict(self) -> dict[str, object]:
        encoded = path_b64(self.raw_path)  # the exact bytes, only where `path` cannot carry them
        out = {"item_id": self.item_id, "path": self.path, "keep": self.keep}
        return out | {"path_b64": encoded} if encoded else out


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Files of one kind (`modality`) that hold the same content at `tier`. `similarity` in [0, 1] is the
    weakest link that joined the group (1.0 for identical bytes). The keeper comes first."""

    modality: Modality
    tier: Tier
    similarity: float
    items: tuple[DuplicateItem, ...]

    @property
    def keeper(self) -> DuplicateItem:
        return next(item for item in self.items if item.keep)

    @property
    def others(self) -> tuple[DuplicateItem, ...]:
        return tuple(item for item in self.items if not item.keep)

    @property
    def bytes_freed(self) -> int:
        """What removing every file but the keeper would free."""
        return sum(item.size for item in self.others)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": str(self.modality),
            "tier": str(self.tier),
            "similarity": round(self.similarity, 4),
            "items": [item.to_dict() for item in self.items],
        }


@dataclass(frozen=True, slots=True)
class DuplicateReport:
    """Every group found (`total` of them), or the page of them asked for from `offset`."""

    groups: tuple[DuplicateGroup, ...]
    total: int = 0
    offset: int = 0
    files_compared: int = 0
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def bytes_freed(self) -> int:
        return sum(group.bytes_freed for group in self.groups)

    def to_dict(self) -> dict[str, object]:
        return {"version": JSON_VERSION, "groups": [group.to_dict() for group in self.groups]}
