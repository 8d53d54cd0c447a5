"""Status tells the truth: a refused or failed run keeps its reason beside the last completed run, a new
index whose first run fails leaves nothing behind, and only the models and weights in use are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyseek.engine import Engine
from anyseek.engine.errors import ModelUnavailableError, RootUnavailableError
from tests.conftest import TEST_SETTINGS

DEMO_MODEL = Path(__file__).resolve().parents[1] / "data" / "demo-model"


@pytest.fixture()
def note(tmp_path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "note.txt").write_text("A note about sailing boats in the harbour.")
    return folder


def test_a_refused_run_keeps_its_reason_and_the_completed_run_before_it(open_engine, note, tmp_path):
    eng = open_engine(text_spaces="text")
    eng.index([note])
    with pytest.raises(RootUnavailableError):
        eng.index([tmp_path / "nope"])
    status = eng.status()
    assert status.last_run["status"] == "refused" and str(tmp_path / "nope") in status.last_run["reason"]
    assert status.last_completed_run["status"] == "completed" and status.last_completed_run["stats"]["added"] == 1
    assert status.last_completed_run["reason"] is None and "reason" not in status.last_completed_run["stats"]


def test_a_failed_first_run_without_its_model_leaves_nothing_behind(note, tmp_path):
    """Offline, the default joint model cannot load: the new index folder (and the folders made for it)
    disappear again, so the next command does not take an empty index for a real one."""
    home = tmp_path / "indexes" / "new"
    with Engine.open(home, device="cpu") as eng, pytest.raises(ModelUnavailableError):
        eng.index([note])
    assert not (tmp_path / "indexes").exists()


def test_a_failed_first_run_keeps_what_the_folder_held_before(tmp_path):
    home = tmp_path / "index"
    home.mkdir()
    (home / "anyseek.toml").write_text('device = "cpu"\n')
    with Engine.open(home, **TEST_SETTINGS) as eng, pytest.raises(RootUnavailableError):
        eng.index([tmp_path / "nope"])
    assert sorted(p.name for p in home.iterdir()) == ["anyseek.toml"]


def test_an_index_with_content_stays_when_a_later_run_fails(open_engine, note, tmp_path):
    eng = open_engine(text_spaces="text")
    eng.index([note])
    with pytest.raises(RootUnavailableError):
        eng.index([tmp_path / "nope"])
    eng.close()
    assert (tmp_path / "index" / "anyseek.db").exists()


def test_status_names_no_pretrained_tag_for_a_model_that_brings_its_own_weights(tmp_path):
    with Engine.open(tmp_path / "demo", joint_model=str(DEMO_MODEL), device="cpu") as eng:
        models = eng.status().models
    assert "joint_pretrained" not in models and models["joint_model"] == str(DEMO_MODEL)
    with Engine.open(tmp_path / "random", **TEST_SETTINGS) as eng:
        assert eng.status().models["joint_pretrained"] == "random"
