"""Indexing record collections (indexer/collection.py): parts to chunks, incremental runs, removed ids, broken
rows and parts, and a folder run that never mistakes a record for a vanished file."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from anyseek.engine.records import ChunkKind, Modality, Space
from tests.conftest import FIXTURES
from tests.media import photo

TICKETS = FIXTURES / "tickets"


@pytest.fixture()
def tickets(tmp_path) -> Path:
    """A fresh copy of the ticket fixture (tickets.csv, screenshots, voice notes)."""
    return Path(shutil.copytree(TICKETS, tmp_path / "tickets")) / "tickets.csv"


def rows(manifest: Path) -> list[dict]:
    with open(manifest, newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(manifest: Path, data: list[dict]) -> None:
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)


class EncodeCounter:
    """Counts the texts and images the models embed (wraps the real models; nothing is faked)."""

    def __init__(self, monkeypatch, encoders) -> None:
        self.texts: list[str] = []
        self.images = 0
        joint, text = encoders.joint, encoders.text
        for model in (joint, text):
            real = model.encode_texts
            monkeypatch.setattr(model, "encode_texts", lambda texts, real=real: self._texts(texts, real))
        real_images = joint.encode_images
        monkeypatch.setattr(joint, "encode_images", lambda pixels: self._images(pixels, real_images))

    def _texts(self, texts, real):
        self.texts += list(texts)
        return real(texts)

    def _images(self, pixels, real):
        self.images += len(pixels)
        return real(pixels)


def test_a_ticket_collection_is_indexed_part_by_part(open_engine, tickets):
    eng = open_engine()
    report = eng.index_records(tickets, label_field="team")
    assert (report.added, report.failed, report.errors) == (6, 0, [])
    status = eng.status()
    assert status.items == {"record": 6}
    assert status.chunks["image"] == 6 and status.chunks["record"] == 6
    assert status.chunks["speech"] >= 4 and status.chunks["passage"] == 6
    info = eng.item(eng.search(text="charged twice for the invoice", k=1, modalities="record")[0].item_id)
    assert {c.field for c in info.chunks} == {"description", "screenshot", "voice", None}  # None: the fused chunk
    fused = [c for c in info.chunks if c.kind is ChunkKind.RECORD]
    assert len(fused) == 1 and fused[0].text is None


def test_an_unchanged_collection_costs_no_model(open_engine, tickets, encoders, monkeypatch):
    eng = open_engine()
    eng.index_records(tickets, label_field="team")
    counter = EncodeCounter(monkeypatch, encoders)
    again = eng.index_records(tickets, label_field="team")
    assert (again.unchanged, again.added, again.updated) == (6, 0, 0)
    assert counter.texts == [] and counter.images == 0


def test_a_new_label_or_description_re_embeds_only_what_changed(open_engine, tickets, encoders, monkeypatch):
    eng = open_engine()
    eng.index_records(tickets, label_field="team")
    data = rows(tickets)
    data[0]["team"] = "platform"
    data[1]["description"] = "I was billed two times for one invoice."
    write_rows(tickets, data)
    counter = EncodeCounter(monkeypatch, encoders)
    report = eng.index_records(tickets, label_field="team")
    assert (report.updated, report.unchanged) == (2, 4)
    assert set(counter.texts) == {"I was billed two times for one invoice."}  # in each text space
    assert counter.images == 0  # the screenshots and voice notes kept their vectors
    hit = eng.search(text="billed two times", k=1, modalities="record")[0]
    assert hit.record_id == "T-102"
    relabelled = eng.search(text="rotate the phone login crash", k=1, modalities="record")[0]
    assert (relabelled.record_id, relabelled.label) == ("T-101", "platform")


def test_a_changed_part_file_is_embedded_again(open_engine, tickets, encoders, monkeypatch):
    eng = open_engine()
    eng.index_records(tickets, label_field="team")
    photo(9, (200, 140)).save(tickets.parent / "screenshots" / "T-103.png")
    counter = EncodeCounter(monkeypatch, encoders)
    report = eng.index_records(tickets, label_field="team")
    assert report.updated == 1 and counter.images == 1 and counter.texts == []
    hit = eng.search(image=tickets.parent / "screenshots" / "T-103.png", k=1)[0]
    assert hit.record_id == "T-103" and max(hit.parts, key=lambda p: p.score or 0).field == "screenshot"


def test_removed_ids_leave_the_index_unless_a_row_is_unreadable(open_engine, tickets):
    eng = open_engine()
    eng.index_records(tickets, label_field="team")
    data = rows(tickets)
    write_rows(tickets, data[:4] + [{**data[4], "id": ""}])  # T-105's id is gone: it may be any of the others
    report = eng.index_records(tickets, label_field="team")
    assert report.deleted == 0 and any("no record was removed" in w.reason for w in report.warnings)
    assert eng.status().items == {"record": 6}
    write_rows(tickets, data[:4])
    report = eng.index_records(tickets, label_field="team")
    assert report.deleted == 2 and eng.status().items == {"record": 4}
    assert all(h.record_id not in ("T-105", "T-106") for h in eng.search(text="receipt VAT number", k=10))


def test_a_part_that_fails_to_decode_is_the_records_error_and_the_rest_is_indexed(open_engine, tickets):
    (tickets.parent / "voice" / "T-101.ogg").write_bytes(b"OggS" + b"\x00" * 40)  # a truncated recording
    eng = open_engine()
    report = eng.index_records(tickets, label_field="team")
    assert report.added == 6 and report.failed == 1
    (error,) = report.errors
    assert error.path.endswith("tickets.csv row 2 (id 'T-101'), field 'voice'"), error.path
    hit = eng.search(text="app crashes when rotating the phone", k=1, modalities="record")[0]
    assert hit.record_id == "T-101"
    voice = next(p for p in hit.parts if p.field == "voice")
    assert voice.error and voice.score is None
    again = eng.index_records(tickets, label_field="team")
    assert (again.unchanged, again.known_failed, len(again.errors)) == (6, 1, 1)  # not decoded again
    retried = eng.index_records(tickets, label_field="team", retry_failed=True)
    assert retried.updated == 1 and retried.failed == 1


def test_broken_rows_are_reported_and_the_other_rows_indexed(open_engine, tmp_path):
    manifest = tmp_path / "notes.jsonl"
    lines = [
        {"id": "a", "text": "a note about tomatoes"},
        {"text": "no id here"},
        {"id": "a", "text": "the same id again"},
        {"id": "b", "text": "see the login/settings page"},
        {"id": "c", "text": "shots/missing.png"},
    ]
    manifest.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    eng = open_engine()
    report = eng.index_records(manifest)
    assert report.added == 3 and report.scanned == 5
    assert [e.path.rsplit("/", 1)[-1] for e in report.errors] == [
        "notes.jsonl row 2, field 'id'",
        "notes.jsonl row 3 (id 'a'), field 'id'",
    ]
    assert len(report.warnings) == 1 and "row 5 (id 'c'), field 'text'" in report.warnings[0].path


def test_python_rows_are_a_named_collection(open_engine, tmp_path):
    photo(3).save(tmp_path / "shot.png")
    eng = open_engine()
    records = [{"id": 1, "caption": "a quiet harbour in winter", "picture": "shot.png", "label": "sea", "n": 3}]
    report = eng.index_records(iter(records), collection="harbour", base=tmp_path)
    assert report.added == 1
    hit = eng.search(text="harbour in winter", k=1)[0]
    assert (hit.modality, hit.record_id, hit.label, hit.metadata) == (Modality.RECORD, "1", "sea", {"n": 3})
    assert hit.path == "harbour#1"
    assert [(p.field, p.kind) for p in hit.parts] == [("caption", "text"), ("picture", "file")]
    assert hit.parts[1].path == str((tmp_path / "shot.png").resolve())


def test_a_folder_run_over_the_manifests_folder_keeps_the_records(open_engine, tickets):
    eng = open_engine()
    eng.index_records(tickets, label_field="team")
    report = eng.index([tickets.parent], prune=True)
    assert report.deleted == 0
    items = eng.status().items
    assert items["record"] == 6 and items["image"] == 6  # the screenshots as files, too
    assert eng.remove([tickets]) == 7  # its records, and the manifest itself as a file (of no supported type)
    assert "record" not in eng.status().items


def test_records_vectors_are_in_both_spaces_as_their_parts_allow(open_engine, tickets):
    eng = open_engine()
    eng.index_records(tickets, label_field="team")
    counts = eng.status().vectors
    chunks = eng.status().chunks
    textual = chunks["passage"] + chunks["speech"]
    # fused chunks: in the joint space for every ticket (a picture and words); never in the text space,
    # which cannot see the screenshot
    assert counts[Space.JOINT.value] == textual + chunks["image"] + 6
    assert counts[Space.TEXT.value] == textual


def test_an_interrupted_run_keeps_its_committed_batches(open_engine, tickets, monkeypatch):
    import anyseek.indexer.collection as collection

    monkeypatch.setattr(collection, "PARTS_PER_BATCH", 3)
    eng = open_engine()
    seen = []

    def stop_after_first_batch(progress):
        if progress.phase == "indexing":
            seen.append(progress.done)
            raise KeyboardInterrupt

    report = eng.index_records(tickets, on_progress=stop_after_first_batch, label_field="team")
    assert report.interrupted and seen == [1]
    kept = eng.status().items.get("record", 0)
    assert kept == 1
    report = eng.index_records(tickets, label_field="team")
    assert (report.unchanged, report.added) == (1, 5)
