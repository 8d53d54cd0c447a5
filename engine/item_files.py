"""Items by id: their metadata, their bytes and their thumbnails, for front ends that show results.

A file is only ever reached through the id the store gave it, and it is served only while it is still the
file that was indexed: a regular file whose size and mtime equal the stored ones, checked on the open
descriptor (fstat), so a file swapped for another one (or for a symlink to another one) between the check
and the read is never served. Symbolic links are followed as the scanner follows them: a folder or file
linked into an indexed folder on purpose was indexed through its link and is served through it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from anyseek.engine.contracts import Decoder
from anyseek.engine.errors import ExtractionError, ItemNotFoundError, MediaGoneError
from anyseek.engine.privacy import make_private_dir
from anyseek.engine.records import Item, ItemInfo, ItemStatus, Modality, display_path
from anyseek.engine.store.store import Store

THUMBNAIL_DIR = "thumbnails"
THUMBNAIL_SIZES = (16, 1024)  # smallest and largest side a thumbnail may be asked for
THUMBNAIL_QUALITY = 85

# Content types by sniffed format. Anything else (or an unknown format) is served as an opaque download,
# so an indexed HTML or SVG file can never run as a page of the server's origin.
CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "heif": "image/heif",
    "avif": "image/avif",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "text": "text/plain",
}
OPAQUE = "application/octet-stream"


@dataclass(slots=True)
class MediaFile:
    """An open, verified indexed file. The caller reads from `fd` (never from the path) and closes it."""

    item: Item
    fd: int
    size: int
    content_type: str

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def read(self, start: int, length: int) -> bytes:
        return os.pread(self.fd, length, start)


def item_info(store: Store, item_id: int) -> ItemInfo:
    return ItemInfo(indexed_item(store, item_id), tuple(store.item_chunks(item_id)))


def indexed_item(store: Store, item_id: int) -> Item:
    item = store.find_item(item_id=item_id)
    if item is None or item.status != ItemStatus.OK:
        raise ItemNotFoundError(f"no indexed item has id {item_id}")
    return item


def part_item(store: Store, item_id: int, field: str) -> Item:
    """A record's file part as the item it would be if indexed alone (path, size, mtime, modality): what
    media and thumbnails of a part are verified against. ItemNotFoundError for a text part or a failed one."""
    record = store.records_by_item([item_id]).get(item_id)
    part = record.part(field) if record else None
    if part is None or part.kind != "file" or part.error or part.path is None:
        raise ItemNotFoundError(f"item {item_id} has no indexed file part {field!r}")
    return Item(
        id=item_id,
        path=part.path,
        modality=part.modality,
        size=part.size or 0,
        mtime_ns=part.mtime_ns or 0,
        content_hash=part.content_hash,
        status="ok",
        error=None,
        indexed_at=0.0,
    )


def open_media(store: Store, item_id: int, decoder: Decoder, part: str | None = None) -> MediaFile:
    """The indexed file (or a record's file `part`), opened and verified; MediaGoneError when it is not the
    file that was indexed."""
    item = indexed_item(store, item_id) if part is None else part_item(store, item_id, part)
    if item.modality is Modality.RECORD:
        raise MediaGoneError(f"item {item_id} is a record, which has no file of its own: ask for a part by its field")
    try:
        # O_NONBLOCK: a FIFO put in the file's place must not hang the open; O_NOCTTY for device nodes
        fd = os.open(item.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except NotADirectoryError:  # `box.mbox/3`: a message inside a mailbox file (indexer/extract/mail.py)
        raise MediaGoneError(
            f"item {item_id} is a message inside the mailbox {display_path(os.path.dirname(item.path))}, "
            "which has no file of its own"
        ) from None
    except OSError:
        raise MediaGoneError(f"item {item_id} is no longer at its indexed path; re-index its folder") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_size, info.st_mtime_ns) != (item.size, item.mtime_ns):
            raise MediaGoneError(f"item {item_id} changed since it was indexed; re-index its folder")
        head = os.pread(fd, 64, 0)
    except BaseException:
        os.close(fd)
        raise
    fmt = decoder.content_format(head, os.fsdecode(os.path.splitext(item.path)[1]).lower())
    return MediaFile(item, fd, info.st_size, CONTENT_TYPES.get(fmt, OPAQUE))


def thumbnail(store: Store, home: Path, item_id: int, size: int, decoder: Decoder, part: str | None = None) -> Path:
    """A JPEG no larger than size x size, EXIF orientation applied, cached under the index folder. The cache
    key holds the file's size and mtime, so a changed file never gets its old picture."""
    if not THUMBNAIL_SIZES[0] <= size <= THUMBNAIL_SIZES[1]:
        raise ValueError(f"thumbnail size must be {THUMBNAIL_SIZES[0]}-{THUMBNAIL_SIZES[1]}")
    media = open_media(store, item_id, decoder, part)
    try:
        if media.item.modality is not Modality.IMAGE:
            what = f"item {item_id}" if part is None else f"the part {part!r} of item {item_id}"
            raise ItemNotFoundError(f"{what} is not an image and has no thumbnail")
        item = media.item
        tag = "" if part is None else hashlib.blake2b(part.encode(), digest_size=6).hexdigest() + "-"
        cached = home / THUMBNAIL_DIR / f"{item_id}-{tag}{item.size}-{item.mtime_ns}-{size}.jpg"
        if not cached.exists():
            # decoded from the verified descriptor, never by opening the path again
            with io.BufferedReader(io.FileIO(media.fd, closefd=False)) as source:
                _write_thumbnail(source, cached, size, decoder)
    finally:
        media.close()
    return cached


def _write_thumbnail(source, target: Path, size: int, decoder: Decoder) -> None:
    try:
        image = decoder.image(source, draft_size=size)
    except ExtractionError as exc:
        raise MediaGoneError(f"the image can no longer be decoded: {exc}") from None
    image.thumbnail((size, size))
    make_private_dir(target.parent)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=".thumb-", suffix=".jpg")  # mode 0600
    try:
        with os.fdopen(handle, "wb") as out:
            image.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
        os.replace(tmp, target)  # atomic: concurrent requests for one thumbnail never see half a file
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
