"""Incremental, crash-tolerant indexing through the public Engine API, on real files and models."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from anyseek.engine.errors import IndexLockedError, ModelMismatchError, ModelUnavailableError
from anyseek.engine.records import Space
from anyseek.engine.store.lock import WriterLock


def store_and_index_agree(eng) -> None:
    """Every chunk has exactly one vector per space it belongs to, and FAISS holds nothing else."""
    for space in (Space.JOINT, Space.TEXT):
        truth = np.sort(eng.store.chunk_ids(space))
        held = np.sort(eng.catalog.index(space).ids())
        assert np.array_equal(truth, held), space


def test_second_run_embeds_nothing(open_engine, media):
    eng = open_engine()
    first = eng.index([media])
    assert first.added == first.scanned == 14 and first.failed == 0
    again = eng.index([media])
    assert (again.added, again.updated, again.moved, again.deleted) == (0, 0, 0, 0)
    assert again.unchanged == again.scanned == 14
    store_and_index_agree(eng)


def test_renamed_file_is_not_reembedded(open_engine, media):
    eng = open_engine()
    eng.index([media])
    before = eng.search(image=media / "photos" / "beach.jpg", k=1)[0]
    os.rename(media / "photos" / "beach.jpg", media / "photos" / "renamed-beach.jpg")
    report = eng.index([media])
    assert (report.moved, report.added, report.deleted, report.chunks) == (1, 0, 0, 0)
    after = eng.search(image=media / "photos" / "renamed-beach.jpg", k=1)[0]
    assert after.path.endswith("renamed-beach.jpg")
    assert after.chunk_id == before.chunk_id  # same chunk, same vector: no model ran
    store_and_index_agree(eng)


def test_duplicate_file_reuses_vectors(open_engine, media):
    eng = open_engine()
    eng.index([media])
    shutil.copyfile(media / "docs" / "garden.txt", media / "docs" / "garden-copy.txt")
    report = eng.index([media])
    assert (report.copied, report.added) == (1, 0)
    hits = eng.search(text="tomatoes need full sun", k=2, modalities=["text"])
    assert {h.path.rsplit("/", 1)[-1] for h in hits} == {"garden.txt", "garden-copy.txt"}
    store_and_index_agree(eng)


def test_copies_met_in_one_run_reuse_the_first_ones_vectors(open_engine, media):
    """On a first run the copies of one file are decoded side by side; only one goes through the models."""
    for name in ("beach-copy.jpg", "beach-copy-2.jpg"):
        shutil.copyfile(media / "photos" / "beach.jpg", media / "photos" / name)
    shutil.copyfile(media / "docs" / "garden.txt", media / "garden-copy.txt")
    eng = open_engine()
    report = eng.index([media])
    assert (report.added, report.copied, report.failed) == (14, 3, 0)
    hits = eng.search(image=media / "photos" / "beach.jpg", k=3, modalities=["image"])
    assert {h.path.rsplit("/", 1)[-1] for h in hits} == {"beach.jpg", "beach-copy.jpg", "beach-copy-2.jpg"}
    assert max(h.score for h in hits) - min(h.score for h in hits) < 1e-6  # one vector, three files
    store_and_index_agree(eng)


def test_deleted_file_disappears_from_store_and_vectors(open_engine, media):
    eng = open_engine()
    eng.index([media])
    (media / "recordings" / "weather.ogg").unlink()
    report = eng.index([media])
    assert report.deleted == 1
    hits = eng.search(text="tomorrow the weather will be sunny and warm", k=20)
    assert not any(h.path.endswith("weather.ogg") for h in hits)
    store_and_index_agree(eng)


def test_modified_file_is_reembedded(open_engine, media):
    eng = open_engine()
    eng.index([media])
    note = media / "docs" / "garden.txt"
    note.write_text("Roses are pruned in early spring, just before the buds open.")
    report = eng.index([media])
    assert (report.updated, report.added) == (1, 0)
    top = eng.search(text="when to prune roses", k=1, modalities=["text"])[0]
    assert top.path.endswith("garden.txt") and "Roses" in top.snippet
    store_and_index_agree(eng)


def test_touched_but_identical_file_is_not_reembedded(open_engine, media):
    eng = open_engine()
    eng.index([media])
    os.utime(media / "docs" / "garden.txt", ns=(1, 1))
    report = eng.index([media])
    assert (report.updated, report.added, report.chunks) == (0, 0, 0)


def test_vector_files_are_repaired_after_a_crash_between_commit_and_save(open_engine, media, tmp_path):
    eng = open_engine()
    eng.index([media])
    saved = {space: (tmp_path / "index" / "vectors" / f"{space.value}.faiss").read_bytes() for space in Space}
    (media / "docs" / "extra.md").write_text("An extra note about sailing boats in the harbour.")
    eng.index([media])
    eng.close()
    for space, data in saved.items():  # roll the derived files back, as if the last save never happened
        (tmp_path / "index" / "vectors" / f"{space.value}.faiss").write_bytes(data)
    reopened = open_engine(tmp_path / "index")
    assert reopened.search(text="sailing boats in the harbour", k=1, modalities=["text"])[0].path.endswith("extra.md")
    store_and_index_agree(reopened)


def test_interrupted_run_keeps_committed_work_and_resumes(open_engine, media):
    eng = open_engine(image_batch=2, text_batch=2)
    seen = []

    def stop_midway(event):
        if event.phase == "indexing" and event.done >= 8:
            seen.append(event.done)
            raise KeyboardInterrupt

    partial = eng.index([media], on_progress=stop_midway)
    assert partial.interrupted and 0 < partial.added < 14
    resumed = eng.index([media])
    assert resumed.added + partial.added == 14 and not resumed.interrupted
    assert eng.status().items == {"image": 7, "text": 4, "audio": 3}
    assert eng.store.last_run()["status"] == "completed"
    store_and_index_agree(eng)


def test_remove_forgets_a_folder(open_engine, media):
    eng = open_engine()
    eng.index([media])
    assert eng.remove([media / "recordings"]) == 3
    assert "audio" not in eng.status().items
    store_and_index_agree(eng)


def test_second_writer_gets_a_clear_lock_error(open_engine, media, tmp_path):
    eng = open_engine()
    eng.index([media / "recordings"])
    with WriterLock(tmp_path / "index"):  # as if another anyseek were indexing
        with pytest.raises(IndexLockedError, match=f"locked by pid {os.getpid()}"):
            eng.index([media])
        # readers are not blocked
        assert eng.search(text="the budget for next year", k=1)[0].path.endswith("budget.wav")


def test_other_models_are_refused_with_how_to_rebuild(open_engine, media, tmp_path):
    open_engine().index([media / "docs"])
    from anyseek.engine import Engine

    with pytest.raises(ModelMismatchError, match="new index"):
        Engine.open(tmp_path / "index", joint_model="ViT-B-32")


def test_missing_offline_model_is_one_clear_error(tmp_path):
    from anyseek.engine import Engine

    with Engine.open(tmp_path / "idx", text_model="sentence-transformers/not-a-shipped-model") as eng:
        with pytest.raises(ModelUnavailableError, match="not-a-shipped-model") as caught:
            _ = eng.encoders.text
    assert "\n" not in str(caught.value) and "text_model" in str(caught.value)


def test_non_utf8_file_names_round_trip(open_engine, media):
    odd = os.fsencode(media / "docs") + b"/caf\xe9-notes.txt"
    with open(odd, "wb") as fh:
        fh.write(b"Notes from the cafe about espresso machines and milk frothing.")
    eng = open_engine()
    report = eng.index([media])
    assert report.failed == 0
    hit = eng.search(text="espresso machines", k=1, modalities=["text"])[0]
    assert hit.raw_path == odd and "caf" in hit.path
