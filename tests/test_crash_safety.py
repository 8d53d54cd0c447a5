"""Kill `anyseek index` at the worst moments; the index must open, be consistent, finish on re-run and
then answer exactly like an index built without interruption."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time

import numpy as np
import pytest

from anyseek.engine.records import ChunkKind
from tests.conftest import FIXTURES, TEST_SETTINGS
from tests.crash_helpers import index_command, run_env
from tests.media import build_media_folder

QUERIES = ["the budget for next year", "tomatoes and watering", "snow in the harbour", "weekly meeting"]


@pytest.fixture(scope="module")
def crash_media(tmp_path_factory):
    media = build_media_folder(tmp_path_factory.mktemp("crash-media"))
    (media / "videos").mkdir()
    shutil.copyfile(FIXTURES / "video" / "clip.mov", media / "videos" / "clip.mov")  # a frame and speech
    return media


@pytest.fixture(scope="module")
def reference(crash_media, tmp_path_factory, encoders):
    """Results of an index built in one uninterrupted run."""
    from anyseek.engine import Engine

    with Engine.open(tmp_path_factory.mktemp("reference"), encoders=encoders, **TEST_SETTINGS) as eng:
        eng.index([crash_media])
        return results_of(eng)


# Float noise between two builds of one index: a vector depends on its batch mates (padding) and the
# interrupted run embeds in batches of another size, so cosines move by ~1e-7, more on another CPU.
NOISE = 1e-3


def results_of(eng) -> list[list[tuple[str, float]]]:
    return [[(h.path, h.similarity) for h in eng.search(text=q, k=8)] for q in QUERIES]


def assert_same_answers(got, reference) -> None:
    """The same hits, cosines and order as the uninterrupted index, up to float noise: hits tied within
    the noise may swap, and the last place may go to another hit tied with it."""
    for query, hits, expected in zip(QUERIES, got, reference, strict=True):
        mine, theirs = dict(hits), dict(expected)
        rank = {path: i for i, (path, _) in enumerate(expected)}
        last = min(theirs.values())
        for path, cosine in theirs.items():
            if cosine > last + NOISE:
                assert path in mine, f"{query!r}: {path} is missing"
        for path, cosine in mine.items():
            if path in theirs:
                assert cosine == pytest.approx(theirs[path], abs=NOISE), (query, path)
            else:
                assert cosine <= last + NOISE, f"{query!r}: {path} is new"
        assert len(hits) == len(expected) and len(mine) == len(theirs), f"{query!r}: a hit is repeated or lost"
        kept = [path for path, _ in hits if path in rank]
        for first, second in itertools.combinations(kept, 2):
            if rank[first] > rank[second]:
                assert abs(theirs[first] - theirs[second]) <= NOISE, f"{query!r}: {first} and {second} swapped"


def assert_consistent(index_dir, encoders) -> None:
    """Every chunk has exactly one vector in each of its spaces and one lexical row; FAISS holds exactly the
    store's ids."""
    with sqlite3.connect(index_dir / "anyseek.db") as db:
        chunks = dict(db.execute("SELECT id, kind FROM chunks"))
        vectors = db.execute("SELECT space, chunk_id FROM vectors").fetchall()
        orphans = db.execute("SELECT count(*) FROM chunks WHERE item_id NOT IN (SELECT id FROM items)").fetchone()
        words = sorted(row[0] for row in db.execute("SELECT rowid FROM lexical"))
    assert orphans == (0,)
    assert words == sorted(chunks), "the lexical index must hold exactly the chunks"
    by_space: dict[str, list[int]] = {}
    for space, chunk_id in vectors:
        by_space.setdefault(space, []).append(chunk_id)
    assert sorted(by_space.get("joint", [])) == sorted(chunks)
    visual = (ChunkKind.IMAGE.value, ChunkKind.FRAME.value)
    text_bearing = sorted(c for c, kind in chunks.items() if kind not in visual)
    assert sorted(by_space.get("text", [])) == text_bearing
    from anyseek.engine import Engine

    with Engine.open(index_dir, create=False, encoders=encoders) as eng:
        for space in eng.catalog.dims:
            held = eng.catalog.index(space).ids()
            assert len(held) == len(np.unique(held)), f"duplicate vectors in {space}"
            assert sorted(held.tolist()) == sorted(by_space.get(space.value, [])), space


