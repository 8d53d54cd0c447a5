"""Documents: PDF (text per page), DOCX, HTML and EPUB, down to plain text cut into passages.

Every passage keeps character offsets into the document's extracted text (what `document_text` returns),
and a PDF passage its 1-based page; passages never straddle two pages.
"""

from __future__ import annotations

import os
import posixpath
import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from urllib.parse import unquote
from xml.etree import ElementTree

from PIL import Image

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk
from anyseek.media.heartbeat import still_working
from anyseek.media.markup import html_to_text
from anyseek.media.text import decode_text

PAGE_BREAK = "\n\n"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# PDFium is not thread-safe: one document at a time in a process (pypdfium2's documented rule). A PDF
# stuck inside PDFium keeps the lock (its worker is abandoned, not killed): later PDFs fail after a wait
# instead of each hanging until its own decode timeout.
_pdfium_lock = threading.Lock()
PDF_LOCK_WAIT_S = 90.0
STUCK = "another PDF has been stuck in the PDF reader for over a minute; retry this one later"

Splitter = Callable[[str], list[Chunk]]


def pdf_pages(path: bytes, max_chars: int) -> list[str]:
    """The text of each page.

    pypdfium2 over pypdf, measured side by side (bench/pdf_backends.py): both found every word of
    generated PDFs (plain, and kerned TJ arrays without spaces) and the same vocabulary in two real
    manuals, while pypdfium2 read 2.3x (plain), 14x (kerned) and 12-13x (real manuals) more pages a second.
    """
    import pypdfium2

    if not _pdfium_lock.acquire(timeout=PDF_LOCK_WAIT_S):
        raise ExtractionError(STUCK)
    try:
        return _read_pages(pypdfium2, path, max_chars)
    finally:
        _pdfium_lock.release()


def _read_pages(pypdfium2, path: bytes, max_chars: int) -> list[str]:
    pages: list[str] = []
    total = 0
    # A file object, not the path: pypdfium2 reads bytes as the document itself, and a str path would
    # not round-trip a non-UTF-8 name.
    with open(path, "rb") as fh:
        try:
            pdf = pypdfium2.PdfDocument(fh)
        except pypdfium2.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise ExtractionError("PDF locked with a password: its text cannot be read") from None
            raise ExtractionError(f"corrupt or unreadable PDF: {_pdfium_reason(exc)}") from None
        try:
            for index in range(len(pdf)):
                page = pdf[index]
                textpage = page.get_textpage()
                text = textpage.get_text_bounded().replace("\r\n", "\n").replace("\r", "\n")
                textpage.close()
                page.close()
                total += len(text)
                if total > max_chars:
                    raise ExtractionError(_too_long(max_chars))
                pages.append(text)
        except pypdfium2.PdfiumError as exc:
            raise ExtractionError(f"corrupt PDF: {_pdfium_reason(exc)}") from None
        finally:
            pdf.close()
    return pages


def _pdfium_reason(exc: Exception) -> str:
    """pypdfium2 says `Failed to load document (PDFium: Data format error).`: keep the cause."""
    text = str(exc)
    cause = re.search(r"PDFium: ([^)]*)", text)
    return cause.group(1).strip().lower() if cause else text or type(exc).__name__


def pdf_passages(path: bytes, split: Splitter, max_chars: int, unread: list[int] | None = None) -> list[Chunk]:
    """The passages of the pages that have a text layer. `unread`, when given, receives the numbers of the
    pages that have none (scanned), for a reader of pictures; without it a PDF with no text is an error."""
    pages = pdf_pages(path, max_chars)
    if unread is not None:
        unread += [number for number, text in enumerate(pages, 1) if not _has_words(text)]
    elif not any(page.strip() for page in pages):
        count = f"{len(pages)} page{'s' if len(pages) != 1 else ''}"
        raise ExtractionError(f"scanned PDF: no text layer on its {count}")
    chunks: list[Chunk] = []
    offset = 0
    for number, text in enumerate(pages, 1):
        for chunk in split(text):
            chunks.append(
                Chunk(
                    chunk.kind,
                    len(chunks),
                    chunk.text,
                    chunk.char_start + offset,
                    chunk.char_end + offset,
                    page=number,
                )
            )
        offset += len(text) + len(PAGE_BREAK)
    return chunks


def _has_words(text: str) -> bool:
    """A page's text layer worth reading: a scanned page may carry stray marks, not words."""
    return any(ch.isalnum() for ch in text)


