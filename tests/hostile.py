"""The hostile corpus: bad input of every kind mixed into a folder of good images, documents and speech.

`build_hostile_corpus` returns what a correct run must report: for each bad file a substring of its
error reason, and the good files that must end up searchable.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.media import SPEECH, VIDEO, photo

FORMATS = Path(__file__).parent / "fixtures" / "formats"


@dataclass
class HostileCorpus:
    root: Path
    bad: dict[bytes, str] = field(default_factory=dict)  # path -> expected words in the reason
    good: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # folder problems expected in the report


def _png_bomb(side: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def _write(corpus: HostileCorpus, relative: bytes, data: bytes, reason: str | None = None) -> bytes:
    path = os.path.join(os.fsencode(corpus.root), relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    if reason is None:
        corpus.good.append(path)
    else:
        corpus.bad[path] = reason
    return path


def build_hostile_corpus(root: Path, big_text_mb: int = 200) -> HostileCorpus:
    import pillow_heif

    corpus = HostileCorpus(root)
    jpeg = _encode(photo(11), "JPEG")
    _write(corpus, b"good/photo.jpg", jpeg)
    _write(corpus, b"good/diagram.png", _encode(photo(12), "PNG"))
    _write(corpus, b"good/notes.md", b"Quarterly planning notes: hire two engineers and buy a new server.")
    shutil.copyfile(SPEECH / "weather.ogg", root / "good" / "weather.ogg")
    corpus.good.append(os.fsencode(root / "good" / "weather.ogg"))
    # 1-3: broken or disguised images
    _write(corpus, b"bad/truncated.jpg", jpeg[: len(jpeg) // 2], "truncated")
    _write(corpus, b"bad/empty.jpg", b"", "empty file")
    _write(corpus, b"bad/text-named.jpg", b"just some words, not a picture\n", "not a recognised image")
    _write(corpus, b"good/jpeg-named.txt", _encode(photo(13), "JPEG"))  # content wins over the name
    # 4: a decompression bomb: 30000x30000 declared, a few bytes on disk
    _write(corpus, b"bad/bomb.png", _png_bomb(30000), "max_image_pixels")
    # 5: undecodable bytes in file and folder names
    _write(corpus, b"caf\xe9/\xff\xfenotes.txt", b"Latin-1 folder, broken file name, perfectly good text.")
    # 6: a symlink loop and a dangling symlink
    os.symlink("..", root / "good" / "loop-to-parent")
    corpus.problems.append("symlink loop")
    os.symlink(root / "missing-target.jpg", root / "bad" / "dangling.jpg")
    corpus.bad[os.fsencode(root / "bad" / "dangling.jpg")] = "dangling symlink"
    # 7: unreadable (root reads it anyway; then it is simply a good file)
    locked = _write(corpus, b"bad/locked.txt", b"secret text", None if os.geteuid() == 0 else "permission denied")
    os.chmod(locked, 0)
    # 8: HEIC
    heic = root / "good" / "phone.heic"
    pillow_heif.register_heif_opener()
    photo(14).save(heic, format="HEIF")
    corpus.good.append(os.fsencode(heic))
    # 9: a corrupt MP3 (a valid frame header, then noise) and a WAV with a header and no samples
    noise = np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    _write(corpus, b"bad/corrupt.mp3", b"\xff\xfb\x90\x64" + noise, "audio")
    _write(corpus, b"bad/silent.wav", _empty_wav(), "no audio")
    # 10: binary posing as text; Latin-1 and UTF-16 text
    _write(corpus, b"bad/binary.txt", b"\x00\x01\x02\x03binary\x00" * 100, "binary")
    _write(corpus, b"good/latin1.txt", "Crème brûlée à la française, très délicieuse.".encode("latin-1"))
    _write(corpus, b"good/utf16.txt", "A note saved by an old Windows editor.".encode("utf-16"))
    # 11: a very large text file: refused by the size cap, never read into memory
    big = root / "bad" / "huge.txt"
    with open(big, "wb") as fh:
        line = b"All work and no play makes a very long log file. " * 20 + b"\n"
        for _ in range(big_text_mb * 1024 * 1024 // len(line) + 1):
            fh.write(line)
    corpus.bad[os.fsencode(big)] = "max_text_bytes"
    _documents_and_raw(corpus)
    # 12: videos: a good one, one cut after its index, one cut before it, words named .mov
    _write(corpus, b"good/clip.webm", (VIDEO / "silent.webm").read_bytes())
    scenes, talk = (VIDEO / "scenes.mp4").read_bytes(), (VIDEO / "talk.mp4").read_bytes()
    _write(corpus, b"bad/cut.mp4", scenes[: len(scenes) // 2], "truncated video")
    _write(corpus, b"bad/headless.mp4", talk[: len(talk) // 3], "cannot read video")
    _write(corpus, b"bad/words.mov", b"a shopping list, not a film\n", "not a recognised video")
    return corpus


def _documents_and_raw(corpus: HostileCorpus) -> None:
    """12: documents and camera RAW, good and broken (fixtures from tests/fixtures/formats)."""
    pdf, docx, dng = (FORMATS / name for name in ("report.pdf", "recipe.docx", "camera.dng"))
    _write(corpus, b"good/report.pdf", pdf.read_bytes())
    _write(corpus, b"good/recipe.docx", docx.read_bytes())
    _write(corpus, b"good/saved-page.htm", (FORMATS / "penguins.html").read_bytes())
    _write(corpus, b"good/camera.dng", dng.read_bytes())
    _write(corpus, b"bad/truncated.pdf", pdf.read_bytes()[:400], "corrupt or unreadable PDF")
    _write(corpus, b"bad/scanned.pdf", (FORMATS / "scanned.pdf").read_bytes(), "scanned PDF")
    _write(corpus, b"bad/truncated.docx", docx.read_bytes()[:500], "corrupt .docx document")
    _write(corpus, b"bad/bomb.docx", _zip_bomb(), "max_text_bytes")
    _write(corpus, b"bad/truncated.dng", dng.read_bytes()[:2000], "corrupt camera RAW")


def _zip_bomb() -> bytes:
    """A Word document whose text part declares 4 GB once inflated (the central directory lies)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
    data = bytearray(buffer.getvalue())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 0xFFFFFFF0)  # uncompressed size
    return bytes(data)


def _encode(image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _empty_wav() -> bytes:
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36, b"WAVE", b"fmt ", 16, 1, 1, 16000, 32000, 2, 16, b"data", 0)
    return header
