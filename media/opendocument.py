"""OpenDocument files (LibreOffice, and what Google Docs exports) through odfpy: a text document's
paragraphs and headings, a spreadsheet's rows (read as tables.py reads any table), a presentation's slides
(each its own location, as in a PowerPoint deck)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from xml.parsers.expat import ExpatError

from anyseek.engine.errors import ExtractionError
from anyseek.media.tables import Row, Sheet

MAX_REPEAT = 256  # a repeated row or cell beyond this is the sheet's padding to its edge, not data


def load_odf(path: bytes, what: str):
    from odf.opendocument import load

    try:
        return load(os.fsdecode(path))
    except (zipfile.BadZipFile, KeyError, ExpatError, ValueError, AttributeError, EOFError) as exc:
        raise ExtractionError(f"corrupt {what}: {type(exc).__name__}: {exc}") from None


def odt_text(path: bytes, max_chars: int) -> str:
    """Headings and paragraphs in document order (lists and tables included), one per line."""
    from odf import teletype

    document = load_odf(path, "OpenDocument text")
    lines, total = [], 0
    for element in _paragraphs(document.text):
        lines.append(teletype.extractText(element))
        total += len(lines[-1])
        if total > max_chars:
            raise ExtractionError(f"document text is over the {max_chars / 2**20:.0f} MB cap (setting max_text_bytes)")
    return "\n".join(lines).strip()


def _paragraphs(node) -> Iterator:
    """text:p and text:h elements in document order; a paragraph's own text covers what it nests."""
    stack = list(reversed(node.childNodes))
    while stack:
        child = stack.pop()
        if getattr(child, "qname", (None, None))[1] in ("p", "h"):
            yield child
        else:
            stack.extend(reversed(getattr(child, "childNodes", [])))


def odp_slides(path: bytes) -> list[str]:
    """Each slide's text (its frames' paragraphs, speaker notes included), in slide order."""
    from odf import draw, teletype, text

    document = load_odf(path, "OpenDocument presentation")
    slides = []
    for page in document.presentation.getElementsByType(draw.Page):
        paragraphs = [teletype.extractText(p) for p in page.getElementsByType(text.P)]
        slides.append("\n".join(p for p in paragraphs if p.strip()))
    return slides


def ods_sheets(path: bytes) -> Iterator[Sheet]:
    from odf import table, teletype

    document = load_odf(path, "OpenDocument spreadsheet")
    for element in document.spreadsheet.getElementsByType(table.Table):
        yield Sheet(element.getAttribute("name"), _ods_rows(element, teletype))


def _ods_rows(element, teletype) -> Iterator[Row]:
    from odf import table

    number = 1
    for row in element.getElementsByType(table.TableRow):
        repeat = int(row.getAttribute("numberrowsrepeated") or 1)
        cells: list[str] = []
        for cell in row.childNodes:
            if cell.qname[1] not in ("table-cell", "covered-table-cell"):
                continue
            value = teletype.extractText(cell).strip()
            cells += [value] * (min(int(cell.getAttribute("numbercolumnsrepeated") or 1), MAX_REPEAT) if value else 1)
        if any(cells):
            for offset in range(min(repeat, MAX_REPEAT)):
                yield Row(number + offset, tuple(cells))
        number += repeat
