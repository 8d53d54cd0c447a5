"""A missing, unlistable or empty root never costs the index its embeddings (a typo, an unplugged drive)."""

from __future__ import annotations

import os
import shutil

import pytest

from anyseek import RootUnavailableError
from anyseek.indexer import scan as scan_module


@pytest.fixture()
def notes(tmp_path):
    folder = tmp_path / "drive" / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "garden.txt").write_text("Tomatoes need full sun and water every morning.")
    (folder / "sub" / "bikes.txt").write_text("A red bicycle with a basket, leaning on a wall.")
    return folder


def indexed_paths(eng) -> set[str]:
    return {os.path.basename(item.display_path) for item in eng.store.items_under([b"/"]).values()}


def test_a_missing_root_is_an_error_and_deletes_nothing(open_engine, notes):
    eng = open_engine()
    eng.index([notes])
    os.rename(notes, notes.parent / "renamed")
    with pytest.raises(RootUnavailableError, match="cannot read .*notes.*nothing was changed"):
        eng.index([notes])
    assert indexed_paths(eng) == {"garden.txt", "bikes.txt"}
    assert eng.search(text="tomatoes in the sun", k=1, modalities=["text"])[0].path.endswith("garden.txt")


def test_a_root_that_cannot_be_listed_deletes_nothing(open_engine, notes, monkeypatch):
    eng = open_engine()
    eng.index([notes])
    real_scandir = os.scandir

    def scandir(path):
        if path == os.fsencode(notes):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(scan_module.os, "scandir", scandir)
    with pytest.raises(RootUnavailableError, match="Permission denied"):
        eng.index([notes])
    assert indexed_paths(eng) == {"garden.txt", "bikes.txt"}


def test_an_empty_root_is_taken_for_an_unmounted_drive_until_prune_says_otherwise(open_engine, notes):
    eng = open_engine()
    eng.index([notes])
    shutil.rmtree(notes)
    notes.mkdir()  # the mount point is still there, the drive is not
    with pytest.raises(RootUnavailableError, match="lists no files.*2 item.*--prune"):
        eng.index([notes])
    assert indexed_paths(eng) == {"garden.txt", "bikes.txt"}
    report = eng.index([notes], prune=True)
    assert report.deleted == 2 and indexed_paths(eng) == set()


def test_an_empty_root_the_index_holds_nothing_under_is_fine(open_engine, tmp_path):
    (tmp_path / "empty").mkdir()
    report = open_engine().index([tmp_path / "empty"])
    assert report.scanned == 0 and report.deleted == 0


def test_a_vanished_subfolder_of_a_listed_root_is_really_deleted(open_engine, notes):
    eng = open_engine()
    eng.index([notes])
    shutil.rmtree(notes / "sub")
    report = eng.index([notes])
    assert report.deleted == 1 and indexed_paths(eng) == {"garden.txt"}


def test_one_missing_root_among_several_stops_the_run_before_any_change(open_engine, notes, tmp_path):
    eng = open_engine()
    eng.index([notes])
    other = tmp_path / "other"
    other.mkdir()
    (other / "new.txt").write_text("A brand new note about sailing boats.")
    (notes / "garden.txt").unlink()
    with pytest.raises(RootUnavailableError):
        eng.index([other, notes / "nope", notes])
    assert indexed_paths(eng) == {"garden.txt", "bikes.txt"}
