"""Walking folders (any file name, no symlink loops, problems reported not raised) and content sniffing."""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from anyseek.engine.records import Modality
from anyseek.engine.store.items import normalize_root
from anyseek.indexer import scan as scan_module
from anyseek.indexer.scan import scan
from anyseek.media.sniff import sniff_bytes, sniff_file
from tests.conftest import SPEECH


def touch(path: bytes | str, content: bytes = b"x") -> bytes:
    path = os.fsencode(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(content)
    return path


def found(result) -> list[bytes]:
    return sorted(f.path for f in result.files)


@pytest.fixture()
def root(tmp_path) -> bytes:
    return os.fsencode(tmp_path / "media")


# --- scan --------------------------------------------------------------------------------------------


def test_scan_finds_files_recursively_with_size_and_mtime(root):
    paths = [touch(root + b"/a.jpg", b"12345"), touch(root + b"/sub/b.txt"), touch(root + b"/sub/deeper/c.wav")]
    result = scan([root])
    assert found(result) == sorted(paths)
    first = next(f for f in result.files if f.path.endswith(b"a.jpg"))
    assert first.size == 5 and first.mtime_ns == os.stat(first.path).st_mtime_ns
    assert result.problems == [] and result.unreadable_dirs == []


def test_scan_skips_hidden_files_and_folders(root):
    visible = touch(root + b"/photo.jpg")
    touch(root + b"/.DS_Store")
    touch(root + b"/.git/objects/blob")
    touch(root + b"/sub/.hidden.txt")
    assert found(scan([root])) == [visible]


def test_scan_skips_the_given_folders(root):
    visible = touch(root + b"/photo.jpg")
    touch(root + b"/my-index/anyseek.db")
    assert found(scan([root], skip=[root + b"/my-index"])) == [visible]


def test_a_file_given_as_root_is_returned_and_a_missing_root_is_unavailable(root):
    single = touch(root + b"/one.jpg")
    result = scan([single, root + b"/nope"])
    assert found(result) == [single]
    assert result.unavailable(single) is None
    assert "No such file" in result.unavailable(root + b"/nope")


def test_a_folder_linking_to_its_parent_is_reported_as_a_loop_and_the_scan_ends(root):
    photo = touch(root + b"/a/photo.jpg")
    os.symlink(root + b"/a", root + b"/a/loop")
    os.symlink(root, root + b"/a/up")
    result = scan([root])
    assert found(result) == [photo], "each real file once"
    loops = [p for p in result.problems if "loop" in p.reason]
    assert sorted(p.path for p in loops) == [root + b"/a/loop", root + b"/a/up"]
    assert not any(p.is_file for p in loops)


def test_a_dangling_symlink_is_a_file_problem(root):
    touch(root + b"/real.jpg")
    os.symlink(root + b"/gone.jpg", root + b"/link.jpg")
    result = scan([root])
    assert found(result) == [root + b"/real.jpg"]
    assert [(p.path, p.is_file) for p in result.problems] == [(root + b"/link.jpg", True)]
    assert "dangling" in result.problems[0].reason


def test_non_utf8_file_and_folder_names_round_trip(root):
    folder = root + b"/caf\xe9 \xff"
    path = touch(folder + b"/na\xefve\x80.jpg", b"abc")
    result = scan([root])
    assert found(result) == [path]
    with open(result.files[0].path, "rb") as fh:  # the returned bytes open the very same file
        assert fh.read() == b"abc"


def test_normalize_root_keeps_non_utf8_bytes_and_makes_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert normalize_root(b"caf\xe9/") == os.fsencode(tmp_path) + b"/caf\xe9"
    assert normalize_root(tmp_path / "x" / ".." / "y") == os.fsencode(tmp_path / "y")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder regardless of its mode")
def test_an_unreadable_folder_is_reported_and_the_rest_is_scanned(root):
    kept = touch(root + b"/ok/photo.jpg")
    touch(root + b"/locked/secret.jpg")
    os.chmod(root + b"/locked", 0)
    try:
        result = scan([root])
    finally:
        os.chmod(root + b"/locked", 0o755)
    assert found(result) == [kept]
    assert result.unreadable_dirs == [root + b"/locked"]
    assert [(p.path, p.is_file) for p in result.problems] == [(root + b"/locked", False)]


def test_a_folder_that_cannot_be_listed_is_reported_not_raised(root, monkeypatch):
    """What chmod 000 does for a normal user, done directly so it also holds when the suite runs as root."""
    kept = touch(root + b"/ok/photo.jpg")
    touch(root + b"/locked/secret.jpg")
    real_scandir = os.scandir

    def scandir(path):
        if path == root + b"/locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(scan_module.os, "scandir", scandir)
    result = scan([root])
    assert found(result) == [kept]
    assert result.unreadable_dirs == [root + b"/locked"], "its indexed items must be kept, not deleted"
    assert [p.path for p in result.problems] == [root + b"/locked"]
    assert "Permission denied" in result.problems[0].reason
    assert result.unavailable(root) is None and "Permission denied" in scan([root + b"/locked"]).unavailable(
        root + b"/locked"
    )


def test_files_and_folders_removed_during_the_scan_are_left_out_without_problems(root, monkeypatch):
    kept = touch(root + b"/a/photo.jpg")
    touch(root + b"/b/photo.jpg")
    touch(root + b"/gone.jpg")
    real_scandir = os.scandir

    def scandir(path):
        if path != root:
            return real_scandir(path)
        entries = list(real_scandir(path))
        shutil.rmtree(root + b"/b")  # deleted after the folder was listed, before they were looked at
        os.remove(root + b"/gone.jpg")
        return iter(entries)

    monkeypatch.setattr(scan_module.os, "scandir", scandir)
    result = scan([root])
    assert found(result) == [kept]
    assert result.problems == [], "a vanished file is not a dangling symlink, nor an error to record"


# --- sniff -------------------------------------------------------------------------------------------


def image_bytes(fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (16, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(buffer, fmt)
    return buffer.getvalue()


def flac_bytes() -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=16000, layout="mono")
        samples = (np.sin(np.arange(1600) / 5) * 3000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "fmt, mode, expected",
    [
        ("JPEG", "RGB", "jpeg"),
        ("PNG", "RGBA", "png"),
        ("GIF", "P", "gif"),
        ("WEBP", "RGB", "webp"),
        ("BMP", "RGB", "bmp"),
        ("TIFF", "RGB", "tiff"),
    ],
)
@pytest.mark.parametrize("name", ["picture.txt", "picture.bin", "picture"])
def test_images_are_recognised_by_content_whatever_their_name(tmp_path, fmt, mode, expected, name):
    path = tmp_path / name
    path.write_bytes(image_bytes(fmt, mode))
    sniffed = sniff_file(os.fsencode(path))
    assert (sniffed.modality, sniffed.format, sniffed.problem) == (Modality.IMAGE, expected, None)


@pytest.mark.parametrize("fixture, expected", [("budget.wav", "wav"), ("meeting.mp3", "mp3"), ("weather.ogg", "ogg")])
@pytest.mark.parametrize("name", ["recording.txt", "recording.jpg", "recording"])
def test_recordings_are_recognised_by_content_whatever_their_name(tmp_path, fixture, expected, name):
    path = tmp_path / name
    shutil.copyfile(SPEECH / fixture, path)
    sniffed = sniff_file(os.fsencode(path))
    assert (sniffed.modality, sniffed.format, sniffed.problem) == (Modality.AUDIO, expected, None)


def test_flac_is_recognised_by_content(tmp_path):
    path = tmp_path / "song.dat"
    path.write_bytes(flac_bytes())
    assert sniff_file(os.fsencode(path)).modality is Modality.AUDIO


def test_mp3_without_an_id3_tag_is_recognised_by_its_frame_header():
    mp3 = (SPEECH / "meeting.mp3").read_bytes()
    size = 10 + int.from_bytes(bytes(b & 0x7F for b in mp3[6:10]), "big")  # ID3v2 syncsafe length
    frames = mp3[size:]
    assert frames[0] == 0xFF, "the fixture's audio starts right after its tag"
    assert sniff_bytes(frames[:64], ".bin").modality is Modality.AUDIO


def test_m4a_is_recognised_by_its_brand_or_by_its_name():
    m4a = (SPEECH / "memo.m4a").read_bytes()[:64]  # brand "isom": any MP4, audio only by its name
    assert sniff_bytes(m4a, ".m4a").modality is Modality.AUDIO
    audio_brand = m4a[:8] + b"M4A " + m4a[12:]
    assert sniff_bytes(audio_brand, ".bin") == sniff_bytes(audio_brand, ".m4a")
    assert sniff_bytes(audio_brand, ".bin").modality is Modality.AUDIO


def test_heic_is_recognised_as_an_image_by_its_brand():
    head = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    assert sniff_bytes(head, ".jpg").modality is Modality.IMAGE


def test_a_text_file_named_jpg_is_a_problem_saying_it_is_not_an_image(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_text("Dear diary, today we went to the beach.")
    sniffed = sniff_file(os.fsencode(path))
    assert sniffed.modality is None
    assert "not a recognised image" in sniffed.problem and ".jpg" in sniffed.problem
    assert "text" in sniffed.problem


def test_an_empty_jpg_is_a_problem_saying_it_is_empty(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    sniffed = sniff_file(os.fsencode(path))
    assert sniffed.modality is None and "empty" in sniffed.problem


def test_a_binary_named_mp3_is_a_problem_saying_it_is_not_audio():
    sniffed = sniff_bytes(b"\x00\x01\x02\x03garbage\x00" * 4, ".mp3")
    assert sniffed.modality is None and "audio" in sniffed.problem and "binary" in sniffed.problem


def test_an_unknown_binary_with_an_unknown_extension_is_ignored_quietly(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_bytes(bytes(range(256)))
    sniffed = sniff_file(os.fsencode(path))
    assert (sniffed.modality, sniffed.problem) == (None, None)


@pytest.mark.parametrize("name", ["notes.txt", "README.md", "NOTES.TXT", "guide.rst"])
def test_text_documents_are_recognised_by_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("plain words\n")
    assert sniff_file(os.fsencode(path)).modality is Modality.TEXT


def test_a_utf16_text_file_is_text_although_its_bom_looks_like_an_mpeg_sync():
    head = "\ufeffhello".encode("utf-16-le")
    assert head.startswith(b"\xff\xfe")
    assert sniff_bytes(head, ".txt").modality is Modality.TEXT
