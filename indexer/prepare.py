"""The per-file step that runs in the decode workers: hash, recognise moves and duplicates, decode.

Anything a single file can throw is caught here, at the file boundary, and becomes a `failed` outcome
with a reason; it never stops the run.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from anyseek.engine.errors import AnyseekError, ExtractionError
from anyseek.engine.records import Item, ItemStatus
from anyseek.engine.settings import Settings
from anyseek.engine.store.store import Store
from anyseek.indexer.extract import (
    Extracted,
    ImageDecoder,
    JointPreprocessor,
    TokenWindow,
    extract,
    read_pictures_again,
)
from anyseek.indexer.extract.ocr import PictureReader
from anyseek.indexer.scan import FileEntry
from anyseek.media import file_warnings
from anyseek.media.sniff import Sniffed, sniff_file

HASH_BLOCK = 1 << 20


class Outcome(StrEnum):
    EXTRACTED = "extracted"
    TOUCHED = "touched"  # stat changed, content did not
    MOVED = "moved"
    COPIED = "copied"
    IGNORED = "ignored"
    FAILED = "failed"
    ATTACHED = "attached"  # a subtitle file read as its video's text track (indexer/companions.py)
    REREAD = "reread"  # unchanged, but its pictures' text is read again (another OCR reader, or none)


@dataclass(slots=True)
class Prepared:
    entry: FileEntry
    outcome: Outcome
    previous: Item | None = None
    content_hash: str = ""
    sniffed: Sniffed | None = None
    extracted: Extracted | None = None
    source: Item | None = None  # the item moved or copied from
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # a decoder's warnings, as report lines (file_warnings)


def hash_file(path: bytes, companions: tuple[bytes, ...] = ()) -> str:
    """The content's hash; a video's subtitle files count as its content (their names too, which carry
    the language), so a changed subtitle makes a changed video and a copy needs the same subtitles."""
    digest = hashlib.blake2b(digest_size=16)
    for name in (path, *companions):
        if name is not path:
            digest.update(b"\x00" + os.path.basename(name) + b"\x00")
        with open(name, "rb") as fh:
            while block := fh.read(HASH_BLOCK):
                digest.update(block)
    return digest.hexdigest()


class MoveClaims:
    """Items that vanished from their old path, by content hash. A new file with the same content claims
    one (once) and becomes a move rather than a fresh embedding."""

    def __init__(self, missing: list[Item]) -> None:
        self._lock = threading.Lock()
        self.claimed: set[int] = set()
        self._by_hash: dict[str, list[Item]] = {}
        for item in missing:
            if item.status == ItemStatus.OK and item.content_hash:
                self._by_hash.setdefault(item.content_hash, []).append(item)

    def hashes(self) -> frozenset[str]:
        """The contents still to be claimed (what a Ray worker checks a file's hash against)."""
        with self._lock:
            return frozenset(h for h, items in self._by_hash.items() if items)

    def claim(self, content_hash: str) -> Item | None:
        with self._lock:
            candidates = self._by_hash.get(content_hash)
            if not candidates:
                return None
            item = candidates.pop()
            self.claimed.add(item.id)
            return item


def _kind(exc: Exception) -> str:
    """`EOFError`, `struct.error`: the bare name of some library exceptions says nothing."""
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def decode_failure(exc: Exception) -> str:
    """A decoder's exception as the file's error reason."""
    if isinstance(exc, ExtractionError):
        return str(exc)
    if isinstance(exc, (OSError, MemoryError)):
        return f"{type(exc).__name__}: {exc}"
    return f"cannot decode: {_kind(exc)}: {exc}"


class Preparer:
    def __init__(
        self,
        store: Store,
        joint: JointPreprocessor,
        settings: Settings,
        claims: MoveClaims,
        window: TokenWindow,
        images: ImageDecoder | None = None,
        reader: PictureReader | None = None,
    ) -> None:
        self.store, self.joint, self.settings, self.claims, self.window = store, joint, settings, claims, window
        self.images = images  # None: images decode in the worker thread itself
        self.reader = reader  # None: OCR is off
        self.plain_extensions = settings.plain_extensions()

    def __call__(self, entry: FileEntry, previous: Item | None, again: str | None = None) -> Prepared:
        """`again` (pictures.reading_needed): an unchanged file whose "pictures" alone are read again, or
        whose whole "file" is extracted again, for the run's OCR reader."""
        result = Prepared(entry, Outcome.FAILED, previous)
        try:
            with file_warnings.collected() as said:
                if again == "pictures":
                    self._read_again(result)
                else:
                    self._prepare(result, redo=again == "file")
            result.warnings = said
        except ExtractionError as exc:
            result.outcome, result.error = Outcome.FAILED, str(exc)
        except AnyseekError:
            raise  # a model that cannot load (now loaded lazily, from here) stops the run with its own error
        except FileNotFoundError:
            result.outcome, result.error = Outcome.FAILED, "file disappeared while being indexed"
        except PermissionError:
            result.outcome, result.error = Outcome.FAILED, "permission denied: cannot read the file"
        except Exception as exc:  # noqa: BLE001 - the file boundary: a malformed file makes decoder libraries
            # raise anything (EOFError, struct.error, IndexError, ...); it is this file's error, not the run's
            result.outcome, result.error = Outcome.FAILED, decode_failure(exc)
        return result

    def _read_again(self, result: Prepared) -> None:
        """The file is indexed and stays so: a failure here costs the new reading (and is reported as a
        warning), never the item (result.extracted stays None)."""
        result.outcome, result.content_hash = Outcome.REREAD, result.previous.content_hash
        try:
            result.sniffed = sniff_file(result.entry.path, self.plain_extensions)
            result.extracted = read_pictures_again(
                result.entry.path, result.sniffed, self.joint, self.settings, self.window, self.reader
            )
        except AnyseekError as exc:
            if not isinstance(exc, ExtractionError):
                raise  # a model that cannot load stops the run, as in _prepare
            result.error = f"its pictures could not be read again: {exc}"
        except Exception as exc:  # noqa: BLE001 - the file boundary, as in __call__
            result.error = f"its pictures could not be read again: {decode_failure(exc)}"

    def _prepare(self, result: Prepared, redo: bool = False) -> None:
        entry = result.entry
        if entry.size > self.settings.max_file_bytes:
            raise ExtractionError(f"file is {entry.size / 2**30:.1f} GB, over the cap (setting max_file_bytes)")
        result.content_hash = hash_file(entry.path, entry.companions) if entry.companions else hash_file(entry.path)
        if entry.attached_to is not None:
            result.outcome = Outcome.ATTACHED
            return
        previous = result.previous
        if previous and previous.status == ItemStatus.OK and previous.content_hash == result.content_hash and not redo:
            result.outcome = Outcome.TOUCHED
            return
        if moved := self.claims.claim(result.content_hash):
            result.outcome, result.source = Outcome.MOVED, moved
            return
        result.sniffed = sniff_file(entry.path, self.plain_extensions)
        if result.sniffed.modality is None:
            if result.sniffed.problem:
                raise ExtractionError(result.sniffed.problem)
            result.outcome = Outcome.IGNORED
            return
        if source := copy_source(self.store, result.content_hash, previous):
            result.outcome, result.source = Outcome.COPIED, source
            return
        result.extracted = extract(
            entry.path,
            result.sniffed,
            self.joint,
            self.settings,
            self.window,
            self.images,
            entry.companions,
            self.reader,
        )
        result.outcome = Outcome.EXTRACTED


def copy_source(store, content_hash: str, previous: Item | None) -> Item | None:
    """An indexed item with this content whose chunks and vectors a file can reuse (not the file's own
    previous version), or None."""
    for item in store.items_with_hash(content_hash):
        if previous is None or item.id != previous.id:
            return item
    return None
