"""Randomly damaged copies of valid photos, recordings and documents, indexed in one run: the run never
aborts, and every file ends up either indexed or reported with a reason (whatever a decoder raises)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from tests.media import NOTES, SPEECH, photo

PHOTO_FORMATS = [("jpg", {"quality": 85}), ("png", {}), ("gif", {}), ("webp", {}), ("bmp", {}), ("tiff", {})]
RECORDINGS = ["budget.wav", "meeting.mp3", "weather.ogg", "memo.m4a"]


def originals() -> dict[str, list[tuple[str, bytes]]]:
    """Small valid files of every supported kind, as (extension, bytes)."""
    photos = []
    for seed, (ext, options) in enumerate(PHOTO_FORMATS):
        buffer = io.BytesIO()
        photo(seed, (64, 48)).save(buffer, format="jpeg" if ext == "jpg" else ext, **options)
        photos.append((ext, buffer.getvalue()))
    documents = []
    for name, content in NOTES.items():
        text, encoding = content if isinstance(content, tuple) else (content, "utf-8")
        documents.append((name.rsplit(".", 1)[1], text.encode(encoding)))
    recordings = [(name.rsplit(".", 1)[1], (SPEECH / name).read_bytes()) for name in RECORDINGS]
    return {"photo": photos, "document": documents, "recording": recordings}


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One kind of damage: bytes flipped in the header or the body, a truncation, or garbage appended."""
    raw = bytearray(data)
    kind = rng.integers(0, 4)
    if kind == 0:  # header: where the format, sizes and offsets live
        for _ in range(rng.integers(1, 6)):
            raw[rng.integers(0, min(64, len(raw)))] = rng.integers(0, 256)
    elif kind == 1:
        for _ in range(rng.integers(1, 40)):
            raw[rng.integers(0, len(raw))] = rng.integers(0, 256)
    elif kind == 2:
        raw = raw[: rng.integers(1, len(raw))]
    else:
        raw += rng.integers(0, 256, rng.integers(1, 4096), dtype=np.uint8).tobytes()
    return bytes(raw)


def build_fuzz_corpus(root: Path, counts: dict[str, int], seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    sources = originals()
    written = []
    for kind, count in counts.items():
        for n in range(count):
            ext, data = sources[kind][n % len(sources[kind])]
            path = root / kind / f"{n:03d}.{ext}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(mutate(data, rng))
            written.append(path)
    return written


def index_and_check(open_engine, root: Path, counts: dict[str, int], seed: int) -> None:
    files = build_fuzz_corpus(root, counts, seed)
    eng = open_engine(file_timeout_s=60)
    report = eng.index([root])  # zero aborts: no exception gets out of the run
    assert not report.interrupted and report.scanned == len(files)
    items = eng.store.items_under([os.fsencode(root)])
    missing = [str(path) for path in files if os.fsencode(path) not in items]
    assert not missing, f"neither indexed nor reported: {missing[:5]}"
    failed = [item for item in items.values() if item.status == "error"]
    assert all(item.error for item in failed), "every failure has a reason"
    assert report.failed == len(failed)
    ok = sum(1 for item in items.values() if item.status == "ok")
    assert ok == report.added + report.copied, "whatever was not reported is searchable"
    assert 0 < len(failed) < len(files), "the corpus mixes files that survive damage and files that do not"


def test_a_run_over_randomly_damaged_files_never_aborts_and_accounts_for_every_file(open_engine, tmp_path):
    index_and_check(open_engine, tmp_path / "fuzz", {"photo": 70, "document": 60, "recording": 20}, seed=9)


@pytest.mark.slow
def test_a_larger_run_over_randomly_damaged_files_never_aborts(open_engine, tmp_path):
    index_and_check(open_engine, tmp_path / "fuzz", {"photo": 200, "document": 120, "recording": 80}, seed=2026)


def test_any_exception_a_decoder_raises_is_that_files_error(open_engine, media, monkeypatch):
    """EOFError, struct.error, IndexError...: what a malformed file makes a decoder library raise."""
    import struct

    from anyseek.indexer import prepare

    real_extract = prepare.extract
    raised = {"beach.jpg": EOFError("no more data"), "garden.txt": struct.error("unpack requires a buffer")}
    raised["budget.wav"] = IndexError("list index out of range")

    def flaky(path, *args):
        name = os.fsdecode(path).rsplit("/", 1)[-1]
        if name in raised:
            raise raised[name]
        return real_extract(path, *args)

    monkeypatch.setattr(prepare, "extract", flaky)
    report = open_engine().index([media])
    reasons = {e.path.rsplit("/", 1)[-1]: e.reason for e in report.errors}
    assert set(reasons) == set(raised)
    assert "EOFError" in reasons["beach.jpg"] and "struct" in reasons["garden.txt"]
    assert report.added == 14 - 3 and not report.interrupted


def test_fuzz_corpus_is_the_same_for_the_same_seed(tmp_path):
    first = build_fuzz_corpus(tmp_path / "a", {"photo": 5, "recording": 2}, seed=1)
    second = build_fuzz_corpus(tmp_path / "b", {"photo": 5, "recording": 2}, seed=1)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
