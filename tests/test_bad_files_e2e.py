"""Bad files inside a good folder: each is recorded with its reason, the run completes, good files stay
searchable."""

from __future__ import annotations

import os

import pytest

from anyseek.indexer import prepare


@pytest.fixture()
def hostile(media):
    photos = media / "photos"
    good = (photos / "beach.jpg").read_bytes()
    (photos / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "actually-text.jpg").write_text("I am a text file pretending to be a photo.")
    (photos / "secret.png").write_bytes((photos / "forest.png").read_bytes()[:-10] + b"0123456789")
    (media / "docs" / "binary.txt").write_bytes(b"\x00\x01\x02garbage\x00" * 50)
    (media / "loop").mkdir()
    os.symlink("..", media / "loop" / "parent")
    os.symlink(media / "nowhere.jpg", media / "dangling.jpg")
    return media


@pytest.mark.parametrize("decode", ["threads", "processes"])
def test_bad_files_are_reported_and_good_files_stay_searchable(open_engine, hostile, monkeypatch, decode):
    unreadable = os.fsencode(hostile / "photos" / "secret.png")
    real_hash = prepare.hash_file

    def deny(path):  # the suite runs as root, for whom chmod 000 does not deny reading
        if path == unreadable:
            raise PermissionError(13, "Permission denied")
        return real_hash(path)

    monkeypatch.setattr(prepare, "hash_file", deny)
    eng = open_engine(decode_workers_kind=decode)
    report = eng.index([hostile])
    reasons = {e.path.rsplit("/", 1)[-1]: e.reason for e in report.errors}
    assert "truncated" in reasons["truncated.jpg"] or "corrupt" in reasons["truncated.jpg"]
    assert "empty" in reasons["empty.jpg"]
    assert "not a recognised image" in reasons["actually-text.jpg"]
    assert "permission denied" in reasons["secret.png"]
    assert "binary" in reasons["binary.txt"]
    assert "dangling symlink" in reasons["dangling.jpg"]
    assert any("symlink loop" in p.reason for p in report.problems)
    assert report.added == 14 and report.failed == 6
    assert eng.status().errors == 6
    assert eng.search(image=hostile / "photos" / "forest.png", k=1)[0].path.endswith("forest.png")
    assert eng.search(text="tomatoes need sun", k=1, modalities=["text"])[0].path.endswith("garden.txt")


def test_failed_files_are_retried_once_fixed(open_engine, hostile):
    eng = open_engine()
    eng.index([hostile])
    good = (hostile / "photos" / "beach.jpg").read_bytes()
    (hostile / "photos" / "truncated.jpg").write_bytes(good)
    report = eng.index([hostile])
    assert report.copied == 1  # same content as beach.jpg: its vectors are reused
    assert "truncated.jpg" not in {e.path.rsplit("/", 1)[-1] for e in report.errors}


@pytest.mark.parametrize("decode", ["threads", "processes"])
def test_decompression_bomb_is_an_error_for_that_file(open_engine, media, decode):
    import struct
    import zlib

    def png_chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )
    (media / "photos" / "bomb.png").write_bytes(bomb)
    report = open_engine(decode_workers_kind=decode).index([media])
    reason = next(e.reason for e in report.errors if e.path.endswith("bomb.png"))
    assert "max_image_pixels" in reason and ("900" in reason or "30000" in reason)
