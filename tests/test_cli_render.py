"""What the CLI prints for people, in a terminal and in a pipe, and the progress of a long run."""

from __future__ import annotations

import io
import re
import time

import pytest

from anyseek.cli import render
from anyseek.cli.progress import IndexProgress, TimeLeft, say_time
from anyseek.engine.records import Hit, Modality, Progress, SearchResults

LONG_NAME = "/data/archive/2024/conference-recordings/keynote_session_on_distributed_systems_day_two.flac"
SNIPPET = " ".join(["the speaker explains how replicas agree on the order of writes"] * 12)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def results(*scores: float) -> SearchResults:
    hits = [Hit(1, LONG_NAME, Modality.AUDIO, scores[0], 0.41, 1, SNIPPET, 61.0, 75.5)]
    hits += [Hit(i + 2, f"/data/photos/p{i}.jpg", Modality.IMAGE, s, 0.3, i + 2) for i, s in enumerate(scores[1:])]
    return SearchResults(tuple(hits))


def test_a_terminal_row_never_breaks_a_path_and_a_snippet_takes_two_lines(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)  # here, not in a fixture: pytest's capture resets it per phase
    monkeypatch.setenv("COLUMNS", "100")
    render.search_table(results(0.8, 0.6, 0.55))
    monkeypatch.undo()
    lines = re.sub(r"\x1b\[[0-9;]*m", "", terminal.getvalue()).splitlines()  # without the colours
    assert any(LONG_NAME in line for line in lines), "the path is whole on one line"
    assert max(len(line) for line in lines if LONG_NAME not in line) <= 100
    first = next(i for i, line in enumerate(lines) if LONG_NAME in line)
    snippet = lines[first + 1 : first + 3]
    assert all(line.startswith(" ") for line in snippet) and snippet[-1].endswith("…")
    assert "p0.jpg" in lines[first + 3], "the next hit follows the two snippet lines"
    assert "01:01–01:15" in lines[first]


def test_a_pipe_gets_one_line_per_hit_within_160_characters(capsys):
    render.search_table(results(0.8, 0.6))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(len(line) <= render.PIPE_WIDTH for line in lines)
    assert lines[0].startswith(f"0.800  {LONG_NAME}  audio") and lines[0].endswith("…")


def test_paths_are_shown_relative_to_the_working_folder_or_with_a_tilde(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", "/home/someone")
    assert render.shown_path(str(tmp_path / "photos" / "a.jpg")) == "photos/a.jpg"
    assert render.shown_path("/home/someone/notes/b.txt") == "~/notes/b.txt"
    assert render.shown_path("/srv/media/c.mp4") == "/srv/media/c.mp4"
    assert render.shown_path(f"{tmp_path}x/d.txt") == f"{tmp_path}x/d.txt"  # a sibling sharing a prefix


@pytest.mark.parametrize(("scores", "noted"), [((0.45, 0.3), True), ((0.7, 0.3), False)])
def test_when_no_hit_is_clearly_related_one_line_says_so_above_the_hits(capsys, scores, noted):
    render.search_table(results(*scores))
    said = capsys.readouterr().err
    assert ("no hit is clearly related" in said) == noted
    assert len(said.splitlines()) == int(noted)


def test_the_time_left_follows_each_kind_s_recent_cost():
    """Twenty photos at 0.1 s each, then documents of 1 MB at 2 s each: the documents left are costed at
    their own rate (a single files/s rate over the run would promise a fraction of the time)."""
    left, clock = TimeLeft(), 0.0
    planned = {"image": (20, 20 * 300_000), "text": (30, 30 * 1_000_000)}
    left.add("image", 300_000, clock)
    for _ in range(19):
        clock += 0.1
        left.add("image", 300_000, clock)
    for _ in range(10):
        clock += 2.0
        left.add("text", 1_000_000, clock)
    assert left.seconds(planned) == pytest.approx(20 * 2.0, rel=0.01)
    single_rate = (30 - 10) * clock / 30  # files left at the run's average files/s
    assert single_rate < 0.5 * left.seconds(planned)
    assert say_time(None) == "time left unknown yet" and say_time(40 * 60) == "about 40 min left"


def test_a_log_gets_a_progress_line_while_nothing_else_happens():
    log = io.StringIO()
    planned = {"text": (10, 10 * 20_000)}
    with IndexProgress(live=False, every_s=0.05, stream=log) as progress:
        progress(Progress("scanning", 0, 0, 0))
        for done in range(1, 4):
            progress(Progress("indexing", 10, done, 0, f"n{done}.txt", "text", 20_000, planned))
        deadline = time.monotonic() + 5
        while "indexing: 3 of 10 files" not in log.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    line = next(line for line in log.getvalue().splitlines() if line.startswith("indexing"))
    assert "3 of 10 files" in line and "files/s" in line and "left" in line and "so far" in line


def test_the_indexer_reports_each_file_s_kind_and_the_plan(open_engine, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    for i in range(3):
        (media / f"note{i}.txt").write_text(f"note number {i} about boats")  # 25 bytes
    (media / "noext").write_text("a note without an extension")  # 27 bytes
    events: list[Progress] = []
    open_engine(text_spaces="text").index([media], on_progress=events.append)
    indexing = [e for e in events if e.phase == "indexing"]
    assert indexing[0].done == 0 and indexing[0].planned == {"text": (3, 3 * 25), "other": (1, 27)}
    assert sorted(e.kind for e in indexing[1:]) == ["other", "text", "text", "text"]
    assert {e.size for e in indexing[1:] if e.kind == "text"} == {25}
