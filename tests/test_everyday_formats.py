"""Issue 30, tried as a new user would: a fresh folder with one file of each everyday kind, each holding one
rare sentence (tests/fixtures/make_everyday_fixtures.py builds it), indexed with the real models. Each
sentence finds its file first, at its place (slide, sheet and rows, cue seconds), subtitles answer with
their video, snippets read as a person reads them, and binaries are neither reported nor found."""

from __future__ import annotations

import email.utils
import os
from pathlib import Path

import pytest

from anyseek.cli.render import where
from anyseek.engine.records import ChunkKind, Modality, SearchResults
from tests.fixtures.make_everyday_fixtures import SENTENCES, write_everyday_folder
from tests.server_helpers import API, AUTH, client_for

CUE_TOLERANCE_S = 0.2
VIDEOS = ("talk.mp4", "tracks.mkv", "tracks.mp4")


@pytest.fixture(scope="module")
def everyday(tmp_path_factory, encoders):
    from anyseek.engine import Engine
    from tests.conftest import TEST_SETTINGS

    root = tmp_path_factory.mktemp("everyday")
    manifest = write_everyday_folder(root)
    engine = Engine.open(tmp_path_factory.mktemp("everyday-index"), encoders=encoders, **TEST_SETTINGS)
    report = engine.index([root])
    yield root, engine, report, manifest
    engine.close()


@pytest.fixture(scope="module")
def tops(everyday):
    """The best hit of each rare sentence, searched once."""
    _, engine, _, manifest = everyday
    return {name: _top(engine, sentence) for name, sentence in manifest["sentences"].items()}


def _top(engine, query: str, **filters):
    hits = engine.search(query, k=3, **filters)
    assert hits, query
    return hits[0]


def _name(root: Path, hit) -> str:
    return str(Path(hit.path).relative_to(root))


def test_every_file_of_the_folder_is_indexed_without_an_error(everyday):
    root, _, report, manifest = everyday
    assert report.failed == 0, report.errors
    assert report.ignored == len(manifest["ignored"])  # the executable and the random bytes, quietly
    assert report.added == len(manifest["sentences"])


@pytest.mark.parametrize("name", list(SENTENCES))
def test_each_rare_sentence_puts_its_file_first(everyday, tops, name):
    root = everyday[0]
    hit = tops[name]
    expected = "archive.mbox/2" if name == "archive.mbox" else name  # each message of a mailbox is its own hit
    assert _name(root, hit) == expected


def test_an_attached_document_finds_its_email(everyday):
    root, engine, _, manifest = everyday
    assert _name(root, _top(engine, manifest["attachment"])) == "message.eml"


def test_subtitle_hits_carry_their_cue_seconds_and_answer_with_the_video(everyday, tops):
    root, _, _, manifest = everyday
    for name, (start, end) in manifest["cues"].items():
        hit = tops[name]
        assert _name(root, hit) == name
        assert abs(hit.start - start) <= CUE_TOLERANCE_S and abs(hit.end - end) <= CUE_TOLERANCE_S, (name, hit)
        assert hit.modality is (Modality.VIDEO if name in VIDEOS else Modality.TEXT)
        assert "–" in where(hit)  # the CLI shows the cue's times


def test_a_subtitle_file_beside_its_video_is_not_an_item_of_its_own(everyday):
    root, engine, _, manifest = everyday
    companion = engine.store.find_item(path=os.fsencode(root / "talk.en.srt"))
    assert companion is not None and companion.status == "attached"
    hits = engine.search(manifest["sentences"]["talk.mp4"], k=10)
    assert not any(h.path.endswith(".srt") for h in hits)


def test_whisper_is_skipped_for_a_video_with_subtitles(everyday):
    root, engine, _, _ = everyday
    for name in VIDEOS:
        item = engine.store.find_item(path=os.fsencode(root / name))
        kinds = {chunk.kind for chunk in engine.item(item.id).chunks}
        assert ChunkKind.CUE in kinds and ChunkKind.FRAME in kinds and ChunkKind.SPEECH not in kinds, (name, kinds)


