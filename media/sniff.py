"""Content type from magic bytes. The extension is only a hint, used for formats with no magic (text) and
to tell a camera RAW file from a plain TIFF. Documents are text: PDF by `%PDF-`, DOCX, EPUB, OpenDocument,
PowerPoint and Excel by what their zip holds, HTML by its opening markup, the text formats (plain text in
any common encoding, subtitles, email, RTF, LaTeX, Org, man pages, CSV) by sniff_text.py, and a gzip file
by what it holds once inflated."""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from anyseek.engine.records import Modality
from anyseek.media.sniff_text import SAMPLE_BYTES, text_format

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
AUDIO_EXTENSIONS = {".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac"}
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".rst", ".text"}
# Markup formats where inline HTML is normal: such a file stays plain text even if it opens with a tag.
MARKUP_EXTENSIONS = {".md", ".markdown", ".rst"}
RAW_EXTENSIONS = {".dng", ".cr2", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".pef", ".srw"}
DOCUMENT_EXTENSIONS = {".pdf", ".docx", ".epub", ".html", ".htm", ".xhtml", ".odt", ".ods", ".odp", ".pptx", ".xlsx"}
# Text formats with a reader of their own (media/formats.py); plain "text" is split as it is.
DOCUMENT_FORMATS = frozenset(
    {"pdf", "docx", "epub", "html", "odt", "ods", "odp", "pptx", "xlsx", "rtf", "tex", "org", "roff", "csv", "tsv",
     "eml", "mbox", "srt", "vtt", "ass", "gz"}
)  # fmt: skip
ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
OOXML_PARTS = {"word/document.xml": "docx", "ppt/presentation.xml": "pptx", "xl/workbook.xml": "xlsx"}
ZIP_KINDS = {".docx": "a Word document", ".pptx": "a PowerPoint deck", ".xlsx": "an Excel workbook",
             ".epub": "an EPUB book", ".odt": "an OpenDocument text", ".ods": "an OpenDocument spreadsheet",
             ".odp": "an OpenDocument presentation"}  # fmt: skip
GZIP_MAGIC = b"\x1f\x8b\x08"
RAW_VARIANT_MAGIC = (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")  # Olympus ORF, Panasonic RW2
EPUB_MIMETYPE = b"mimetypeapplication/epub+zip"
# An HTML page by the WHATWG MIME sniffing patterns: optional BOM, XML prolog and whitespace, then one of
# the tags a page (or a saved fragment) opens with, ended by a space or `>`.
HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?"
    rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]",
    re.I,
)
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".3gp", ".3g2"}
# ISO media brands of video files (phones: "qt  " on iPhones, mp42/isom on Android). A container with no
# picture inside turns out a recording when it is opened (media/video.py probe).
VIDEO_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"M4VH"}
VIDEO_MP4_BRANDS |= {b"M4VP", b"qt  ", b"XAVC", b"MSNV", b"mmp4", b"dash", b"f4v ", b"3gp4", b"3gp5", b"3gp6"}
VIDEO_MP4_BRANDS |= {b"3g2a", b"3ge6", b"3gs7", b"CAEP"}
QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}  # old .mov files have no ftyp
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
AUDIO_MP4_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
MP4_AUDIO_HINT = {".m4a", ".aac"}
BMP_DIB_SIZES = {12, 40, 52, 56, 64, 108, 124}
HEADER_BYTES = 512
TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True, slots=True)
class Sniffed:
    modality: Modality | None
    format: str  # "jpeg", "png", "text", ... or "" when unknown
    problem: str | None = None  # set when the name promises a type the content does not have


def extension(path: bytes) -> str:
    return os.fsdecode(os.path.splitext(path)[1]).lower()


def sniff_bytes(head: bytes, ext: str, plain_extensions: frozenset[str] = frozenset()) -> Sniffed:
    """`plain_extensions` (setting text_extensions): names read as plain text as they are, never as markup."""
    if ext in plain_extensions and b"\x00" not in head[:SAMPLE_BYTES]:
        return Sniffed(Modality.TEXT, "text")
    if ext in TEXT_EXTENSIONS and head.startswith(TEXT_BOMS):
        return Sniffed(Modality.TEXT, "text")  # a UTF-16 BOM (FF FE) also looks like an MPEG frame sync
    if found := _magic(head, ext):
        return found
    if ext in TEXT_EXTENSIONS:
        return Sniffed(Modality.TEXT, "text")
    expected = _expected_kind(ext)
    if expected is None and (fmt := text_format(head[:SAMPLE_BYTES], ext)):
        return Sniffed(Modality.TEXT, fmt)
    if expected is None:
        return Sniffed(None, "")
    if not head:
        return Sniffed(None, "", "empty file (0 bytes)")
    return Sniffed(None, "", f"named {ext} but its content is not a recognised {expected} format ({_describe(head)})")


