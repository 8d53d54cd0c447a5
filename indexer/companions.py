"""Subtitle files beside the video (or recording) they belong to, paired by name as players pair them:
`film.mkv` takes `film.srt`, `film.en.srt`, `film.en.forced.vtt`; the longest matching name wins, so
`film.part2.srt` belongs to `film.part2.mkv` when both films are there.

A paired subtitle file is not an item of its own: its cues are the video's text track, so a search lands
on the video at the cue's second. It is still stored (status "attached", no chunks), so that the next run
sees it change, appear or vanish, and indexes its video again; a subtitle file whose video is gone is
read again as a standalone timed text.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable

from anyseek.engine.records import Item, ItemStatus
from anyseek.indexer.scan import FileEntry
from anyseek.media.sniff import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS
from anyseek.media.sniff_text import SUBTITLE_EXTENSIONS

MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS
ATTACHED = ItemStatus.ATTACHED  # the item status of a subtitle file paired with its video


def _split(path: bytes) -> tuple[bytes, str, str]:
    """(folder, name without extension in lower case, extension in lower case)"""
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(os.fsdecode(name))
    return folder, stem.casefold(), ext.lower()


class MediaByName:
    """The videos and recordings of a scan, by folder, to find the one a subtitle file belongs to."""

    def __init__(self, paths: Iterable[bytes]) -> None:
        self.by_folder: dict[bytes, dict[str, bytes]] = {}
        for path in paths:
            folder, stem, ext = _split(path)
            if ext in MEDIA_EXTENSIONS:
                self.by_folder.setdefault(folder, {})[stem] = path

    def owner(self, subtitle: bytes) -> bytes | None:
        folder, stem, ext = _split(subtitle)
        media = self.by_folder.get(folder)
        if not media or ext not in SUBTITLE_EXTENSIONS:
            return None
        candidates = [name for name in media if stem == name or stem.startswith(name + ".")]
        return media[max(candidates, key=len)] if candidates else None


def pair_subtitles(files: list[FileEntry]) -> list[FileEntry]:
    """The same files, each paired subtitle marked with its video and each such video given its subtitles."""
    media = MediaByName(entry.path for entry in files)
    if not media.by_folder:
        return files
    owners = {entry.path: owner for entry in files if (owner := media.owner(entry.path))}
    if not owners:
        return files
    companions: dict[bytes, list[bytes]] = {}
    for subtitle, owner in owners.items():
        companions.setdefault(owner, []).append(subtitle)
    paired = []
    for entry in files:
        if entry.path in owners:
            entry = dataclasses.replace(entry, attached_to=owners[entry.path])
        elif entry.path in companions:
            entry = dataclasses.replace(entry, companions=tuple(sorted(companions[entry.path])))
        paired.append(entry)
    return paired


def media_to_redo(files: list[FileEntry], known: dict[bytes, Item], seen: set[bytes]) -> set[bytes]:
    """Videos whose subtitles changed since the last run, though the video did not: a paired subtitle file
    that is new or changed, or one that was paired and is gone."""
    redo = set()
    for entry in files:
        if entry.attached_to is None:
            continue
        previous = known.get(entry.path)
        stored = (previous.size, previous.mtime_ns, previous.status) if previous else None
        if stored != (entry.size, entry.mtime_ns, ATTACHED):
            redo.add(entry.attached_to)
    gone = [path for path, item in known.items() if item.status == ATTACHED and path not in seen]
    if gone:
        media = MediaByName(entry.path for entry in files)
        redo |= {owner for path in gone if (owner := media.owner(path))}
    return redo


def role_changed(entry: FileEntry, previous: Item | None) -> bool:
    """A subtitle file that became paired (its video appeared) or standalone (its video went)."""
    return previous is not None and (entry.attached_to is not None) != (previous.status == ATTACHED)