def test_snippets_show_the_words_a_person_reads(tops):
    snippets = {name: hit.snippet for name, hit in tops.items()}
    assert "pâtissier" in snippets["lettre"] and "crème brûlée" in snippets["lettre"]  # cp1252, no extension
    rtf = snippets["letter.rtf"]
    assert "café" in rtf and "\\" not in rtf and "rtf" not in rtf and "fonttbl" not in rtf
    assert "\\" not in snippets["paper.tex"] and "Glacier calving" in snippets["paper.tex"]  # a section title stays
    assert "#+" not in snippets["notes.org"] and ":PROPERTIES:" not in snippets["notes.org"]
    assert "TODO" not in snippets["notes.org"] and "the survey page" in snippets["notes.org"]
    assert ".TH" not in snippets["glacier.1.gz"] and "\\f" not in snippets["glacier.1.gz"]


def test_binaries_are_neither_reported_nor_found(everyday):
    root, engine, report, manifest = everyday
    reported = {Path(error.path).name for error in report.errors}
    for name in manifest["ignored"]:
        assert name not in reported
        item = engine.store.find_item(path=os.fsencode(root / name))
        assert item is not None and item.status == "ignored"
    hits = engine.search("tool noise bin blob ELF", k=50)
    assert not any(Path(h.path).name in manifest["ignored"] for h in hits)


def test_slides_sheets_and_rows_are_the_hit_location(tops):
    pptx = tops["pitch.pptx"]
    assert pptx.slide == 3 and "slide 3" in where(pptx) and pptx.to_dict()["slide"] == 3
    assert tops["deck.odp"].slide == 2
    xlsx = tops["ledger.xlsx"]
    assert xlsx.sheet == "Expeditions" and xlsx.row <= 6 <= xlsx.row_end
    assert f"Expeditions, rows {xlsx.row}–{xlsx.row_end}" in where(xlsx) or "Expeditions, row 6" in where(xlsx)
    assert {"sheet": "Expeditions", "row": xlsx.row}.items() <= xlsx.to_dict().items()
    ods = tops["budget.ods"]
    assert ods.sheet == "Costs" and ods.row <= 4 <= ods.row_end
    csv = tops["export.csv"]
    assert csv.sheet is None and csv.row <= 5 <= csv.row_end
    assert "Station: Skerryvore" in csv.snippet  # a value is shown with its column's name


@pytest.mark.parametrize("name", ["pitch.pptx", "ledger.xlsx", "export.csv", "talk.mp4"])
def test_a_hits_place_travels_through_the_http_api_to_the_clis_client(everyday, tops, name):
    """The server sends a hit as its record's JSON form and the CLI's client reads it back with the same
    definition (engine/wire.py): slide, sheet, rows and cue seconds arrive as the engine found them, so
    `search` prints the same place through a server as in-process."""
    _, engine, _, manifest = everyday
    with client_for(engine) as client:
        answer = client.post(f"{API}/search", headers=AUTH, json={"query": manifest["sentences"][name], "k": 3})
    assert answer.status_code == 200, answer.text
    remote = SearchResults.from_dict(answer.json())[0]
    assert remote == tops[name] and where(remote) == where(tops[name])


def test_each_message_of_a_mailbox_is_dated_by_its_date_header(everyday, tops):
    root, engine, _, manifest = everyday
    date = email.utils.parsedate_to_datetime(manifest["mbox_date"]).timestamp()
    hit = tops["archive.mbox"]
    assert hit.captured_at == date
    inside = engine.search("allotment meeting shipping forecast boat club dinner", k=10, after=date - 1)
    assert {"archive.mbox/2", "archive.mbox/3"} >= {_name(root, h) for h in inside if "archive.mbox" in h.path}
    eml = tops["message.eml"]
    assert eml.captured_at == email.utils.parsedate_to_datetime("Sat, 10 Aug 2024 18:00:00 +0200").timestamp()


def test_an_unchanged_folder_is_not_read_again(everyday):
    root, engine, first, _ = everyday
    again = engine.index([root])
    assert again.added == again.updated == again.deleted == again.failed == 0
    assert again.unchanged + again.ignored >= first.added  # mailbox messages and paired subtitles stay as they are
    assert engine.store.find_item(path=os.fsencode(root / "archive.mbox" / "2")) is not None
