"""Units of the document and photo formats: sniffing by content, HTML reading, PDF pages, RAW previews,
EXIF orientation and capture dates."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import UTC

import numpy as np
import pytest
from PIL import Image

from anyseek.engine.errors import ExtractionError
from anyseek.media.documents import docx_text, epub_text, pdf_pages
from anyseek.media.exif import exif_time
from anyseek.media.image import open_photo, open_raw
from anyseek.media.markup import html_to_text
from anyseek.media.raw import raw_preview
from anyseek.media.sniff import sniff_file
from tests.conftest import FIXTURES

FORMATS = FIXTURES / "formats"
MANIFEST = json.loads((FORMATS / "manifest.json").read_text())
CAP = 100_000_000


def _copy(tmp_path, fixture: str, name: str) -> bytes:
    target = tmp_path / name
    target.write_bytes((FORMATS / fixture).read_bytes())
    return os.fsencode(target)


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("report.pdf", "pdf"),
        ("recipe.docx", "docx"),
        ("stories.epub", "epub"),
        ("penguins.html", "html"),
        ("camera.dng", "raw"),
        ("rotated.heic", "heif"),
    ],
)
def test_formats_are_recognised_by_content_whatever_the_name(tmp_path, fixture, fmt):
    assert sniff_file(_copy(tmp_path, fixture, "no-extension")).format == fmt


def test_a_plain_zip_is_ignored_but_a_zip_named_docx_is_reported(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    (tmp_path / "archive.zip").write_bytes(buffer.getvalue())
    (tmp_path / "fake.docx").write_bytes(buffer.getvalue())
    plain = sniff_file(os.fsencode(tmp_path / "archive.zip"))
    assert plain.modality is None and plain.problem is None
    assert "not a Word document" in sniff_file(os.fsencode(tmp_path / "fake.docx")).problem


@pytest.mark.parametrize(
    "start", [b"<!DOCTYPE html>", b"<?xml version='1.0'?>\n<html xmlns='x'>", b"  <div class=a>", b"<!-- saved -->"]
)
def test_html_is_recognised_by_its_opening_markup(tmp_path, start):
    (tmp_path / "page").write_bytes(start + b"<p>Hello</p>")
    assert sniff_file(os.fsencode(tmp_path / "page")).format == "html"


def test_epub_whose_mimetype_entry_is_not_first_is_still_a_book(tmp_path):
    source = zipfile.ZipFile(FORMATS / "stories.epub")
    with zipfile.ZipFile(tmp_path / "book", "w", zipfile.ZIP_DEFLATED) as archive:
        for name in reversed(source.namelist()):  # mimetype last, and compressed
            archive.writestr(name, source.read(name))
    book = os.fsencode(tmp_path / "book")
    assert sniff_file(book).format == "epub"
    assert MANIFEST["epub"][1] in epub_text(book, 10**8)


def test_markdown_with_inline_html_stays_text(tmp_path):
    (tmp_path / "page.md").write_text("<html> is how a page begins\n\nin markdown notes")
    assert sniff_file(os.fsencode(tmp_path / "page.md")).format == "text"


def test_html_reader_keeps_the_article_and_drops_chrome_and_code():
    text = html_to_text(
        "<html><head><title>Tide  tables</title><script>if (a < b) alert(1)</script></head><body>"
        "<nav>Home | About</nav><div role='banner'>Big banner</div><p>High tide at&nbsp;noon.<br>"
        "Low tide at six.</p><img src=x alt=photo><p>Bring a <b>bucket</b>.</p><footer>© us</footer>"
    )
    assert text == "Tide tables\n\nHigh tide at noon.\nLow tide at six.\n\nBring a bucket."


def test_pdf_text_comes_page_by_page(tmp_path):
    pages = pdf_pages(os.fsencode(FORMATS / "report.pdf"), 10**8)
    assert [" ".join(p.split()) for p in pages] == MANIFEST["pdf_pages"]


def test_pdf_text_over_the_cap_is_refused(tmp_path):
    with pytest.raises(ExtractionError, match="max_text_bytes"):
        pdf_pages(os.fsencode(FORMATS / "report.pdf"), 100)


def test_docx_and_epub_text_follow_reading_order():
    assert docx_text(os.fsencode(FORMATS / "recipe.docx"), 10**8).split("\n") == MANIFEST["docx"]
    text = epub_text(os.fsencode(FORMATS / "stories.epub"), 10**8)
    first, second = (text.index(chapter) for chapter in MANIFEST["epub"])
    assert first < second


def test_docx_zip_bomb_is_refused_by_declared_size(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document>" + b" " * 2_000_000 + b"</w:document>")
    (tmp_path / "bomb.docx").write_bytes(buffer.getvalue())
    with pytest.raises(ExtractionError, match="max_text_bytes"):
        docx_text(os.fsencode(tmp_path / "bomb.docx"), 100_000)


def test_heic_is_turned_upright_by_its_exif_orientation_and_dated():
    photo = open_photo(os.fsencode(FORMATS / "rotated.heic"), CAP)
    width, height = MANIFEST["heic"]["stored_size"]
    assert photo.image.size == (height, width)  # orientation 6: stored landscape, shown portrait
    assert photo.captured_at == exif_time(MANIFEST["heic"]["taken"], MANIFEST["heic"]["offset"])


def test_jpeg_capture_date_comes_from_exif_date_time_original(tmp_path):
    exif = Image.Exif()
    exif[306] = "2025:01:01 00:00:00"  # DateTime: when the file was last written, not the shot
    exif.get_ifd(0x8769)[36867] = "2021:08:09 07:06:05"
    Image.new("RGB", (8, 8)).save(tmp_path / "shot.jpg", exif=exif.tobytes())
    Image.new("RGB", (8, 8)).save(tmp_path / "plain.jpg")
    assert open_photo(os.fsencode(tmp_path / "shot.jpg"), CAP).captured_at == exif_time("2021:08:09 07:06:05")
    assert open_photo(os.fsencode(tmp_path / "plain.jpg"), CAP).captured_at is None


def test_dng_is_read_through_its_largest_preview_turned_upright():
    preview = raw_preview((FORMATS / "camera.dng").read_bytes())
    assert Image.open(io.BytesIO(preview.jpeg)).size == tuple(MANIFEST["dng"]["preview_size"])
    photo = open_raw(os.fsencode(FORMATS / "camera.dng"), CAP)
    width, height = MANIFEST["dng"]["preview_size"]
    assert photo.image.size == (height, width)
    # orientation 6: the stored picture's left column becomes the upright picture's top row
    stored = np.asarray(Image.open(io.BytesIO(preview.jpeg)).convert("RGB"), np.float32)
    upright = np.asarray(photo.image, np.float32)
    assert np.abs(upright[0, :, :] - stored[::-1, 0, :]).mean() < 2
    assert photo.captured_at == exif_time(MANIFEST["dng"]["taken"])


def test_raw_without_a_preview_or_with_a_looping_ifd_chain_fails_cleanly():
    looping = b"II*\x00\x08\x00\x00\x00" + b"\x00\x00\x08\x00\x00\x00" + bytes(8)  # an empty IFD0 pointing at itself
    with pytest.raises(ExtractionError, match="without an embedded JPEG preview"):
        raw_preview(looping)
    with pytest.raises(ExtractionError, match="corrupt camera RAW"):
        raw_preview(b"II*\x00\xff\xff\xff\x00" + b"\x00" * 16)


@pytest.mark.parametrize(
    ("stamp", "offset", "expected"),
    [
        ("2024:05:01 10:30:00", None, "2024-05-01T10:30:00+00:00"),
        ("2024:05:01 10:30:00", "-07:00", "2024-05-01T17:30:00+00:00"),
        ("0000:00:00 00:00:00", None, None),
        ("    :  :     :  :  ", None, None),
        (b"2024:05:01 10:30:00", None, None),
    ],
)
def test_exif_times_become_utc_and_unset_clocks_are_ignored(stamp, offset, expected):
    from datetime import datetime

    got = exif_time(stamp, offset)
    assert (None if got is None else datetime.fromtimestamp(got, UTC).isoformat()) == expected


def test_an_index_from_before_pages_and_capture_dates_gains_both_columns(tmp_path):
    import sqlite3

    from anyseek.engine.store.database import DB_FILE
    from anyseek.engine.store.migrations import MIGRATIONS, m003_pages_and_capture_dates
    from anyseek.engine.store.store import ItemWrite, Store

    path = tmp_path / DB_FILE
    old = Store(path)
    old.initialize()
    old.close()
    with sqlite3.connect(path) as conn:  # the schema as version 1 left it
        conn.execute("DROP INDEX ix_items_captured_at")
        conn.execute("ALTER TABLE items DROP COLUMN captured_at")
        conn.execute("ALTER TABLE chunks DROP COLUMN page")
        conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(m003_pages_and_capture_dates)}")
    store = Store(path)
    store.initialize()
    store.write_items([ItemWrite(b"/p.jpg", 1, 1, "h", None, captured_at=1.5e9)])
    assert store.find_item(path=b"/p.jpg").captured_at == 1.5e9
    with store.engine.begin() as conn:
        m003_pages_and_capture_dates(conn)  # idempotent: a second run changes nothing
    store.close()
