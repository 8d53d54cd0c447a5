"""Fingerprints of indexed pictures and videos, made on first need and kept in a cache file beside the
vector files, keyed by content hash: a copy, a rename or a re-run costs nothing, an edited file (new hash)
is fingerprinted again. The cache is derived data like the FAISS files (written atomically, rebuilt if
unreadable), so it needs no schema change and an index from before it reads as it is."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from anyseek.engine.duplicates.fingerprints import PictureFingerprint, picture_fingerprint
from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Item
from anyseek.engine.vectors.persist import write_atomic
from anyseek.media.stills import picture_still, video_stills

log = logging.getLogger(__name__)

CACHE_DIR = "duplicates"
FIELDS = ("phash", "width", "height", "metadata", "dark")


class FingerprintCache:
    """content hash -> fingerprint (pictures) or (duration, frame fingerprints) (videos), on disk as npz."""

    def __init__(self, home: Path, max_pixels: int) -> None:
        self.directory, self.max_pixels = home / CACHE_DIR, max_pixels
        self.pictures: dict[str, PictureFingerprint] = self._load("pictures")
        # a video's frames are rows "<content hash>#<duration>#<n>", in order
        self.videos: dict[str, tuple[float, tuple[PictureFingerprint, ...]]] = {}
        for key, fingerprint in self._load("frames").items():
            content_hash, duration, _ = key.rsplit("#", 2)
            frames = self.videos.get(content_hash, (0.0, ()))[1]
            self.videos[content_hash] = (float(duration), (*frames, fingerprint))
        self._changed = False

    def pictures_of(
        self, items: Iterable[Item], tick: Callable[[], None], problems: list[str]
    ) -> dict[int, PictureFingerprint]:
        """Each picture's fingerprint by item id; a file that no longer decodes is named in `problems`."""
        out = {}
        for item in items:
            if item.content_hash not in self.pictures:
                try:
                    still = picture_still(item.path, self.max_pixels)
                except (ExtractionError, OSError) as exc:
                    problems.append(f"{item.display_path}: skipped, {exc}")
                    tick()
                    continue
                self.pictures[item.content_hash] = picture_fingerprint(
                    still.image, still.width, still.height, still.metadata
                )
                self._changed = True
            out[item.id] = self.pictures[item.content_hash]
            tick()
        return out

    def videos_of(self, items: Iterable[Item], tick: Callable[[], None], problems: list[str]):
        out: dict[int, tuple[float, tuple[PictureFingerprint, ...]]] = {}
        for item in items:
            if item.content_hash not in self.videos:
                try:
                    stills = video_stills(item.path)
                except (ExtractionError, OSError) as exc:
                    problems.append(f"{item.display_path}: skipped, {exc}")
                    tick()
                    continue
                frames = tuple(
                    picture_fingerprint(f, stills.width, stills.height) if f is not None else picture_fingerprint_dark()
                    for f in stills.frames
                )
                self.videos[item.content_hash] = (stills.duration_s, frames)
                self._changed = True
            out[item.id] = self.videos[item.content_hash]
            tick()
        return out

    def save(self) -> None:
        if not self._changed:
            return
        frames = {
            f"{key}#{duration!r}#{i}": fp
            for key, (duration, prints) in self.videos.items()
            for i, fp in enumerate(prints)
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomic(self.directory / "pictures.npz", _encode(self.pictures))
            write_atomic(self.directory / "frames.npz", _encode(frames))
        except OSError as exc:  # a read-only index: the fingerprints are made again next time
            log.warning("could not save the duplicate fingerprints: %s", exc)
        self._changed = False

    def _load(self, name: str) -> dict[str, PictureFingerprint]:
        path = self.directory / f"{name}.npz"
        if not path.exists():
            return {}
        try:
            with np.load(path, allow_pickle=False) as data:
                columns = [data[f].tolist() for f in ("keys", *FIELDS)]
                colours = data["colour"]
        except (OSError, ValueError, KeyError) as exc:
            log.warning("rebuilding %s: %s", path, exc)
            return {}
        return {
            key: PictureFingerprint(int(phash), colours[i].tobytes(), width, height, metadata, bool(dark))
            for i, (key, phash, width, height, metadata, dark) in enumerate(zip(*columns, strict=True))
        }


def picture_fingerprint_dark() -> PictureFingerprint:
    """Where no frame decoded: counted as dark, so it is never compared."""
    return PictureFingerprint(0, bytes(48), 0, 0, 0, dark=True)


def _encode(prints: dict[str, PictureFingerprint]) -> bytes:
    keys = list(prints)
    values = list(prints.values())
    buffer = io.BytesIO()
    np.savez(
        buffer,
        keys=np.asarray(keys, dtype=str),
        phash=np.asarray([v.phash for v in values], dtype=np.uint64),
        width=np.asarray([v.width for v in values], dtype=np.int64),
        height=np.asarray([v.height for v in values], dtype=np.int64),
        metadata=np.asarray([v.metadata for v in values], dtype=np.int64),
        dark=np.asarray([v.dark for v in values], dtype=bool),
        colour=np.frombuffer(b"".join(v.colour for v in values), dtype=np.uint8).reshape(len(values), 48),
    )
    return buffer.getvalue()
