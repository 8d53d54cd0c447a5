"""Builds a folder of real files with known duplicates and known look-alikes, for tests/test_duplicates*.py."""

from __future__ import annotations

import shutil
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from tests.media import photo

__all__ = ["DEMO_MODEL", "burst", "documents", "photo", "pictures", "recordings", "videos"]

DEMO_MODEL = Path(__file__).resolve().parent.parent / "data" / "demo-model"
SPEECH = Path(__file__).parent / "fixtures" / "speech"
FORMATS = Path(__file__).parent / "fixtures" / "formats"


def dated(image: Image.Image, path: Path, when: str, **save) -> Path:
    """Saved with an EXIF capture time ("2024:05:01 10:00:00") and a camera make (metadata)."""
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0132] = when
    image.save(path, exif=exif, **save)
    return path


def pictures(root: Path) -> dict[str, set[str]]:
    """Pictures and the groups they must form (file names); every other picture stands alone."""
    root.mkdir(parents=True, exist_ok=True)
    for seed in range(8):
        photo(seed, (640, 480)).save(root / f"p{seed}.jpg", quality=92)
    shutil.copyfile(root / "p0.jpg", root / "p0-copy.jpg")
    Image.open(root / "p1.jpg").save(root / "p1-q55.jpg", quality=55)
    Image.open(root / "p2.jpg").resize((256, 192)).save(root / "p2-small.jpg", quality=85)
    Image.open(root / "p3.jpg").save(root / "p3.png")
    original = Image.open(root / "p4.jpg")
    w, h = original.size
    original.crop((w * 3 // 100, h * 3 // 100, w - w * 3 // 100, h - h * 3 // 100)).save(root / "p4-crop.jpg")
    ImageEnhance.Brightness(Image.open(root / "p5.jpg")).enhance(1.04).save(root / "p5-bright.webp", quality=90)
    # look-alikes that must stay apart: a dark variant, a half, the same colours in another picture
    ImageEnhance.Brightness(Image.open(root / "p6.jpg")).enhance(0.45).save(root / "p6-dark.jpg")
    Image.open(root / "p7.jpg").crop((0, 0, w // 2, h)).save(root / "p7-half.jpg")
    ImageOps.mirror(Image.open(root / "p6.jpg")).save(root / "p6-mirrored.jpg")
    return {
        "p0": {"p0.jpg", "p0-copy.jpg"},
        "p1": {"p1.jpg", "p1-q55.jpg"},
        "p2": {"p2.jpg", "p2-small.jpg"},
        "p3": {"p3.jpg", "p3.png"},
        "p4": {"p4.jpg", "p4-crop.jpg"},
        "p5": {"p5.jpg", "p5-bright.webp"},
    }


def burst(root: Path) -> set[str]:
    """Three shots two seconds apart of one scene drifting, and a picture of the same scene a day later."""
    root.mkdir(parents=True, exist_ok=True)
    scene = np.asarray(photo(40, (1000, 480)))
    names = []
    for i in range(3):  # the camera pans: each shot 80 px (12%) on, more than any crop of a duplicate
        shot = Image.fromarray(scene[:, i * 80 : i * 80 + 640].copy())
        names.append(dated(shot, root / f"burst-{i}.jpg", f"2024:05:01 10:00:0{2 * i}", quality=90).name)
    dated(Image.fromarray(scene[:, 360:1000].copy()), root / "next-day.jpg", "2024:05:02 10:00:00", quality=90)
    return set(names)


def documents(root: Path) -> dict[str, set[str]]:
    """The DOCX fixture, its text as a .txt (another format, the same text), and another text."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FORMATS / "recipe.docx", root / "recipe.docx")
    (root / "recipe.txt").write_text(
        "Recipe for rye sourdough bread\n\nMix the starter with rye flour and water, then rest the dough "
        "overnight.\n\nBake in a hot cast iron pot for fifty minutes.\n"
    )
    (root / "bread-notes.txt").write_text(
        "Notes on wheat bread: knead the dough for ten minutes, proof it twice, and bake it in a loaf tin."
    )
    return {"recipe": {"recipe.docx", "recipe.txt"}}


def recordings(root: Path) -> dict[str, set[str]]:
    """A recording, the same speech resampled into another file, and another recording."""
    from anyseek.media.audio import decode_audio

    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SPEECH / "budget.wav", root / "budget.wav")
    shutil.copyfile(SPEECH / "meeting.mp3", root / "meeting.mp3")
    samples = decode_audio(bytes(SPEECH / "budget.wav"), 600)
    with wave.open(str(root / "budget-copy.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((np.clip(samples * 0.9, -1, 1) * 32767).astype("<i2").tobytes())
    return {"budget": {"budget.wav", "budget-copy.wav"}}


def _encode(path: Path, frames: list[np.ndarray], codec: str, fps: int = 12) -> None:
    import av

    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def videos(root: Path) -> dict[str, set[str]]:
    """A video and its re-encoding at a smaller size with another codec; two different videos that open
    with the same three seconds of black."""
    root.mkdir(parents=True, exist_ok=True)
    scenes = [np.asarray(photo(60 + s, (192, 144))) for s in range(3)]
    clip = [scenes[i // 24] for i in range(72)]
    _encode(root / "holiday.mp4", clip, "libx264")
    _encode(root / "holiday-small.mkv", [np.asarray(Image.fromarray(f).resize((128, 96))) for f in clip], "mpeg4")
    black = [np.zeros((144, 192, 3), np.uint8)] * 36
    _encode(root / "intro-a.mp4", black + [np.asarray(photo(70, (192, 144)))] * 36, "libx264")
    _encode(root / "intro-b.mp4", black + [np.asarray(photo(71, (192, 144)))] * 36, "libx264")
    return {"holiday": {"holiday.mp4", "holiday-small.mkv"}}
