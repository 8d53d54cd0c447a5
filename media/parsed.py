"""What a document reader hands back (media/formats.py): passages, and for formats that hold
several dated things (a mailbox), members that become items of their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from anyseek.engine.records import Chunk
from anyseek.media.text import split_passages


@dataclass(frozen=True, slots=True)
class TextWindow:
    """How text is cut: the encoder's token counter and window (see EncoderSet.document_window)."""

    count_tokens: Callable[[str], int]
    max_tokens: int

    def split(self, text: str) -> list[Chunk]:
        return split_passages(text, self.count_tokens, self.max_tokens)


@dataclass(slots=True)
class Member:
    """One message of a mailbox: an item of its own, at `<mailbox path>/<key>` (a path no real file can
    have, since the mailbox is a file, not a folder), so that it is its own hit with its own date."""

    key: str
    chunks: list[Chunk]
    captured_at: float | None = None


@dataclass(slots=True)
class Parsed:
    chunks: list[Chunk]
    captured_at: float | None = None  # UTC epoch seconds: an email's Date
    members: list[Member] = field(default_factory=list)
