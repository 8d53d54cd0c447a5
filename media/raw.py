"""Camera RAW files by their embedded JPEG preview.

DNG, CR2, NEF, ARW, ORF, RW2, PEF and SRW are TIFF containers: next to the sensor data they carry a
JPEG rendered by the camera, usually full size or close to it. A model that sees 224 pixels gains
nothing from demosaicing the sensor data (seconds a file, and a LibRaw dependency); the camera's own
rendering is also closer to what the photographer saw. The largest JPEG in any IFD or SubIFD is used,
with the orientation and capture date of the main IFD.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from anyseek.engine.errors import ExtractionError

# TIFF magic of the RAW formats: standard TIFF, plus Olympus ORF and Panasonic RW2 variants.
RAW_MAGIC = (b"II*\x00", b"MM\x00*", b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")
TAG_COMPRESSION, TAG_STRIP_OFFSETS, TAG_STRIP_COUNTS, TAG_ORIENTATION = 259, 273, 279, 274
TAG_SUB_IFDS, TAG_JPEG_OFFSET, TAG_JPEG_LENGTH, TAG_EXIF_IFD = 330, 513, 514, 34665
TAG_DATETIME, TAG_DATETIME_ORIGINAL, TAG_OFFSET_ORIGINAL = 306, 36867, 36881
JPEG_COMPRESSIONS = {6, 7, 99}
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
MAX_IFDS = 64  # a malicious file can chain IFDs in a loop


@dataclass(frozen=True, slots=True)
class RawPreview:
    jpeg: bytes
    orientation: int  # EXIF orientation of the RAW's main IFD (1 = upright)
    datetime_original: str | None  # "YYYY:MM:DD HH:MM:SS" as EXIF writes it
    offset_original: str | None  # "+02:00" where the camera recorded its zone


class _Tiff:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.order = "<" if data[:2] == b"II" else ">"
        self.seen: set[int] = set()
        self.points_outside = False  # an offset past the end: a truncated or damaged file

    def u16(self, at: int) -> int:
        return struct.unpack_from(self.order + "H", self.data, at)[0]

    def u32(self, at: int) -> int:
        return struct.unpack_from(self.order + "I", self.data, at)[0]

    def ifd(self, offset: int) -> tuple[dict[int, tuple[int, int, int]], int]:
        """Tags of the IFD at offset as tag -> (type, count, value-or-offset position), and the next IFD."""
        if offset + 2 > len(self.data):
            self.points_outside = True
            return {}, 0
        if offset in self.seen or len(self.seen) >= MAX_IFDS:
            return {}, 0
        self.seen.add(offset)
        count = self.u16(offset)
        tags = {}
        for i in range(count):
            at = offset + 2 + 12 * i
            if at + 12 > len(self.data):
                break
            tag, kind, n = self.u16(at), self.u16(at + 2), self.u32(at + 4)
            size = TYPE_SIZES.get(kind, 1) * n
            tags[tag] = (kind, n, at + 8 if size <= 4 else self.u32(at + 8))
        end = offset + 2 + 12 * count
        return tags, self.u32(end) if end + 4 <= len(self.data) else 0

    def slice(self, start: int, length: int) -> bytes:
        if start + length > len(self.data):
            self.points_outside = True
        return self.data[start : start + length]

    def values(self, entry: tuple[int, int, int]) -> list[int]:
        kind, n, at = entry
        width = 2 if kind in (3, 8) else 4
        fmt = self.order + ("H" if width == 2 else "I")
        return [struct.unpack_from(fmt, self.data, at + width * i)[0] for i in range(min(n, 1024))]

    def text(self, entry: tuple[int, int, int]) -> str:
        _, n, at = entry
        return self.data[at : at + n].split(b"\x00")[0].decode("ascii", "replace").strip()


def raw_preview(data: bytes) -> RawPreview:
    """The largest embedded JPEG of a TIFF-based RAW file, with its orientation and capture date."""
    if data[:4] not in RAW_MAGIC or len(data) < 16:
        raise ExtractionError("not a TIFF-based camera RAW file")
    tiff = _Tiff(data)
    jpegs: list[bytes] = []
    orientation, taken, zone = 1, None, None
    try:
        ifd0, next_ifd = tiff.ifd(tiff.u32(4))
        queue = [ifd0]
        while next_ifd:
            tags, next_ifd = tiff.ifd(next_ifd)
            queue.append(tags)
        while queue:
            tags = queue.pop()
            jpegs += _jpegs_of(tiff, tags)
            if TAG_SUB_IFDS in tags:
                queue += [tiff.ifd(offset)[0] for offset in tiff.values(tags[TAG_SUB_IFDS])]
        orientation = tiff.values(ifd0[TAG_ORIENTATION])[0] if TAG_ORIENTATION in ifd0 else 1
        taken, zone = _capture_time(tiff, ifd0)
    except struct.error:
        tiff.points_outside = True
    jpegs = [j for j in jpegs if j.startswith(b"\xff\xd8")]
    if tiff.points_outside and not jpegs:
        raise ExtractionError("corrupt camera RAW file: its TIFF structure points past the end (truncated?)")
    if not jpegs:
        raise ExtractionError("camera RAW file without an embedded JPEG preview (RAW decoding is not supported)")
    return RawPreview(max(jpegs, key=len), orientation if 1 <= orientation <= 8 else 1, taken, zone)


def _jpegs_of(tiff: _Tiff, tags: dict) -> list[bytes]:
    found = []
    if TAG_JPEG_OFFSET in tags and TAG_JPEG_LENGTH in tags:
        start, length = tiff.values(tags[TAG_JPEG_OFFSET])[0], tiff.values(tags[TAG_JPEG_LENGTH])[0]
        found.append(tiff.slice(start, length))
    compression = tiff.values(tags[TAG_COMPRESSION])[0] if TAG_COMPRESSION in tags else None
    if compression in JPEG_COMPRESSIONS and TAG_STRIP_OFFSETS in tags and TAG_STRIP_COUNTS in tags:
        offsets, counts = tiff.values(tags[TAG_STRIP_OFFSETS]), tiff.values(tags[TAG_STRIP_COUNTS])
        if len(offsets) == 1:  # one strip: a whole JPEG stream (several would be lossless-JPEG tiles)
            found.append(tiff.slice(offsets[0], counts[0]))
    return found


def _capture_time(tiff: _Tiff, ifd0: dict) -> tuple[str | None, str | None]:
    taken = zone = None
    if TAG_EXIF_IFD in ifd0:
        exif, _ = tiff.ifd(tiff.values(ifd0[TAG_EXIF_IFD])[0])
        if TAG_DATETIME_ORIGINAL in exif:
            taken = tiff.text(exif[TAG_DATETIME_ORIGINAL])
        if TAG_OFFSET_ORIGINAL in exif:
            zone = tiff.text(exif[TAG_OFFSET_ORIGINAL])
    if taken is None and TAG_DATETIME in ifd0:
        taken = tiff.text(ifd0[TAG_DATETIME])
    return taken, zone
