"""A decoder's warnings belong to the file it was decoding: a `warning FILE: …` line in the run's report, in
words a user can act on, or nothing when they mean nothing to the user. Never Pillow's raw stderr line."""

from __future__ import annotations

import io
import json
import threading
import warnings

from PIL import Image

from anyseek.media.file_warnings import DAMAGED_EXIF
from tests.conftest import TEST_MODEL_FLAGS
from tests.test_cli_e2e import anyseek


def palette_png_with_byte_transparency(path) -> None:
    """Pillow warns 'Palette images with Transparency expressed in bytes…' when it converts this to RGB."""
    image = Image.new("P", (48, 48))
    image.putpalette([(i * 37) % 256 for i in range(768)])
    for x in range(48):
        for y in range(48):
            image.putpixel((x, y), (x // 12 + y // 12) % 4)
    image.save(path, transparency=bytes([0, 128, 255, 255]))


def jpeg_with_damaged_exif(path, colour=(200, 10, 10)) -> None:
    """A JPEG whose EXIF DateTimeOriginal claims more bytes than the EXIF block holds: Pillow warns and
    skips the tag; the picture itself decodes."""
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x9003] = "2024:05:01 10:00:00"
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "JPEG", exif=exif.tobytes())
    data = bytearray(out.getvalue())
    entry = data.find(bytes.fromhex("9003000200000014"))  # tag 0x9003, ASCII, 20 bytes (big-endian EXIF)
    assert entry > 0
    data[entry + 4 : entry + 8] = (0x2000).to_bytes(4, "big")
    path.write_bytes(bytes(data))


def test_user_messages_name_the_damage_or_drop_what_means_nothing():
    from anyseek.media.file_warnings import user_message

    assert user_message("Palette images with Transparency expressed in bytes should be…", UserWarning) is None
    assert user_message("Tag data larger than file. Skipping tag 36867", UserWarning) == DAMAGED_EXIF
    assert user_message("Corrupt EXIF data.  Expecting to read 12 bytes but only got 4. ", UserWarning) == DAMAGED_EXIF
    assert user_message("some API will change", FutureWarning) is None
    assert user_message("Image appears to be a malformed MPO file\nmore", UserWarning).startswith("Image appears")


def test_warnings_are_collected_per_thread_and_each_once():
    from anyseek.media import file_warnings

    file_warnings.install()
    seen: dict[str, list[str]] = {}

    def decode(name: str, words: str) -> None:
        with file_warnings.collected() as said:
            for _ in range(3):
                warnings.warn_explicit(words, UserWarning, "PIL/Image.py", 1, module="PIL.Image")
        seen[name] = said

    threads = [threading.Thread(target=decode, args=(f"f{i}", f"odd thing {i}")) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {f"f{i}": [f"odd thing {i}"] for i in range(4)}


def test_indexing_reports_decoder_warnings_per_file_and_prints_no_raw_library_line(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    palette_png_with_byte_transparency(media / "palette.png")
    jpeg_with_damaged_exif(media / "exif-a.jpg")
    jpeg_with_damaged_exif(media / "exif-b.jpg", colour=(10, 200, 10))  # the same warning, a second file
    index = tmp_path / "index"

    done = anyseek("index", str(media), *TEST_MODEL_FLAGS, index=index)
    assert done.returncode == 0, done.stderr
    assert "UserWarning" not in done.stderr and "PIL/" not in done.stderr and "warnings.warn" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("warning ")]
    assert sorted(lines) == sorted(
        f"warning {media / name}: damaged EXIF metadata was skipped (its capture date or orientation may be missing)"
        for name in ("exif-a.jpg", "exif-b.jpg")
    ), done.stderr
    assert "palette.png" not in done.stderr  # converted to RGB either way: nothing for the user to do

    status = json.loads(anyseek("status", "--json", index=index).stdout)
    assert status["items"] == {"image": 3} and status["errors"] == 0


def test_a_decode_process_hands_its_warnings_to_the_report(open_engine, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    jpeg_with_damaged_exif(media / "exif.jpg")
    palette_png_with_byte_transparency(media / "palette.png")
    report = open_engine(decode_workers_kind="processes").index([media])
    assert (report.added, report.failed) == (2, 0)
    assert [(w.path.rsplit("/", 1)[-1], w.reason) for w in report.warnings] == [("exif.jpg", DAMAGED_EXIF)]
    assert report.as_dict()["warnings"][0]["reason"] == DAMAGED_EXIF


def test_a_query_image_s_warnings_do_not_reach_the_user(indexed, tmp_path, recwarn):
    """recwarn stands where stderr would be: whatever a decoder's warning would print, it records."""
    eng, _ = indexed
    palette_png_with_byte_transparency(tmp_path / "palette.png")
    jpeg_with_damaged_exif(tmp_path / "exif.jpg")
    for name in ("palette.png", "exif.jpg"):
        assert eng.search(image=tmp_path / name, k=1).hits
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)], [str(w.message) for w in recwarn]
