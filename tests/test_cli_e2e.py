"""The `anyseek` command end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import SPEECH, TEST_MODEL_FLAGS, TEST_MODELS


def anyseek(*args: str, index) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANYSEEK_DEVICE": "cpu"}
    return subprocess.run(
        [sys.executable, "-m", "anyseek", "--index", str(index), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    from tests.media import build_media_folder

    media = build_media_folder(tmp_path_factory.mktemp("cli-media"))
    index = tmp_path_factory.mktemp("cli-index")
    done = anyseek(
        "index",
        str(media),
        *TEST_MODEL_FLAGS,
        "--json",
        index=index,
    )
    assert done.returncode == 0, done.stderr
    return media, index, json.loads(done.stdout)


def test_index_reports_json(cli_index):
    _, _, report = cli_index
    assert report["added"] == 14 and report["failed"] == 0 and not report["interrupted"]


def test_text_search_json_has_timestamps(cli_index):
    _, index, _ = cli_index
    done = anyseek("search", "the budget for next year", "-k", "3", "--json", index=index)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)["hits"]
    assert hits[0]["path"].endswith("budget.wav") and hits[0]["modality"] == "audio"
    assert 3.4 <= hits[0]["start"] <= 4.5 and hits[0]["end"] > hits[0]["start"]
    assert {"item_id", "score", "similarity", "chunk_id", "snippet"} <= set(hits[0])


def test_combined_query_with_type_filter(cli_index):
    media, index, _ = cli_index
    done = anyseek(
        "search",
        f"dog + {media / 'photos' / 'beach.jpg'} - cartoon",
        "--type",
        "image",
        "-k",
        "20",
        "--json",
        index=index,
    )
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)["hits"]
    assert len(hits) == 7 and {h["modality"] for h in hits} == {"image"}


def test_image_search_finds_the_photo(cli_index):
    media, index, _ = cli_index
    done = anyseek("search", "--image", str(media / "photos" / "city.webp"), "-k", "1", "--json", index=index)
    assert json.loads(done.stdout)["hits"][0]["path"].endswith("city.webp")


def test_audio_search_prints_transcript_and_time_range(cli_index):
    _, index, _ = cli_index
    done = anyseek("search", "--audio", str(SPEECH / "memo.m4a"), "-k", "3", index=index)
    assert done.returncode == 0, done.stderr
    assert "heard:" in done.stdout and "red bicycle" in done.stdout.lower()
    assert "meeting.mp3" in done.stdout and "00:06–00:09" in done.stdout


def test_status_json(cli_index):
    _, index, _ = cli_index
    status = json.loads(anyseek("status", "--json", index=index).stdout)
    assert status["items"] == {"image": 7, "text": 4, "audio": 3}
    assert status["models"]["joint_model"] == TEST_MODELS["joint_model"]
    assert status["last_run"]["status"] == "completed"


def test_errors_are_one_line_without_traceback(tmp_path):
    done = anyseek("search", "anything", index=tmp_path / "missing")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: no index at") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_model_mismatch_via_cli_is_refused(cli_index):
    media, index, _ = cli_index
    done = anyseek("index", str(media), "--joint-model", "ViT-B-32", index=index)
    assert done.returncode == 1 and "new index" in done.stderr and "Traceback" not in done.stderr


def test_documents_only_index_from_the_cli(tmp_path, cli_index):
    media, _, _ = cli_index
    index = tmp_path / "docs-index"
    done = anyseek("index", str(media / "docs"), "--text-spaces", "text", "--json", *TEST_MODEL_FLAGS, index=index)
    assert done.returncode == 0, done.stderr
    status = json.loads(anyseek("status", "--json", index=index).stdout)
    assert status["settings"]["text_spaces"] == "text" and "joint" not in status["vectors"]
    hits = json.loads(anyseek("search", "how often should tomatoes be watered", "--json", index=index).stdout)["hits"]
    assert hits[0]["path"].endswith("garden.txt")
    bad = anyseek("index", str(media / "docs"), "--text-spaces", "pixels", index=index)
    assert bad.returncode == 1 and "text_spaces" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_remove_then_search_no_longer_finds(tmp_path, cli_index):
    media, index, _ = cli_index
    done = anyseek("remove", str(media / "recordings" / "budget.wav"), index=index)
    assert done.returncode == 0 and "removed 1" in done.stdout
    hits = json.loads(anyseek("search", "the budget for next year", "--json", index=index).stdout)["hits"]
    assert not any(h["path"].endswith("budget.wav") for h in hits)


def test_offline_default_joint_model_is_one_line_naming_model_and_remedy(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "note.txt").write_text("a note")
    done = anyseek("index", str(tmp_path / "media"), index=tmp_path / "index")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "ViT-B-32" in done.stderr and "--joint-pretrained" in done.stderr