def finish_and_compare(index_dir, media, encoders, reference) -> None:
    from anyseek.engine import Engine

    assert_consistent(index_dir, encoders)
    with Engine.open(index_dir, encoders=encoders, **TEST_SETTINGS) as eng:
        report = eng.index([media])
        assert not report.interrupted and report.failed == 0
        assert eng.status().items == {"image": 7, "text": 4, "audio": 3, "video": 1}
        assert_same_answers(results_of(eng), reference)
    assert_consistent(index_dir, encoders)


@pytest.mark.parametrize(
    "point",
    [
        "store.commit:1",
        "store.committed:2",
        "vectors.save:1",
        # the rest of the crash points run with `make test-all`
        pytest.param("model.load", marks=pytest.mark.slow),
        pytest.param("store.commit:3", marks=pytest.mark.slow),
        pytest.param("vectors.save:4", marks=pytest.mark.slow),
    ],
)
def test_sigkill_at_a_crash_point_loses_nothing(point, crash_media, tmp_path, encoders, reference):
    index_dir = tmp_path / "index"
    done = subprocess.run(
        index_command(crash_media, index_dir),
        env=run_env(ANYSEEK_CRASH_AT=point),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])
    if (index_dir / "anyseek.db").exists():
        finish_and_compare(index_dir, crash_media, encoders, reference)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(20))
def test_sigkill_at_a_random_moment_loses_nothing(trial, crash_media, tmp_path, encoders, reference):
    index_dir = tmp_path / "index"
    process = subprocess.Popen(
        index_command(crash_media, index_dir), env=run_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(random.Random(trial).uniform(1.0, 25.0))
    process.kill()
    process.wait()
    if (index_dir / "anyseek.db").exists():
        finish_and_compare(index_dir, crash_media, encoders, reference)


@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_sigint_and_sigterm_stop_cleanly_and_report(sig, crash_media, tmp_path, encoders, reference):
    index_dir = tmp_path / "index"
    process = subprocess.Popen(
        index_command(crash_media, index_dir), env=run_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None and committed_items(index_dir) < 3:
        time.sleep(0.05)
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert process.returncode == 130, err[-2000:]
    assert '"interrupted": true' in out and "Traceback" not in err
    finish_and_compare(index_dir, crash_media, encoders, reference)


def committed_items(index_dir) -> int:
    try:
        with sqlite3.connect(f"file:{index_dir / 'anyseek.db'}?mode=ro", uri=True, timeout=0.1) as db:
            return db.execute("SELECT count(*) FROM items").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_disk_full_during_vector_save_keeps_the_previous_file(open_engine, media, tmp_path, monkeypatch):
    from anyseek.engine.errors import StorageError
    from anyseek.engine.vectors import persist

    eng = open_engine()
    eng.index([media / "docs"])
    vector_file = tmp_path / "index" / "vectors" / "joint.faiss"
    before = vector_file.read_bytes()
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persist.os, "fsync", full_disk)
    with pytest.raises(StorageError, match="No space left on device.*previous file is intact"):
        eng.index([media])
    monkeypatch.setattr(persist.os, "fsync", real_fsync)
    assert vector_file.read_bytes() == before
    assert not [p for p in vector_file.parent.iterdir() if p.name.endswith(".tmp")]
    reopened = open_engine(tmp_path / "index")  # the store has the new items: the file catches up on open
    assert reopened.search(text="the budget for next year", k=1)[0].path.endswith("budget.wav")
    assert reopened.status().last_run["status"] == "failed"
    assert reopened.index([media]).unchanged == 14  # everything was committed despite the failed save
