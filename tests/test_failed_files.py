"""Broken files cost nothing on a re-index: an unchanged failure is not decoded again (unless asked, or
anyseek's decoders changed), `status` keeps listing it, and no model loads for files that cannot decode."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from anyseek.indexer import prepare
from tests.conftest import TEST_SETTINGS
from tests.media import photo


@pytest.fixture()
def broken(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    buffer = io.BytesIO()
    photo(3).save(buffer, format="JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    noise = np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    (folder / "corrupt.mp3").write_bytes(b"\xff\xfb\x90\x64" + noise)
    return folder


@pytest.fixture()
def decoded(monkeypatch) -> list[str]:
    """The names of the files the run tried to decode."""
    names: list[str] = []
    real_extract = prepare.extract

    def counting(path, *args):
        names.append(os.fsdecode(path).rsplit("/", 1)[-1])
        return real_extract(path, *args)

    monkeypatch.setattr(prepare, "extract", counting)
    return names


def test_an_unchanged_broken_file_is_not_decoded_again_but_still_reported(open_engine, broken, decoded):
    eng = open_engine()
    first = eng.index([broken])
    assert first.failed == 2 and sorted(decoded) == ["corrupt.mp3", "truncated.jpg"]
    decoded.clear()
    again = eng.index([broken])
    assert decoded == []
    assert (again.failed, again.known_failed, again.added) == (2, 2, 0)
    assert {e.path.rsplit("/", 1)[-1]: e.reason for e in again.errors} == {
        e.path.rsplit("/", 1)[-1]: e.reason for e in first.errors
    }
    assert eng.status().errors == 2 and len(eng.status().first_errors) == 2


def test_a_broken_file_is_decoded_again_when_asked_or_when_it_changed(open_engine, broken, decoded):
    eng = open_engine()
    eng.index([broken])
    decoded.clear()
    assert eng.index([broken], retry_failed=True).known_failed == 0
    assert sorted(decoded) == ["corrupt.mp3", "truncated.jpg"]
    decoded.clear()
    buffer = io.BytesIO()
    photo(3).save(buffer, format="JPEG")
    (broken / "truncated.jpg").write_bytes(buffer.getvalue())  # repaired
    report = eng.index([broken])
    assert decoded == ["truncated.jpg"] and report.embedded == 1 and report.failed == 1


def test_failures_recorded_by_other_decoders_are_tried_again(open_engine, broken, decoded):
    eng = open_engine()
    eng.index([broken])
    eng.store.set_meta("decoders", "anyseek 0.1.0, pillow 9.0.0, av 10.0.0")  # as if recorded by older ones
    decoded.clear()
    assert eng.index([broken]).known_failed == 0 and len(decoded) == 2
    decoded.clear()
    assert eng.index([broken]).known_failed == 2 and decoded == []


def test_no_model_loads_for_files_that_cannot_decode(broken, tmp_path):
    from anyseek import Engine

    with Engine.open(tmp_path / "index", **TEST_SETTINGS) as eng:  # its own, unloaded models
        report = eng.index([broken])
        assert report.failed == 2
        assert eng.encoders.loaded() == []
        assert eng.index([broken]).failed == 2 and eng.encoders.loaded() == []
