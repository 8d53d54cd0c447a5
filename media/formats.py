"""Every document format behind one call: a file and its sniffed format -> passages (and, for a mailbox,
its messages as members). Each format family lives in its own module, imported only when a file of its
kind is met, so a folder of photos never loads an office library:

- documents.py: PDF, DOCX, EPUB, HTML
- opendocument.py: ODT, ODS, ODP (odfpy)      - slides.py: PPTX (python-pptx), and ODP's slides
- tables.py: CSV, TSV, XLSX (openpyxl), ODS     - mail.py: EML, mbox (standard library)
- richtext.py: RTF (striprtf), LaTeX (pylatexenc), Org, man pages
- subtitles.py: SRT, WebVTT, ASS (pysubs2)     - gzip: any text format above, compressed
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib

from anyseek.engine.errors import ExtractionError
from anyseek.media.parsed import Parsed, TextWindow
from anyseek.media.text import decode_text

PATH_FORMATS = frozenset({"pdf", "docx", "epub", "html", "odt", "ods", "odp", "pptx", "xlsx", "mbox", "gz"})
MARKED_UP = frozenset({"rtf", "tex", "org", "roff"})  # richtext.py


def read_document(path: bytes, fmt: str, window: TextWindow, max_chars: int) -> Parsed:
    if fmt in PATH_FORMATS:
        return _read_path(path, fmt, window, max_chars)
    return read_bytes(_read_capped(path, max_chars), fmt, window, max_chars)


def _read_path(path: bytes, fmt: str, window: TextWindow, max_chars: int) -> Parsed:
    if fmt in ("pdf", "docx", "epub", "html"):
        from anyseek.media.documents import document_passages

        return Parsed(document_passages(path, fmt, window.split, max_chars))
    if fmt == "odt":
        from anyseek.media.opendocument import odt_text

        return Parsed(_split(odt_text(path, max_chars), window, "OpenDocument text"))
    if fmt in ("pptx", "odp"):
        from anyseek.media.slides import slide_passages

        slides = _deck(path, fmt)
        _check_size(sum(map(len, slides)), max_chars)
        return Parsed(_nonempty(slide_passages(slides, window.split), "slide deck"))
    if fmt in ("xlsx", "ods"):
        return _spreadsheet(path, fmt, window, max_chars)
    if fmt == "mbox":
        from anyseek.media.mail import mbox_parsed

        return mbox_parsed(path, window, lambda data, name: attachment_text(data, name, window, max_chars), max_chars)
    return _gunzip(path, window, max_chars)


def read_bytes(data: bytes, fmt: str, window: TextWindow, max_chars: int) -> Parsed:
    if fmt in MARKED_UP:
        from anyseek.media.richtext import org_text, roff_text, rtf_text, tex_text

        read = {"rtf": rtf_text, "tex": tex_text, "org": org_text, "roff": roff_text}[fmt]
        return Parsed(_split(read(data), window, fmt.upper()))
    if fmt in ("csv", "tsv"):
        from anyseek.media.tables import csv_sheet, table_passages

        chunks = table_passages([csv_sheet(data, fmt == "tsv")], window.count_tokens, window.max_tokens, max_chars)
        return Parsed(_nonempty(chunks, "table"))
    if fmt == "eml":
        from anyseek.media.mail import eml_parsed

        return eml_parsed(data, window, lambda data, name: attachment_text(data, name, window, max_chars))
    if fmt in ("srt", "vtt", "ass"):
        from anyseek.media.subtitles import cue_chunks, file_cues

        return Parsed(cue_chunks(file_cues(data, fmt), window))
    return Parsed(_split(decode_text(data), window, "text"))


def _spreadsheet(path: bytes, fmt: str, window: TextWindow, max_chars: int) -> Parsed:
    from anyseek.media.tables import table_passages

    if fmt == "ods":
        from anyseek.media.opendocument import ods_sheets as sheets
    else:
        from anyseek.media.tables import xlsx_sheets as sheets
    chunks = table_passages(sheets(path), window.count_tokens, window.max_tokens, max_chars)
    return Parsed(_nonempty(chunks, "spreadsheet"))


def _deck(path: bytes, fmt: str) -> list[str]:
    if fmt == "odp":
        from anyseek.media.opendocument import odp_slides

        return odp_slides(path)
    from anyseek.media.slides import pptx_slides

    return pptx_slides(path)


def _gunzip(path: bytes, window: TextWindow, max_chars: int) -> Parsed:
    """A compressed text file is read as the file it holds, named without its `.gz`."""
    from anyseek.media.sniff_text import text_format

    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read(max_chars + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ExtractionError(f"corrupt gzip file: {exc}") from None
    _check_size(len(data), max_chars)
    name = os.fsdecode(os.path.basename(path))
    name = name[:-3] if name.lower().endswith(".gz") else name
    inner = text_format(data[:8192], os.path.splitext(name)[1].lower(), name)
    if inner is None or inner in PATH_FORMATS:
        raise ExtractionError("this gzip file holds no text format anyseek reads")
    return read_bytes(data, inner, window, max_chars)


def attachment_text(data: bytes, name: str, window: TextWindow, max_chars: int) -> str | None:
    """An email attachment's text when its format is one anyseek reads (sniffed from its bytes, as any
    file is), else None. Path-based readers get it through a temporary file."""
    from anyseek.media.sniff import sniff_file

    suffix = os.path.splitext(os.path.basename(name))[1][:16]
    with tempfile.NamedTemporaryFile(prefix="anyseek-attachment-", suffix=suffix) as tmp:
        tmp.write(data[: max_chars + 1])
        tmp.flush()
        sniffed = sniff_file(os.fsencode(tmp.name))
        if sniffed.format in ("", "srt", "vtt", "ass", "mbox") or sniffed.modality is None:
            return None
        if sniffed.format == "text":
            return decode_text(data).strip() or None
        try:
            parsed = read_document(os.fsencode(tmp.name), sniffed.format, window, max_chars)
        except ExtractionError:
            return None  # a broken attachment costs its text, not the message
    return "\n".join(chunk.text or "" for chunk in parsed.chunks) or None


def _read_capped(path: bytes, max_chars: int) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(max_chars + 1)
    _check_size(len(data), max_chars)
    return data


def _check_size(size: int, max_chars: int) -> None:
    if size > max_chars:
        raise ExtractionError(f"document text is over the {max_chars / 2**20:.0f} MB cap (setting max_text_bytes)")


def _split(text: str, window: TextWindow, what: str) -> list:
    return _nonempty(window.split(text), f"{what} document" if what != "text" else "text file")


def _nonempty(chunks: list, what: str) -> list:
    if not chunks:
        raise ExtractionError(f"no text in this {what}")
    return chunks
