"""Searching records (search/record_fusion.py): every query kind reaches them, each part is scored so a user
sees which one matched, early and late fusion and weights per query, and files and records side by side.

The tests' joint model has random weights (tests/conftest.py): pictures are found by themselves only
(the same picture as the query), text through MiniLM and Whisper, which are real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Modality
from tests.conftest import FIXTURES, TEST_SETTINGS
from tests.fuzzy import sounds_like

TICKETS = FIXTURES / "tickets"
TRUTH = json.loads((TICKETS / "truth.json").read_text())


@pytest.fixture(scope="module")
def tickets_index(tmp_path_factory, encoders):
    """The ticket collection indexed once, next to the same folder indexed as files."""
    from anyseek.engine import Engine

    folder = Path(shutil.copytree(TICKETS, tmp_path_factory.mktemp("tickets") / "tickets"))
    eng = Engine.open(tmp_path_factory.mktemp("tickets-index"), encoders=encoders, **TEST_SETTINGS)
    report = eng.index_records(folder / "tickets.csv", label_field="team")
    assert (report.added, report.failed) == (6, 0), report.errors
    eng.index([folder / "screenshots"])
    yield eng, folder
    eng.close()


def best_part(hit):
    return max((p for p in hit.parts if p.score is not None), key=lambda p: p.score)


def test_a_text_query_finds_the_ticket_and_says_which_part_matched(tickets_index):
    eng, folder = tickets_index
    hit = eng.search(text="charged twice for the March invoice", k=3, modalities="record")[0]
    assert (hit.modality, hit.record_id, hit.label) == (Modality.RECORD, "T-102", "billing")
    assert hit.path == f"{folder / 'tickets.csv'}#T-102"
    assert hit.metadata == {"priority": 2}
    assert [(p.field, p.kind) for p in hit.parts] == [
        ("description", "text"),
        ("screenshot", "file"),
        ("voice", "file"),
    ]
    assert best_part(hit).field == "description" and "invoice" in best_part(hit).snippet
    shot = hit.parts[1]
    assert (shot.modality, shot.path) == (Modality.IMAGE, str(folder / "screenshots" / "T-102.png"))
    assert all(0.0 <= p.score <= 1.0 for p in hit.parts)


def test_what_was_said_in_a_voice_note_finds_its_ticket_with_the_moment(tickets_index):
    eng, _ = tickets_index
    said = TRUTH["T-105"]["voice"]
    hit = eng.search(text="the tax number on every receipt", k=3, modalities="record")[0]
    assert hit.record_id == "T-105"
    voice = next(p for p in hit.parts if p.field == "voice")
    assert voice.modality is Modality.AUDIO and voice.start is not None and voice.end > voice.start
    assert sounds_like(voice.snippet, said), voice.snippet


def test_a_screenshot_finds_its_ticket_and_its_file(tickets_index):
    eng, folder = tickets_index
    shot = folder / "screenshots" / "T-106.png"
    # the random joint model puts every screenshot close together (and every text anywhere): the same
    # picture stands out, but not by much, so membership near the top is what is asserted
    records = eng.search(image=shot, k=6, modalities="record")
    assert "T-106" in [hit.record_id for hit in records[:2]]
    record = next(hit for hit in records if hit.record_id == "T-106")
    assert best_part(record).field == "screenshot"
    assert eng.search(image=shot, k=1, modalities="image")[0].path == str(shot)


def test_a_recording_as_the_query_finds_the_ticket_that_says_it(tickets_index):
    eng, folder = tickets_index
    results = eng.search(audio=folder / "voice" / "T-101.ogg", k=3, modalities="record")
    assert results[0].record_id == "T-101"
    assert sounds_like(results.transcripts[0], TRUTH["T-101"]["voice"])


def test_more_like_a_record_and_combined_queries(tickets_index):
    eng, folder = tickets_index
    t105 = eng.search(text="VAT number missing from the receipt", k=1, modalities="record")[0]
    like = eng.search(like=t105.item_id, k=5, modalities="record")
    assert like and all(hit.record_id != "T-105" for hit in like)  # never itself
    # words and a recording together (a picture in a query goes through the joint space, random here)
    combined = eng.search(text="invoice", audio=folder / "voice" / "T-102.ogg", k=3, modalities="record")
    assert combined[0].record_id == "T-102"
    assert {"description", "voice"} <= {p.field for p in combined[0].parts if p.score is not None}


def test_late_fusion_finds_the_ticket_through_its_parts(tickets_index):
    eng, _ = tickets_index
    hit = eng.search(text="the app crashes when the phone is rotated", k=3, modalities="record", fusion="late")[0]
    assert hit.record_id == "T-101" and hit.route == "parts:sum"


def test_early_fusion_of_text_records_goes_through_the_text_space(open_engine):
    """Records of text parts only are whole in the text space, so their fused vector is searched there
    (MiniLM, real in the tests); a record with a picture is fused in the joint space."""
    eng = open_engine()
    rows = [
        {"id": "a", "title": "Night train", "body": "The sleeper to Vienna leaves at ten.", "label": "travel"},
        {"id": "b", "title": "Tomatoes", "body": "They need full sun and water every day.", "label": "garden"},
        {"id": "c", "title": "Printer", "body": "Error QX-7731 after a paper jam.", "label": "office"},
    ]
    eng.index_records(rows, collection="notes")
    hit = eng.search(text="which train goes to Vienna overnight", k=1, fusion="early")[0]
    assert (hit.record_id, hit.route.split("+")[0]) == ("a", "fused:text")
    assert {p.field for p in hit.parts} == {"title", "body"}


def test_weights_change_what_a_record_scores_by(tickets_index):
    eng, _ = tickets_index
    query = {"text": "push notifications arrive hours late", "k": 6, "modalities": "record", "fusion": "late"}

    def t104(**options):
        return next(h for h in eng.search(**query, **options) if h.record_id == "T-104")

    # mean: the parts a query does not speak to pull a record down, so leaving one out lifts it
    mean = t104(join="mean")
    assert (
        t104(join="mean", weights={"screenshot": 0}).score
        > mean.score
        > t104(join="mean", weights="description=0").score
    )
    # sum (probabilistic): a part can only add, so leaving one out never lifts a record
    total = t104(join="sum")
    assert total.score >= t104(weights={"screenshot": 0}).score > t104(weights="description=0").score
    screenshot_only = t104(weights="description=0")
    assert best_part(screenshot_only).field == "description"  # every part is still scored and shown
    maxed = t104(join="max")
    assert maxed.score == pytest.approx(best_part(maxed).score)


def test_bad_fusion_options_are_query_errors(tickets_index):
    eng, _ = tickets_index
    for bad in ({"fusion": "middle"}, {"join": "median"}, {"weights": "caption=-1"}, {"weights": "caption"}):
        with pytest.raises(QueryError):
            eng.search(text="invoice", **bad)


def test_type_filters_keep_records_and_files_apart(tickets_index):
    eng, _ = tickets_index
    unfiltered = eng.search(text="login screen crash", k=20)
    assert {h.modality for h in unfiltered} == {Modality.RECORD, Modality.IMAGE}
    assert all(h.modality is Modality.IMAGE for h in eng.search(text="login screen crash", k=20, modalities="image"))
    assert all(h.record_id for h in eng.search(text="login screen crash", k=20, modalities="record"))


def test_a_record_hit_as_json(tickets_index):
    eng, folder = tickets_index
    data = eng.search(text="502 bad gateway on the settings page", k=1, modalities="record")[0].to_dict()
    assert data["modality"] == "record" and data["record_id"] == "T-106" and data["label"] == "web"
    parts = {p["field"]: p for p in data["parts"]}
    assert parts["voice"]["path"] == str(folder / "voice" / "T-106.ogg")
    assert parts["description"]["path"] is None and parts["description"]["kind"] == "text"
    json.dumps(data)  # all of it is JSON


def test_min_score_applies_to_the_records_score(tickets_index):
    eng, _ = tickets_index
    hits = eng.search(text="invoice charged twice", k=6, modalities="record")
    cut = eng.search(text="invoice charged twice", k=6, modalities="record", min_score=hits[0].score - 1e-6)
    assert [h.record_id for h in cut] == [hits[0].record_id]