def pdf_page_pictures(path: bytes, pages: list[int], dpi: int) -> Iterator[tuple[int, Image.Image]]:
    """Each of `pages` (1-based) rendered upright at `dpi`, one at a time. PDFium's lock is held while a page
    renders, not while its picture is used, so reading a long scan does not stall other PDFs."""
    import pypdfium2

    for number in pages:
        if not _pdfium_lock.acquire(timeout=PDF_LOCK_WAIT_S):
            raise ExtractionError(STUCK)
        try:
            with open(path, "rb") as fh:
                pdf = pypdfium2.PdfDocument(fh)
                try:
                    page = pdf[number - 1]
                    picture = page.render(scale=dpi / 72).to_pil().convert("RGB")
                    page.close()
                finally:
                    pdf.close()
        except pypdfium2.PdfiumError as exc:
            raise ExtractionError(f"corrupt PDF: page {number} cannot be drawn ({_pdfium_reason(exc)})") from None
        finally:
            _pdfium_lock.release()
        yield number, picture
        still_working()  # each page may take seconds to read: the file's time limit is for a stuck decoder


def pdf_text(path: bytes, max_chars: int) -> str:
    """The extracted text that PDF passages' offsets point into: the pages joined by blank lines."""
    return PAGE_BREAK.join(pdf_pages(path, max_chars))


def docx_text(path: bytes, max_chars: int) -> str:
    """Paragraphs of the main document part (tables included, in order), one per line."""
    with _open_zip(path, "Word document") as archive:
        body = _read_member(archive, "word/document.xml", max_chars, "Word document")
    root = _xml(body, "Word document")
    paragraphs = []
    for paragraph in root.iter(f"{W}p"):
        pieces = []
        for node in paragraph.iter():
            if node.tag == f"{W}t" and node.text:
                pieces.append(node.text)
            elif node.tag == f"{W}tab":
                pieces.append("\t")
            elif node.tag in (f"{W}br", f"{W}cr"):
                pieces.append("\n")
        paragraphs.append("".join(pieces))
    return "\n".join(paragraphs).strip()


def html_text(path: bytes, max_chars: int) -> str:
    with open(path, "rb") as fh:
        data = fh.read(max_chars + 1)
    if len(data) > max_chars:
        raise ExtractionError(_too_long(max_chars))
    return html_to_text(decode_text(data))


def epub_text(path: bytes, max_chars: int) -> str:
    """The chapters in reading order (the package's spine), each through the HTML reader."""
    with _open_zip(path, "EPUB book") as archive:
        container = _xml(_read_member(archive, "META-INF/container.xml", max_chars, "EPUB book"), "EPUB book")
        rootfile = next((e.get("full-path") for e in container.iter() if e.tag.endswith("rootfile")), None)
        if not rootfile:
            raise ExtractionError("corrupt EPUB book: META-INF/container.xml names no package file")
        package = _xml(_read_member(archive, rootfile, max_chars, "EPUB book"), "EPUB book")
        base = rootfile.rsplit("/", 1)[0] + "/" if "/" in rootfile else ""
        manifest = {e.get("id"): e.get("href") for e in package.iter() if e.tag.endswith("}item")}
        spine = [e.get("idref") for e in package.iter() if e.tag.endswith("}itemref")]
        chapters, total = [], 0
        for idref in spine:
            href = manifest.get(idref)
            if not href:
                continue
            # hrefs are URLs relative to the package file: `../Text/ch%201.xhtml`
            member = posixpath.normpath(base + unquote(href.split("#", 1)[0]))
            markup = _read_member(archive, member, max_chars, "EPUB book")
            # a chapter's <title> repeats its heading
            chapters.append(html_to_text(decode_text(markup), title=False))
            total += len(chapters[-1])
            if total > max_chars:
                raise ExtractionError(_too_long(max_chars))
    return PAGE_BREAK.join(chapter for chapter in chapters if chapter)


def _open_zip(path: bytes, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(os.fsdecode(path))  # surrogate escapes round-trip any POSIX name
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ExtractionError(f"corrupt {what}: not a readable zip archive ({exc})") from None


def _read_member(archive: zipfile.ZipFile, name: str, max_chars: int, what: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ExtractionError(f"corrupt {what}: {name} is missing") from None
    # A zip bomb declares a small file that inflates to gigabytes: refuse by the declared size first.
    if info.file_size > 8 * max_chars:
        raise ExtractionError(_too_long(max_chars))
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        raise ExtractionError(f"corrupt {what}: {name} cannot be read ({exc})") from None


def _xml(data: bytes, what: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ExtractionError(f"corrupt {what}: an XML part is not well-formed ({exc})") from None


def _too_long(max_chars: int) -> str:
    return f"document text is over the {max_chars / 2**20:.0f} MB cap (setting max_text_bytes)"


EXTRACTORS: dict[str, Callable[[bytes, int], str]] = {"docx": docx_text, "html": html_text, "epub": epub_text}


def document_passages(path: bytes, fmt: str, split: Splitter, max_chars: int) -> list[Chunk]:
    if fmt == "pdf":
        return pdf_passages(path, split, max_chars)
    text = EXTRACTORS[fmt](path, max_chars)
    if not text.strip():
        raise ExtractionError(f"no text in this {fmt.upper()} document")
    return split(text)


def document_text(path: bytes, fmt: str, max_chars: int) -> str:
    """The text that a document's passage offsets index into."""
    return pdf_text(path, max_chars) if fmt == "pdf" else EXTRACTORS[fmt](path, max_chars)
