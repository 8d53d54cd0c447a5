"""The `anyseek` command end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile

import pytest

from tests.conftest import SPEECH, TEST_MODEL_FLAGS, TEST_MODELS
from tests.fuzzy import overlaps, sounds_like


def _command(args, index) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANYSEEK_DEVICE": "cpu"}
    return [sys.executable, "-m", "anyseek", "--index", str(index), *args], env


def anyseek(*args: str, index) -> subprocess.CompletedProcess:
    command, env = _command(args, index)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def anyseek_peak_rss(*args: str, index) -> tuple[subprocess.CompletedProcess, int]:
    """Run the command and measure that very process's peak RSS in bytes (wait4 reports the rusage of the
    one child it reaps; RUSAGE_CHILDREN would report the largest child this test process ever had)."""
    command, env = _command(args, index)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(command, process.returncode, out.read().decode(), err.read().decode())
    return done, usage.ru_maxrss * 1024


def without_progress(stderr: str) -> str:
    """stderr without the progress lines a run longer than 15 s prints to a pipe (a busy test machine)."""
    return "\n".join(
        line for line in stderr.splitlines() if not line.startswith(("scanning what to index", "indexing: "))
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


def test_audio_search_prints_transcript_and_time_range(cli_index, speech_manifest):
    _, index, _ = cli_index
    done = anyseek("search", "--audio", str(SPEECH / "memo.m4a"), "-k", "3", index=index)
    assert done.returncode == 0, done.stderr
    heard = next(line for line in done.stdout.splitlines() if line.startswith("heard:"))
    assert sounds_like(heard.removeprefix("heard:"), speech_manifest["files"]["memo.m4a"]["sentences"][0]["text"])
    row = next(line for line in done.stdout.splitlines() if "meeting.mp3" in line)
    start_m, start_s, end_m, end_s = map(int, re.search(r"(\d\d):(\d\d)–(\d\d):(\d\d)", row).groups())
    truth = speech_manifest["files"]["meeting.mp3"]["sentences"][1]
    # printed in whole seconds: a second of slack on each side
    assert overlaps(start_m * 60 + start_s, end_m * 60 + end_s, truth["start_s"], truth["end_s"], slack=1.0), row


def test_status_json(cli_index):
    _, index, _ = cli_index
    status = json.loads(anyseek("status", "--json", index=index).stdout)
    assert status["items"] == {"image": 7, "text": 4, "audio": 3}
    assert status["models"]["joint_model"] == TEST_MODELS["joint_model"]
    assert status["last_run"]["status"] == "completed"
    joint = status["vector_indexes"]["joint"]  # a small index: exact, so its recall is 1 by construction
    assert joint["kind"] == "flat" and joint["vectors"] == status["vectors"]["joint"] and joint["recall"] == 1.0
    assert joint["ram_bytes_per_vector"] > 0 and joint["disk_bytes_per_vector"] > 0
    table = anyseek("status", index=index).stdout
    assert "joint index" in table and "B/vector in RAM" in table and "recall@10 1.000" in table


def test_eval_ann_alone_measures_the_live_index_against_exact_search(cli_index):
    _, index, _ = cli_index
    done = anyseek("eval", "--ann", "--json", index=index)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["ann"]
    assert report["joint"]["kind"] == "flat" and report["joint"]["recall"] == 1.0 and report["joint"]["queries"] > 0


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
    assert bad.returncode == 2 and "text_spaces" in bad.stderr and len(bad.stderr.strip().splitlines()) == 2


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
    assert len(without_progress(done.stderr).strip().splitlines()) == 1
    assert "ViT-B-32" in done.stderr and "--joint-pretrained" in done.stderr
    assert not (tmp_path / "index").exists(), "a first run that could not load its model leaves nothing behind"


def test_no_network_fails_fast_with_the_remedy_and_a_retry_with_another_model_is_accepted(tmp_path):
    """Without HF_HUB_OFFLINE, on a machine that cannot reach the hub (here: a closed port), the default
    model fails at once (not after a minute of retries), and the index has not recorded it."""
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "note.txt").write_text("a note about sailing boats")
    command, env = _command(["index", str(tmp_path / "media")], tmp_path / "index")
    env = {k: v for k, v in env.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    line = without_progress(done.stderr).strip()
    assert len(line.splitlines()) == 1 and line.endswith(".")  # whole, not cut off mid-word
    for remedy in ("ViT-B-32", "--joint-model", "HF_HUB_OFFLINE"):
        assert remedy in line
    retry = anyseek("index", str(tmp_path / "media"), *TEST_MODEL_FLAGS, "--json", index=tmp_path / "index")
    assert retry.returncode == 0, retry.stderr
    assert json.loads(retry.stdout)["added"] == 1


def test_indexing_a_missing_folder_is_one_line_exit_1_and_deletes_nothing(cli_index, tmp_path):
    media, index, _ = cli_index
    before = json.loads(anyseek("status", "--json", index=index).stdout)["items"]
    done = anyseek("index", str(tmp_path / "medai"), index=index)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    said = without_progress(done.stderr).strip()
    assert said.startswith("error: cannot read") and len(said.splitlines()) == 1
    assert json.loads(anyseek("status", "--json", index=index).stdout)["items"] == before


@pytest.mark.parametrize(
    "args",
    [
        ["search", "red", "--type", "movie"],
        ["search", "--image", "nothere.jpg"],
        ["search", "--audio", "nothere.wav"],
        ["search", "--image", "."],
        ["search", "--audio", "."],
        ["search", "red", "--min-similarity", "2"],
        ["index", ".", "--workers", "0"],
        ["search", "red", "--no-such-option"],
        ["search", ""],
        ["search", "   "],
        ["search", "red", "--after", "yesterday"],
        ["search", "red", "--before", "2024-13-01"],
        ["search", "red", "--mode", "fast"],
        ["search", "red", "--offset", "-1"],
        ["index", ".", "--text-spaces", "pixels"],
    ],
)
def test_usage_errors_are_one_plain_line_and_a_hint_with_exit_status_2(args, tmp_path):
    done = anyseek(*args, index=tmp_path / "index")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1] == f"try 'anyseek {args[0]} -h'"
    assert "╭" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "index").exists(), "a usage error changes nothing"


@pytest.mark.parametrize("location", ["/proc/anyseek-index", "{file}/index"])
def test_an_index_location_that_cannot_be_created_is_one_line(location, tmp_path):
    (tmp_path / "file").write_text("a regular file")
    done = anyseek("index", str(tmp_path), index=location.format(file=tmp_path / "file"))
    assert done.returncode == 1 and done.stderr.startswith("error: cannot create the index at")
    assert len(done.stderr.strip().splitlines()) == 1


def test_index_option_is_accepted_after_the_command_and_wins(cli_index, tmp_path):
    _, index, _ = cli_index
    done = anyseek("search", "--index", str(index), "the budget", "-t", "Audio", "--json", index=tmp_path / "none")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)["hits"]
    assert hits and {h["modality"] for h in hits} == {"audio"}, "types are case-insensitive"


def test_a_query_term_that_looks_like_a_missing_file_is_searched_as_text_with_a_warning(cli_index):
    _, index, _ = cli_index
    done = anyseek("search", "photos/beach.jpg", "--json", index=index)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "warning: 'photos/beach.jpg' is not a file here, so it was searched as text"
    assert json.loads(done.stdout)["warnings"] == [done.stderr.strip().removeprefix("warning: ")]


def test_output_to_a_pipe_is_never_wrapped(cli_index):
    _, index, _ = cli_index
    paths = [h["path"] for h in json.loads(anyseek("search", "budget", "--json", index=index).stdout)["hits"]]
    assert max(len(p) for p in paths) > 40  # with the table's other columns, well over 80 columns
    lines = anyseek("search", "budget", index=index).stdout.splitlines()
    for path in paths:
        assert any(path in line for line in lines), path


def test_scripts_get_exact_paths_and_versioned_json(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    odd = os.fsencode(media) + b"/caf\xe9 notes.txt"
    with open(odd, "wb") as fh:
        fh.write(b"Notes about espresso machines and milk frothing.")
    (media / "plain.txt").write_text("A note about sailing boats in the harbour.")
    index = tmp_path / "index"
    report = json.loads(anyseek("index", str(media), "--json", *TEST_MODEL_FLAGS, index=index).stdout)
    assert report["version"] == 1 and report["added"] == 2
    done = subprocess.run(
        _command(["search", "espresso machines", "-k", "2", "-f"], index)[0],
        capture_output=True,
        env=_command([], index)[1],
    )
    assert done.returncode == 0 and sorted(done.stdout.splitlines()) == sorted([odd, os.fsencode(media / "plain.txt")])
    found = json.loads(anyseek("search", "espresso machines", "-k", "1", "--json", index=index).stdout)
    assert found["version"] == 1 and base64.b64decode(found["hits"][0]["path_b64"]) == odd
    both = json.loads(anyseek("search", "sailing", "-k", "2", "--json", index=index).stdout)["hits"]
    assert [("path_b64" in h) for h in both] == [not h["path"].endswith("plain.txt") for h in both]
    assert json.loads(anyseek("status", "--json", index=index).stdout)["version"] == 1
