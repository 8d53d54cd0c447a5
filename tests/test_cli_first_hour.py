"""A new user's first hour with the CLI, end to end in subprocesses: bad values and unknown options are
usage errors that say something useful, an error about a file names it, output fits a pipe, status tells
the truth after a refused run, --offset pages, --open opens, -h says where the index lives."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_MODEL_FLAGS

NOTES = {
    "harbour.txt": "Evening at the harbour: fishing boats come in and the gulls follow them. " * 4,
    "boats.md": "# Boats\n\nSailing boats, rowing boats and ferries leave the harbour at dawn. " * 5,
    "garden.txt": "Tomatoes need water every morning in July, and the roses want pruning in spring. " * 3,
    "budget.txt": "The budget for next year: rent, travel, a new laptop and the harbour fees. " * 3,
    "recipes.md": "Bake the bread at 220 degrees for forty minutes, then let it cool on a rack. " * 3,
    "trip.txt": "The trip to the coast: two nights by the harbour, boat tours and fresh fish.",
    "short.txt": "Gulls.",
}


def run(*args: str, index: Path | None = None, cwd: Path | None = None, env: dict | None = None):
    command = [sys.executable, "-m", "anyseek", *(["--index", str(index)] if index else []), *args]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "ANYSEEK_DEVICE": "cpu", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def notes(tmp_path_factory):
    """A documents-only index (only MiniLM loads: quick) of a few notes long enough to need clipping."""
    root = tmp_path_factory.mktemp("first-hour")
    media = root / "media" / "notes"
    media.mkdir(parents=True)
    for name, text in NOTES.items():
        (media / name).write_text(text)
    index = root / "index"
    done = run("index", str(root / "media"), "--text-spaces", "text", *TEST_MODEL_FLAGS, index=index)
    assert done.returncode == 0, done.stderr
    return root, index


def hits(done) -> list[dict]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["hits"]


def test_an_unknown_option_suggests_only_a_near_spelling(tmp_path):
    # (this used --sort until search gained --sort: an option with no near spelling)
    shuffle = run("search", "red", "--shuffle", "date", index=tmp_path / "index")
    assert shuffle.returncode == 2
    assert shuffle.stderr.splitlines() == ["error: No such option: --shuffle", "try 'anyseek search -h'"]
    typo = run("search", "red", "--limt", "3", index=tmp_path / "index")
    assert typo.returncode == 2 and typo.stderr.splitlines()[0].endswith("(did you mean --limit?)")


def test_help_says_where_the_default_index_is(tmp_path):
    done = run("-h", env={"ANYSEEK_HOME": str(tmp_path / "my-index")})
    assert done.returncode == 0 and str(tmp_path / "my-index") in " ".join(done.stdout.split())


def test_a_query_file_that_is_not_an_image_is_a_usage_error_naming_the_file(notes):
    root, index = notes
    done = run("search", "--image", "media/notes/boats.md", index=index, cwd=root)
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: media/notes/boats.md: ") and "not a readable image" in first


def test_piped_search_is_one_short_line_per_hit_score_and_path_first(notes):
    root, index = notes
    found = hits(run("search", "boats in the harbour", "-k", "6", "--json", index=index, cwd=root))
    lines = run("search", "boats in the harbour", "-k", "6", index=index, cwd=root).stdout.splitlines()
    assert len(lines) == len(found) == 6
    for line, hit in zip(lines, found, strict=True):
        assert len(line) <= 160, line
        score, path = re.match(r"(\d\.\d{3})  (\S+)  ", line).groups()
        assert abs(float(score) - hit["score"]) < 0.001
        assert path == os.path.relpath(hit["path"], root)  # relative to where the user is, and whole
    assert any(line.endswith("…") for line in lines), "a long snippet gives way to the width"


def test_piped_status_is_not_padded(notes):
    _, index = notes
    done = run("status", index=index)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert not [line for line in lines if line != line.rstrip()]
    assert max(len(line) for line in lines if not line.startswith("settings")) < 120


def test_offset_pages_through_the_same_ranking(notes):
    root, index = notes
    every = [h["item_id"] for h in hits(run("search", "harbour", "-k", "6", "--json", index=index))]
    page = [h["item_id"] for h in hits(run("search", "harbour", "-k", "3", "--offset", "2", "--json", index=index))]
    assert page == every[2:5]


def test_open_hands_the_first_hit_to_the_system_opener(notes, tmp_path):
    root, index = notes
    opened = tmp_path / "opened"
    fake = tmp_path / "bin" / "xdg-open"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{opened}.tmp" && mv "{opened}.tmp" "{opened}"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    first = hits(run("search", "tomatoes", "-k", "1", "--json", index=index))[0]
    done = run("search", "tomatoes", "-k", "1", "--open", index=index, env=env)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 20
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened.read_text() == first["path"]


def test_open_without_an_opener_is_one_line(notes, tmp_path):
    _, index = notes
    done = run("search", "tomatoes", "-k", "1", "--open", index=index, env={"PATH": str(tmp_path)})
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("error: cannot open ")


def test_status_shows_a_refused_run_with_its_reason_and_the_last_completed_run(notes, tmp_path):
    _, index = notes
    refused = run("index", str(tmp_path / "nope"), index=index)
    assert refused.returncode == 1 and "error: cannot read" in refused.stderr
    status = json.loads(run("status", "--json", index=index).stdout)
    assert status["last_run"]["status"] == "refused" and "cannot read" in status["last_run"]["reason"]
    assert status["last_completed_run"]["status"] == "completed"
    assert status["last_completed_run"]["stats"]["added"] == len(NOTES)
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in run("status", index=index).stdout.splitlines())
    assert rows["last run"].startswith("index refused") and str(tmp_path / "nope") in rows["last run"]
    assert rows["last completed"].startswith("index completed") and f"{len(NOTES)} added" in rows["last completed"]


def test_a_recording_without_speech_is_an_error_not_a_usage_error(notes, tmp_path):
    import wave

    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(b"\x00\x00" * 16000 * 2)
    _, index = notes
    done = run("search", "--audio", str(silence), index=index)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
