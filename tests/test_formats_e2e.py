"""Documents (PDF, DOCX, HTML, EPUB) and photos (HEIC, DNG) end to end, from the committed fixtures in
tests/fixtures/formats: found by content, searchable, located (page, offsets), skipped when unchanged,
and reported with a reason when corrupt."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Modality
from anyseek.media.documents import document_text
from tests.conftest import FIXTURES, TEST_MODEL_FLAGS
from tests.test_cli_e2e import anyseek

FORMATS = FIXTURES / "formats"
MANIFEST = json.loads((FORMATS / "manifest.json").read_text())
FILES = [
    *("report.pdf", "scanned.pdf", "locked.pdf", "unlocked.pdf", "recipe.docx", "penguins.html", "stories.epub"),
    *("rotated.heic", "camera.dng"),
]


def _epoch(exif_stamp: str, offset: str = "+00:00") -> float:
    return datetime.strptime(exif_stamp + offset, "%Y:%m:%d %H:%M:%S%z").timestamp()


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory, encoders):
    """The fixtures under neutral names (sniffing, not the extension, must find each), and corrupt copies."""
    from anyseek.engine import Engine
    from tests.conftest import TEST_SETTINGS

    root = tmp_path_factory.mktemp("formats")
    for name in FILES:
        stem, ext = name.rsplit(".", 1)
        target = root / ("disguised-" + stem if ext in ("pdf", "docx", "epub", "html") else name)
        shutil.copyfile(FORMATS / name, target)
    bad = root / "bad"
    bad.mkdir()
    for name in ("report.pdf", "recipe.docx", "stories.epub", "rotated.heic", "camera.dng"):
        data = (FORMATS / name).read_bytes()
        (bad / name).write_bytes(data[: len(data) // 3])
    home = tmp_path_factory.mktemp("formats-index")
    engine = Engine.open(home, encoders=encoders, **TEST_SETTINGS)
    report = engine.index([root])
    yield root, engine, report
    engine.close()


def _item(engine, path: Path):
    return engine.store.find_item(path=os.fsencode(path))


def test_every_format_is_found_by_its_content_and_indexed(formats_index):
    root, engine, report = formats_index
    modalities = {
        "disguised-report": Modality.TEXT,
        "disguised-recipe": Modality.TEXT,
        "disguised-penguins": Modality.TEXT,
        "disguised-stories": Modality.TEXT,
        "rotated.heic": Modality.IMAGE,
        "camera.dng": Modality.IMAGE,
    }
    for name, modality in modalities.items():
        item = _item(engine, root / name)
        assert item is not None and item.status == "ok", (name, item)
        assert item.modality is modality


def test_pdf_hit_names_its_page_and_offsets_into_the_extracted_text(formats_index):
    root, engine, _ = formats_index
    hits = engine.search("lighthouse stairs repaired after storm damage by volunteers", k=3, modalities=["text"])
    hit = next(h for h in hits if h.path.endswith("disguised-report"))
    assert hit.page == 2
    text = document_text(os.fsencode(root / "disguised-report"), "pdf", 10**8)
    located = text[hit.char_start : hit.char_end]
    assert "Storm damage" in located and "volunteers" in located
    assert hit.to_dict()["page"] == 2


def test_scanned_pdf_without_text_layer_is_reported_as_such(formats_index):
    root, _, report = formats_index
    reasons = {Path(e.path).name: e.reason for e in report.errors}
    assert "scanned PDF" in reasons["disguised-scanned"] and "no text layer" in reasons["disguised-scanned"]


def test_password_locked_pdf_is_reported_and_an_openable_encrypted_one_is_indexed(formats_index):
    root, engine, report = formats_index
    reasons = {Path(e.path).name: e.reason for e in report.errors}
    assert "locked with a password" in reasons["disguised-locked"]
    hits = engine.search("new rowing boat paid by membership fees", k=5, modalities=["text"])
    assert any(h.path.endswith("disguised-unlocked") and h.page == 3 for h in hits)


@pytest.mark.parametrize(
    ("name", "query", "expected"),
    [
        ("disguised-recipe", "rye sourdough starter rest overnight", "rye flour"),
        ("disguised-penguins", "penguins huddle in antarctic winter storms", "Penguins of the Antarctic"),
        ("disguised-stories", "elephant painting watercolours at the circus", "elephant that painted"),
    ],
)
def test_document_passages_are_found_with_offsets_into_their_text(formats_index, name, query, expected):
    root, engine, _ = formats_index
    hits = engine.search(query, k=3, modalities=["text"])
    hit = next(h for h in hits if h.path.endswith(name))
    fmt = {"disguised-recipe": "docx", "disguised-penguins": "html", "disguised-stories": "epub"}[name]
    text = document_text(os.fsencode(root / name), fmt, 10**8)
    assert expected in text[hit.char_start : hit.char_end]
    assert hit.page is None


def test_html_boilerplate_is_not_indexed(formats_index):
    root, engine, _ = formats_index
    text = document_text(os.fsencode(root / "disguised-penguins"), "html", 10**8)
    assert MANIFEST["html_article"] in text
    for words in MANIFEST["html_boilerplate"] + ["trackVisitor", "font-family", "Travel pages"]:
        assert words not in text
    item = _item(engine, root / "disguised-penguins")
    stored = " ".join(c.chunk.text for c in engine.store.chunk_contexts(_chunk_ids(engine, item.id)).values())
    assert "newsletter" not in stored and "<p>" not in stored


def _chunk_ids(engine, item_id: int) -> list[int]:
    from sqlalchemy import select

    from anyseek.engine.store.models import ChunkRow

    with engine.store.engine.connect() as conn:
        return conn.execute(select(ChunkRow.id).where(ChunkRow.item_id == item_id)).scalars().all()


def test_heic_and_dng_are_searchable_by_their_picture_and_carry_capture_dates(formats_index):
    root, engine, _ = formats_index
    heic, dng = MANIFEST["heic"], MANIFEST["dng"]
    assert _item(engine, root / "rotated.heic").captured_at == _epoch(heic["taken"], heic["offset"])
    assert _item(engine, root / "camera.dng").captured_at == _epoch(dng["taken"])
    for name in ("rotated.heic", "camera.dng"):
        hits = engine.search(image=root / name, k=2, modalities=["image"])
        assert hits[0].path.endswith(name)
        assert hits[0].to_dict()["captured_at"].endswith("Z")


def test_capture_date_filters_keep_photos_taken_in_the_span(formats_index):
    root, engine, _ = formats_index
    names = lambda hits: {Path(h.path).name for h in hits}  # noqa: E731
    assert names(engine.search("a photo", k=10, after="2024-01-01")) == {"camera.dng"}
    assert names(engine.search("a photo", k=10, before="2024-01-01")) == {"rotated.heic"}
    assert names(engine.search("a photo", k=10, after="2024-05-03", before="2024-05-04")) == {"camera.dng"}
    assert not engine.search("a photo", k=10, after="2025-01-01")
    # the words route honours the dates too: the lighthouse report has no capture date
    assert any("report" in name for name in names(engine.search("lighthouse", k=10, mode="lexical")))
    assert not engine.search("lighthouse", k=10, mode="lexical", after="2020-01-01")
    assert names(engine.search("camera", k=10, mode="hybrid", before="2024-01-01")) == {"rotated.heic"}
    with pytest.raises(QueryError, match="not a date"):
        engine.search("a photo", after="last tuesday")


def test_unchanged_documents_and_photos_are_skipped_on_reindex(formats_index):
    root, engine, first = formats_index
    again = engine.index([root])
    assert again.added == again.updated == 0
    # error items are retried (they may have been fixed), everything that indexed is left alone
    assert again.unchanged == first.added


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("report.pdf", "PDF"),
        ("recipe.docx", "corrupt .docx document"),
        ("stories.epub", "corrupt EPUB book"),
        ("rotated.heic", "image"),
        ("camera.dng", "RAW"),
    ],
)
def test_corrupt_copy_is_reported_with_a_reason(formats_index, name, reason):
    _, _, report = formats_index
    reasons = {e.path: e.reason for e in report.errors}
    found = next(r for p, r in reasons.items() if p.endswith(f"bad/{name}"))
    assert reason in found, found


def test_result_table_shows_the_capture_date_and_page(capsys):
    from anyseek.cli import render
    from anyseek.engine.records import Hit, SearchResults

    photo = Hit(1, "/m/camera.dng", Modality.IMAGE, 0.5, 0.3, 7, captured_at=_epoch(MANIFEST["dng"]["taken"]))
    passage = Hit(2, "/m/report.pdf", Modality.TEXT, 0.4, 0.6, 9, snippet="Chapter three: finances.", page=3)
    assert render.where(photo) == "2024-05-03 09:15"
    assert render.where(passage) == "p. 3"  # the snippet follows it in the table's line
    render.search_table(SearchResults((photo, passage)))
    lines = capsys.readouterr().out.splitlines()
    assert "2024-05-03 09:15" in lines[0] and lines[1].endswith("p. 3  Chapter three: finances.")
    render.search_json(SearchResults((photo, passage)), "q")
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits[0]["captured_at"] == "2024-05-03T09:15:00Z" and hits[1]["page"] == 3


@pytest.mark.slow
def test_cli_shows_page_and_capture_date_and_filters_by_date(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # a table wide enough that no cell wraps, whatever the temp path
    media = tmp_path / "media"
    media.mkdir()
    for name in ("report.pdf", "camera.dng", "rotated.heic"):
        shutil.copyfile(FORMATS / name, media / name)
    index = tmp_path / "index"
    assert anyseek("index", str(media), *TEST_MODEL_FLAGS, index=index).returncode == 0
    table = anyseek("search", "new rowing boat paid by membership fees", "-k", "5", index=index)
    assert table.returncode == 0, table.stderr
    assert "p. 3" in table.stdout and "2023-07-14 16:45" in table.stdout  # HEIC at 18:45 +02:00
    dated = anyseek("search", "photo", "--after", "2024-05-01", "--json", index=index)
    hits = json.loads(dated.stdout)["hits"]
    assert [Path(h["path"]).name for h in hits] == ["camera.dng"]
    assert hits[0]["captured_at"] == "2024-05-03T09:15:00Z"
    bad = anyseek("search", "photo", "--after", "someday", index=index)
    assert bad.returncode != 0 and "not a date" in bad.stderr
