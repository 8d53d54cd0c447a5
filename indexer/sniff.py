"""Content type from magic bytes. The extension is only a hint, used for formats with no magic (text)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from anyseek.engine.records import Modality

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
AUDIO_EXTENSIONS = {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac"}
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".rst", ".text"}
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".3gp", ".3g2"}
# ISO media brands of video files (phones: "qt  " on iPhones, mp42/isom on Android). A container with no
# picture inside turns out a recording when it is opened (indexer/extract/video.py probe).
VIDEO_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"M4VH"}
VIDEO_MP4_BRANDS |= {b"M4VP", b"qt  ", b"XAVC", b"MSNV", b"mmp4", b"dash", b"f4v ", b"3gp4", b"3gp5", b"3gp6"}
VIDEO_MP4_BRANDS |= {b"3g2a", b"3ge6", b"3gs7", b"CAEP"}
QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}  # old .mov files have no ftyp
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
MP4_AUDIO_HINT = {".m4a", ".aac"}
BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}
HEADER_BYTES = 64
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class Sniffed:
    modality: Modality | None
    format: str  # "jpeg", "png", "text", ... or "" when unknown
    problem: str | None = None  # set when the name promises a type the content does not have


def extension(path: bytes) -> str:
    return os.fsdecode(os.path.splitext(path)[1]).lower()


def sniff_bytes(head: bytes, ext: str) -> Sniffed:
    if ext in TEXT_EXTENSIONS and head.startswith(TEXT_BOMS):
        return Sniffed(Modality.TEXT, "text")  # a UTF-16 BOM (FF FE) also looks like an MPEG frame sync
    if found := _magic(head, ext):
        return found
    if ext in TEXT_EXTENSIONS:
        return Sniffed(Modality.TEXT, "text")
    expected = "image" if ext in IMAGE_EXTENSIONS else "audio" if ext in AUDIO_EXTENSIONS else None
    if ext in VIDEO_EXTENSIONS:
        expected = "video"
    if expected is None:
        return Sniffed(None, "")
    if not head:
        return Sniffed(None, "", "empty file (0 bytes)")
    return Sniffed(None, "", f"named {ext} but its content is not a recognised {expected} format ({_describe(head)})")


def sniff_file(path: bytes) -> Sniffed:
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    return sniff_bytes(head, extension(path))


def _magic(head: bytes, ext: str) -> Sniffed | None:
    image, audio = Modality.IMAGE, Modality.AUDIO
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(image, "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(image, "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(image, "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(image, "webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed(audio, "wav")
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in BMP_DIB_SIZES:
        return Sniffed(image, "bmp")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed(image, "tiff")
    if head[4:8] == b"ftyp":
        return _iso_media(head, ext)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed(Modality.VIDEO, "avi")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM, audio-only ones included
        return Sniffed(Modality.VIDEO, "webm" if b"webm" in head else "mkv")
    if head[4:8] in QUICKTIME_ATOMS and ext in VIDEO_EXTENSIONS:
        return Sniffed(Modality.VIDEO, "mov")
    if head.startswith(b"fLaC"):
        return Sniffed(audio, "flac")
    if head.startswith(b"OggS"):
        return Sniffed(audio, "ogg")
    if head.startswith(b"ID3") or _mpeg_sync(head):
        return Sniffed(audio, "aac" if head[:2] in (b"\xff\xf1", b"\xff\xf9") else "mp3")
    return None


def _iso_media(head: bytes, ext: str) -> Sniffed | None:
    brand = head[8:12]
    if brand in HEIF_BRANDS:
        return Sniffed(Modality.IMAGE, "avif" if brand.startswith(b"avi") else "heif")
    if brand in AUDIO_MP4_BRANDS or ext in MP4_AUDIO_HINT:
        return Sniffed(Modality.AUDIO, "m4a")
    if brand in VIDEO_MP4_BRANDS or brand.startswith(b"3g") or ext in VIDEO_EXTENSIONS:
        return Sniffed(Modality.VIDEO, "mov" if brand == b"qt  " else "mp4")
    return None


def _mpeg_sync(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version, layer and bitrate index."""
    if len(head) < 3 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version, layer, bitrate = (head[1] >> 3) & 3, (head[1] >> 1) & 3, head[2] >> 4
    is_adts = (head[1] & 0xF6) == 0xF0  # AAC in ADTS: layer bits are 0 by definition
    return is_adts or (version != 1 and layer != 0 and bitrate != 0xF)


def _describe(head: bytes) -> str:
    if b"\x00" in head:
        return "binary data"
    try:
        head.decode("utf-8")
        return "looks like text"
    except UnicodeDecodeError:
        return "unknown data"