def _expected_kind(ext: str) -> str | None:
    if ext in IMAGE_EXTENSIONS or ext in RAW_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return "document" if ext in DOCUMENT_EXTENSIONS else None


def kind_hint(path: bytes) -> str:
    """A file's kind by its name alone, before it is read: what progress estimates go by (a file of no known
    extension is "other"; its content decides what it really is)."""
    ext = extension(path)
    return _expected_kind(ext) or ("text" if ext in TEXT_EXTENSIONS else "other")


def sniff_file(path: bytes, plain_extensions: frozenset[str] = frozenset()) -> Sniffed:
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)  # the magic needs 512 bytes; text is judged on a few kilobytes
        ext = extension(path)
        if head.startswith(b"PK\x03\x04") and head[30:58] != EPUB_MIMETYPE:
            return _office_zip(path, ext)
        if head.startswith(GZIP_MAGIC):
            return _gzip(head, path)
        found = sniff_bytes(head, ext, plain_extensions)
        if found.format == "tiff" and is_dng(fh):
            return Sniffed(Modality.IMAGE, "raw")
    return found


def is_dng(fh: BinaryIO) -> bool:
    """Whether a TIFF's first IFD has the DNGVersion tag (50706): a DNG whatever its name."""
    try:
        fh.seek(0)
        head = fh.read(8)
        order = "<" if head[:2] == b"II" else ">"
        fh.seek(struct.unpack(order + "I", head[4:8])[0])
        count = min(struct.unpack(order + "H", fh.read(2))[0], 1024)
        entries = fh.read(12 * count)
    except (struct.error, OSError, ValueError):
        return False
    return any(struct.unpack_from(order + "H", entries, 12 * i)[0] == 50706 for i in range(len(entries) // 12))


def _gzip(head: bytes, path: bytes) -> Sniffed:
    """A gzip file is text when what it holds is (man pages, changelogs, /usr/share/doc); anything else
    (a .tar.gz, a compressed image) is no error, only nothing to read."""
    inner_name = os.fsdecode(os.path.basename(path))
    inner_name = inner_name[:-3] if inner_name.lower().endswith(".gz") else inner_name
    try:
        inner = zlib.decompressobj(wbits=31).decompress(head, SAMPLE_BYTES)
    except zlib.error as exc:
        return Sniffed(None, "", f"corrupt gzip file ({exc})") if path.lower().endswith(b".gz") else Sniffed(None, "")
    inner_ext = os.path.splitext(inner_name)[1].lower()
    if _magic(inner, inner_ext) or text_format(inner, inner_ext, inner_name) is None:
        return Sniffed(None, "")
    return Sniffed(Modality.TEXT, "gz")


def _office_zip(path: bytes, ext: str) -> Sniffed:
    """A zip is a Word, PowerPoint or Excel file when it holds their main part (its central directory says
    so), an OpenDocument file by its `mimetype` member, and an EPUB book when it holds
    META-INF/container.xml and an OPS mimetype (some tools store `mimetype` compressed or not first, which
    hides the EPUB magic at byte 30)."""
    try:
        with open(path, "rb") as fh, zipfile.ZipFile(fh) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").strip() if "mimetype" in names else b""
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        if ext in DOCUMENT_EXTENSIONS:
            return Sniffed(None, "", f"corrupt {ext} document: not a readable zip archive ({exc})")
        return Sniffed(None, "")
    for part, fmt in OOXML_PARTS.items():
        if part in names:
            return Sniffed(Modality.TEXT, fmt)
    if mimetype in ODF_MIMETYPES:
        return Sniffed(Modality.TEXT, ODF_MIMETYPES[mimetype])
    if {"mimetype", "META-INF/container.xml"} <= names:
        return Sniffed(Modality.TEXT, "epub")
    if ext in DOCUMENT_EXTENSIONS:
        return Sniffed(None, "", f"named {ext} but this zip archive is not {ZIP_KINDS.get(ext, 'an office document')}")
    return Sniffed(None, "")


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
        # Most camera RAW formats are TIFF inside; CR2 also marks itself at byte 8.
        return Sniffed(image, "raw" if ext in RAW_EXTENSIONS or head[8:10] == b"CR" else "tiff")
    if head[:4] in RAW_VARIANT_MAGIC:
        return Sniffed(image, "raw")
    if head.startswith(b"%PDF-"):
        return Sniffed(Modality.TEXT, "pdf")
    if head.startswith(b"PK\x03\x04") and head[30:58] == EPUB_MIMETYPE:
        return Sniffed(Modality.TEXT, "epub")
    if ext not in MARKUP_EXTENSIONS and HTML_START.match(head):
        return Sniffed(Modality.TEXT, "html")
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
