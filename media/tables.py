"""Tables: CSV/TSV (the standard csv module), Excel workbooks (openpyxl) and OpenDocument spreadsheets
(odfpy), down to passages of whole rows.

A row is written with its column names (`City: Lyon; Population: 522 250`), so a value is found with
the words that say what it is, and rows are packed into passages up to the token window, so a table costs
a handful of embeddings rather than one per row. Each passage keeps its sheet and its first and last row,
numbered as the spreadsheet shows them (the header is row 1): that is the hit's location.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, ChunkKind
from anyseek.media.text import decode_text

MAX_CELL_CHARS = 500  # a cell holding a whole essay still counts, but a row stays readable
ROW_SEPARATOR = "\n"
SHEET_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # 1-based, as the spreadsheet shows it
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str | None  # None for a CSV file
    rows: Iterable[Row]  # the header first


def csv_sheet(data: bytes, tabs: bool) -> Sheet:
    text = decode_text(data)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="\t" if tabs else ",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if tabs else csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        rows = [Row(n, tuple(cells)) for n, cells in enumerate(reader, 1)]
    except csv.Error as exc:
        raise ExtractionError(f"malformed CSV at row {reader.line_num}: {exc}") from None
    return Sheet(None, rows)


def xlsx_sheets(path: bytes) -> Iterator[Sheet]:
    import zipfile

    from openpyxl import load_workbook

    try:
        # read_only streams the sheets; data_only gives the values cached by the last save, not formulas
        book = load_workbook(os.fsdecode(path), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise ExtractionError(f"corrupt Excel workbook: {exc}") from None
    try:
        for sheet in book.worksheets:
            rows = (
                Row(number, tuple(_cell(value) for value in values))
                for number, values in enumerate(sheet.iter_rows(values_only=True), sheet.min_row or 1)
            )
            yield Sheet(sheet.title, rows)
    finally:
        book.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    return str(value)


def table_passages(
    sheets: Iterable[Sheet], count_tokens: Callable[[str], int], max_tokens: int, max_chars: int
) -> list[Chunk]:
    """Each sheet's first non-empty row is its header; every later row a line of `name: value` pairs."""
    chunks: list[Chunk] = []
    offset = 0
    for sheet in sheets:
        lines = list(_row_lines(sheet.rows))
        for first, last, text in _pack(lines, count_tokens, max_tokens):
            end = offset + len(text)
            chunk = Chunk(ChunkKind.PASSAGE, len(chunks), text, offset, end, sheet=sheet.name, row=first, row_end=last)
            chunks.append(chunk)
            offset += len(text) + len(ROW_SEPARATOR)
            if offset > max_chars:
                raise ExtractionError(f"table text is over the {max_chars / 2**20:.0f} MB cap (setting max_text_bytes)")
        offset += len(SHEET_SEPARATOR) - len(ROW_SEPARATOR)
    return chunks


def _row_lines(rows: Iterable[Row]) -> Iterator[tuple[int, str]]:
    header: tuple[str, ...] | None = None
    header_row, data_rows = 0, 0
    for row in rows:
        cells = [" ".join(cell.split())[:MAX_CELL_CHARS] for cell in row.cells]
        if not any(cells):
            continue
        if header is None:  # not a line of its own: every row below carries its column names
            header, header_row = tuple(cell or f"column {i}" for i, cell in enumerate(cells, 1)), row.number
            continue
        names = header + tuple(f"column {i}" for i in range(len(header) + 1, len(cells) + 1))
        data_rows += 1
        yield row.number, "; ".join(f"{name}: {cell}" for name, cell in zip(names, cells) if cell)
    if header is not None and not data_rows:  # a one-line table: its only row is its text
        yield header_row, "; ".join(cell for cell in header if not cell.startswith("column "))


def _pack(lines: list[tuple[int, str]], count_tokens, max_tokens: int) -> Iterator[tuple[int, int, str]]:
    """Whole rows into passages of at most max_tokens (a longer row is a passage alone; the models
    truncate it)."""
    group: list[tuple[int, str]] = []
    tokens = 0
    for number, line in lines:
        line_tokens = count_tokens(line)
        if group and tokens + line_tokens > max_tokens:
            yield group[0][0], group[-1][0], ROW_SEPARATOR.join(text for _, text in group)
            group, tokens = [], 0
        group.append((number, line))
        tokens += line_tokens
    if group:
        yield group[0][0], group[-1][0], ROW_SEPARATOR.join(text for _, text in group)
