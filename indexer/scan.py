"""Walk folders: stat only, bytes paths (so any file name round-trips), no symlink loops."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from anyseek.engine.errors import RootUnavailableError
from anyseek.engine.records import Item, ItemStatus, display_path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: bytes
    size: int
    mtime_ns: int
    companions: tuple[bytes, ...] = ()  # subtitle files beside a video (indexer/companions.py)
    attached_to: bytes | None = None  # for such a subtitle file: its video


@dataclass(frozen=True, slots=True)
class ScanProblem:
    path: bytes
    reason: str
    is_file: bool  # a file problem is recorded as an item error; a folder problem only in the report


@dataclass(slots=True)
class ScanResult:
    files: list[FileEntry] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    # Folders we could not list: items the index holds under them are kept, not deleted.
    unreadable_dirs: list[bytes] = field(default_factory=list)
    # Roots that do not exist or cannot be listed, with the reason: the run must change nothing under them.
    unavailable_roots: dict[bytes, str] = field(default_factory=dict)

    def unavailable(self, root: bytes) -> str | None:
        """Why a root cannot be read (missing, not listable), or None when it was walked."""
        if root in self.unavailable_roots:
            return self.unavailable_roots[root]
        if root in self.unreadable_dirs:
            return next((p.reason for p in self.problems if p.path == root), "cannot list folder")
        return None

    def lists_nothing_under(self, root: bytes) -> bool:
        """True when the walk found no file at all under the root (an empty folder, an unmounted drive)."""
        prefix = root.rstrip(b"/") + b"/"
        paths = [f.path for f in self.files] + [p.path for p in self.problems if p.is_file]
        return not any(path == root or path.startswith(prefix) for path in paths)


def scan(roots: Iterable[bytes], skip: Iterable[bytes] = ()) -> ScanResult:
    """Every regular file under the roots. Hidden names (a leading dot) are skipped, as are the `skip`
    folders (the index itself, when it lives inside a media folder)."""
    result = ScanResult()
    visited: set[tuple[int, int]] = set()
    skip_set = {os.path.abspath(s) for s in skip}
    for root in roots:
        try:
            info = os.stat(root)
        except OSError as exc:
            result.unavailable_roots[root] = exc.strerror or str(exc)
            continue
        if stat.S_ISDIR(info.st_mode):
            _walk(root, visited, skip_set, result)
        elif stat.S_ISREG(info.st_mode):
            result.files.append(FileEntry(root, info.st_size, info.st_mtime_ns))
    return result


def _walk(directory: bytes, visited: set[tuple[int, int]], skip: set[bytes], result: ScanResult) -> None:
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            info = os.stat(current)
        except OSError as exc:
            result.problems.append(ScanProblem(current, f"cannot read folder: {exc.strerror or exc}", False))
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited:
            result.problems.append(ScanProblem(current, "symlink loop: folder already visited, skipped", False))
            continue
        visited.add(key)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            result.problems.append(ScanProblem(current, f"cannot list folder: {exc.strerror or exc}", False))
            result.unreadable_dirs.append(current)
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith(b".") or os.path.abspath(entry.path) in skip:
                continue
            _visit(entry, subdirs, result)
        stack.extend(reversed(subdirs))


def _visit(entry: os.DirEntry, subdirs: list[bytes], result: ScanResult) -> None:
    try:
        info = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        if entry.is_symlink():
            result.problems.append(ScanProblem(entry.path, "dangling symlink: its target does not exist", True))
        return  # otherwise it was deleted since the folder was listed: nothing to index
    except OSError as exc:
        result.problems.append(ScanProblem(entry.path, f"cannot stat: {exc.strerror or exc}", True))
        return
    if stat.S_ISDIR(info.st_mode):
        subdirs.append(entry.path)
    elif stat.S_ISREG(info.st_mode):
        result.files.append(FileEntry(entry.path, info.st_size, info.st_mtime_ns))


def check_roots(roots: list[bytes], scanned: ScanResult, known: dict[bytes, Item], prune: bool) -> None:
    """Refuse, before any write, a run that would read a missing or unmounted root as "all deleted":
    embeddings are the expensive part of an index, and a typo or an unplugged drive must not cost them."""
    for root in roots:
        shown = display_path(root)
        if reason := scanned.unavailable(root):
            raise RootUnavailableError(
                f"cannot read {shown}: {reason}; nothing was changed (a typo, or a drive that is not mounted? "
                f"to forget what the index holds there, use `anyseek remove {shown}`)"
            )
        if prune or not scanned.lists_nothing_under(root):
            continue
        held = sum(1 for item in _under(known, root) if item.status == ItemStatus.OK)
        if held:
            raise RootUnavailableError(
                f"{shown} lists no files but the index holds {held} item(s) under it; nothing was changed "
                f"(a drive that is not mounted? if the files really are gone, run again with --prune)"
            )


def _under(known: dict[bytes, Item], root: bytes) -> list[Item]:
    prefix = root.rstrip(b"/") + b"/"
    return [item for path, item in known.items() if path == root or path.startswith(prefix)]
