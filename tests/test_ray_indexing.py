"""Indexing on a local Ray cluster (`anyseek index DIR --ray local`) makes the index one process makes:
the same items, the same errors, the same answers; a worker that dies is retried.

One Ray cluster serves the module (starting one costs ~10 s); the models of the workers are the tests'
own (a seeded random joint model, MiniLM, Whisper tiny.en), loaded once per worker process."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from subprocess import DEVNULL

import pytest

from tests.conftest import SPEECH, TEST_SETTINGS
from tests.crash_helpers import index_command, run_env
from tests.media import NOTES, photo

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'anyseek[ray]')")

from anyseek.engine import Engine  # noqa: E402
from anyseek.indexer.distributed.driver import SHARD_FILES  # noqa: E402
from anyseek.indexer.distributed.workers import CRASH_HOOK  # noqa: E402
from tests.test_crash_safety import assert_consistent, committed_items  # noqa: E402

QUERIES = ["budget for next year", "tomatoes and watering", "snow on the harbour", "coffee at the station"]


@pytest.fixture(scope="module")
def crash_marker(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-hooks") / "crash-once"


@pytest.fixture(scope="module")
def cluster(crash_marker):
    # the workers inherit the driver's environment when the cluster starts: the hook is armed per test by
    # creating the marker file, never by the variable alone
    os.environ[CRASH_HOOK] = str(crash_marker)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()
    os.environ.pop(CRASH_HOOK, None)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Photos, notes, a speech recording, a corrupt photo and a file of no known kind."""
    root = tmp_path_factory.mktemp("ray-media")
    (root / "photos").mkdir()
    for seed, name in enumerate(["beach.jpg", "forest.png", "city.webp", "icon.bmp"], start=1):
        photo(seed).save(root / "photos" / name)
    (root / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    (root / "docs").mkdir()
    for name, content in NOTES.items():
        text, encoding = content if isinstance(content, tuple) else (content, "utf-8")
        (root / "docs" / name).write_bytes(text.encode(encoding))
    (root / "docs" / "blob.bin").write_bytes(bytes(range(256)) * 8)
    (root / "recordings").mkdir()
    shutil.copyfile(SPEECH / "budget.wav", root / "recordings" / "budget.wav")
    return root


def _index(home: Path, folder: Path, encoders, ray_address: str | None):
    with Engine.open(home, encoders=encoders, **TEST_SETTINGS) as engine:
        report = engine.index([folder], ray=ray_address)
        known = engine.store.items_under([os.fsencode(folder)]).values()
        items = {(item.display_path, item.status.value, item.content_hash, item.modality) for item in known}
        # top 10, so the overlap >= 0.95 leaves room for a near-tie at the cut (top 3 did not)
        answers = {q: [(h.path, h.start) for h in engine.search(q, k=10)] for q in QUERIES}
    errors = {(e.path, e.reason) for e in report.errors}
    return report, items, errors, answers


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, folder, encoders):
    return _index(tmp_path_factory.mktemp("local-index"), folder, encoders, None)


def test_ray_index_is_the_one_process_index(cluster, one_process, folder, encoders, tmp_path):
    local_report, local_items, local_errors, local_answers = one_process
    report, items, errors, answers = _index(tmp_path / "index", folder, encoders, "local")
    assert items == local_items
    assert errors == local_errors and any("broken.jpg" in path for path, _ in errors)
    assert (report.added, report.failed, report.ignored, report.chunks) == (
        local_report.added,
        local_report.failed,
        local_report.ignored,
        local_report.chunks,
    )
    overlaps = [len(set(answers[q]) & set(local_answers[q])) / len(local_answers[q]) for q in QUERIES]
    assert sum(overlaps) / len(overlaps) >= 0.95, (answers, local_answers)


def test_a_worker_that_dies_is_retried(cluster, crash_marker, folder, encoders, tmp_path):
    docs = folder / "docs"  # no recording: Whisper's load would add nothing to what this test shows
    _, local_items, _, _ = _index(tmp_path / "local", docs, encoders, None)
    crash_marker.write_bytes(b"")  # empty: the first task to see it crashes, once
    report, items, errors, _ = _index(tmp_path / "ray", docs, encoders, "local")
    assert not crash_marker.exists()  # a decode task took the hook and killed its own worker process
    assert items == local_items and not errors and report.added == len(NOTES)


@pytest.mark.slow
def test_a_file_that_kills_its_worker_every_time_is_that_files_error(cluster, crash_marker, folder, encoders, tmp_path):
    docs = folder / "docs"
    culprit = docs / "poem.rst"
    crash_marker.write_bytes(os.fsencode(culprit))
    try:
        report, items, errors, _ = _index(tmp_path / "ray", docs, encoders, "local")
    finally:
        crash_marker.unlink()
    assert {path for path, _ in errors} == {str(culprit)}
    assert "its decoding worker died" in next(iter(errors))[1]
    assert report.added == len(NOTES) - 1 and report.failed == 1


@pytest.mark.slow
def test_a_driver_killed_mid_run_leaves_an_index_the_next_run_completes(tmp_path, encoders):
    notes = tmp_path / "notes"
    notes.mkdir()
    words = "harbour garden budget river station meeting".split()
    for n in range(4 * SHARD_FILES):
        (notes / f"note{n:03d}.txt").write_text(f"Note {n}: " + " ".join(words[(n + i) % 6] for i in range(30)))
    index_dir = tmp_path / "index"
    command = [*index_command(notes, index_dir), "--ray", "local"]
    # its own session: the local cluster the driver starts is cleaned up with it after the test
    process = subprocess.Popen(command, env=run_env(), stdout=DEVNULL, stderr=DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and process.poll() is None and committed_items(index_dir) == 0:
            time.sleep(0.05)
        process.kill()  # SIGKILL: no handler runs, the shards in flight are lost
        process.wait()
        committed = committed_items(index_dir)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert 0 < committed < 4 * SHARD_FILES, committed
    assert_consistent(index_dir, encoders)
    with Engine.open(index_dir, encoders=encoders, **TEST_SETTINGS) as engine:
        report = engine.index([notes])
        assert (report.failed, report.unchanged, report.added) == (0, committed, 4 * SHARD_FILES - committed)
        assert engine.status().items == {"text": 4 * SHARD_FILES}
    assert_consistent(index_dir, encoders)
