"""Which kind of text a file holds, from its first few kilobytes: plain text in any common encoding, or a
text format with a structure worth reading (subtitles, email, RTF, LaTeX, Org, man pages, tables).

Plain text is recognised by content, not by name, as Recoll and `file` do: `README`, `copyright`,
`README.Debian` and `NOTES` have no extension anyone could list. Content is text when it has no NUL byte,
almost no control characters, and is valid UTF-8 or a legacy 8-bit encoding that the detector names with
confidence; executables, compressed data and random bytes fail one of these tests and stay ignored.
"""

from __future__ import annotations

import codecs
import re

# Read as plain text (or their own format below) by name alone, even before the content is checked.
PLAIN_EXTENSIONS = {".txt", ".md", ".markdown", ".rst", ".text", ".log", ".json", ".yaml", ".yml", ".ini", ".cfg"}
FORMAT_EXTENSIONS = {
    ".org": "org",
    ".tex": "tex",
    ".ltx": "tex",
    ".rtf": "rtf",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".eml": "eml",
    ".mbox": "mbox",
    ".mbx": "mbox",
    ".srt": "srt",
    ".vtt": "vtt",
    ".ass": "ass",
    ".ssa": "ass",
}
# Text that is not for reading: photo editors' metadata sidecars beside every picture (XMP, Apple's AAE),
# vector drawings, source maps, lock files, and keys and certificates (never put a private key in an
# index). Setting text_extensions reads any of them all the same.
NOT_FOR_READING = frozenset({".xmp", ".aae", ".svg", ".map", ".lock", ".pem", ".key", ".crt", ".csr", ".p12"})
PEM = b"-----BEGIN "
SUBTITLE_EXTENSIONS = frozenset(ext for ext, kind in FORMAT_EXTENSIONS.items() if kind in ("srt", "vtt", "ass"))
SAMPLE_BYTES = 8192
# C0 controls that text does not hold (tab, newline, vertical tab, form feed, carriage return and escape
# excepted: terminal logs keep colour escapes). Random bytes have ~12% of them, text none.
CONTROLS = frozenset(range(32)) - {9, 10, 11, 12, 13, 27}
MAX_CONTROL_SHARE = 0.01
MAX_CHAOS = 0.2  # charset_normalizer's "mess" ratio of its best guess; above it the guess is not trusted

SRT_TIMING = re.compile(rb"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->", re.M)
MAIL_HEADER = re.compile(
    rb"^(?:Return-Path|Received|Delivered-To|From|To|Subject|Date|Message-ID|MIME-Version|X-[\w-]+):[ \t]", re.I
)
MBOX_FROM = re.compile(rb"^From \S+ +[A-Z][a-z]{2} ")  # "From alice@example.com Mon Jan  1 00:00:00 2024"
ROFF_START = (b'.\\"', b"'\\\"", b".TH ", b".Dd ", b".so ", b'.\\" ')
MAN_NAME = re.compile(r"\.[1-9][a-z]*$")  # ls.1, git-log.1, printf.3posix


def text_format(sample: bytes, ext: str, inner_name: str = "") -> str | None:
    """The format of a text file ("text" for plain text), or None when the content is not text. `ext` is
    the file's extension in lower case; `inner_name` the name without ".gz" for a compressed file."""
    if ext in NOT_FOR_READING or sample.lstrip().startswith(PEM):
        return None
    structured = _structured(sample, ext, inner_name)
    if structured in ("rtf",):
        return structured  # RTF is 7-bit ASCII with its own escapes: the control test does not apply
    if not looks_like_text(sample):
        return None
    return structured or "text"


def _structured(sample: bytes, ext: str, name: str) -> str | None:
    head = sample.lstrip(b"\xef\xbb\xbf")
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"WEBVTT"):
        return "vtt"
    if head.lstrip().startswith(b"[Script Info]"):
        return "ass"
    if SRT_TIMING.match(head):
        return "srt"
    if ext in FORMAT_EXTENSIONS:
        return FORMAT_EXTENSIONS[ext]
    if MBOX_FROM.match(head) and MAIL_HEADER.search(head.split(b"\n", 2)[1] if head.count(b"\n") > 1 else b""):
        return "mbox"
    if _mail_headers(head):
        return "eml"
    if head.startswith(ROFF_START) or (MAN_NAME.search(name) and head.startswith((b".", b"'"))):
        return "roff"
    if ext in PLAIN_EXTENSIONS:
        return "text"
    if b"\\documentclass" in head[:4096] or b"\\begin{document}" in head:
        return "tex"
    return None


def _mail_headers(head: bytes) -> bool:
    """A saved message opens with header lines: at least three of them, a From: or Received: among them."""
    lines = head.split(b"\n", 12)[:12]
    headers = [line for line in lines if MAIL_HEADER.match(line)]
    return len(headers) >= 3 and any(line[:5].lower() in (b"from:", b"recei") for line in headers)


def looks_like_text(sample: bytes) -> bool:
    """No NUL byte, under 1% control characters, and an encoding that reads it: UTF-8 (a BOM'd UTF-16 or
    32 too), else a legacy 8-bit encoding the detector is sure of."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if not sample or b"\x00" in sample:
        return False
    controls = sum(1 for byte in sample if byte in CONTROLS)
    if controls > MAX_CONTROL_SHARE * len(sample):
        return False
    try:
        # the sample may end inside a multi-byte character: a decoder that is not told it is final keeps it
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        pass
    return _legacy_encoding_is_sure(sample)


def _legacy_encoding_is_sure(sample: bytes) -> bool:
    from anyseek.media.text import western

    if western(sample) is not None:
        return True
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    if best is None or best.chaos > MAX_CHAOS:
        return False
    decoded = str(best)
    letters = sum(ch.isalpha() for ch in decoded)
    return letters >= 0.5 * len(decoded.replace(" ", "").replace("\n", "")) if decoded.strip() else False
