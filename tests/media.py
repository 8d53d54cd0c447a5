"""Builds the mixed media folder the end-to-end tests index: real files of every supported kind."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

SPEECH = Path(__file__).parent / "fixtures" / "speech"
VIDEO = Path(__file__).parent / "fixtures" / "video"

NOTES = {
    "budget-notes.md": "# Planning\n\nThe budget for next year covers travel, equipment and two new hires.\n\n"
    "Finance will review the spending plan in March.",
    "garden.txt": "Tomatoes need full sun and regular watering. Mulch keeps the soil moist in summer.",
    "cafe.txt": ("Le café était déjà fermé quand nous sommes arrivés à la gare. " * 3, "latin-1"),
    "poem.rst": ("Snow falls on the quiet harbour; the boats sleep under white blankets.", "utf-16"),
}


def photo(seed: int, size=(320, 240)) -> Image.Image:
    """A distinct picture per seed: a colour gradient with shapes and noise, so images differ for a model."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 255, 3)
    gradient = np.linspace(0, 1, w)[None, :, None] * rng.integers(-120, 120, 3)
    pixels = np.clip(base + gradient + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    for _ in range(3):
        x, y = rng.integers(0, w - 40), rng.integers(0, h - 40)
        pixels[y : y + 40, x : x + 40] = rng.integers(0, 255, 3)
    return Image.fromarray(pixels)


def build_media_folder(root: Path) -> Path:
    photos = root / "photos"
    photos.mkdir(parents=True)
    photo(1).save(photos / "beach.jpg", quality=90)
    photo(2).save(photos / "forest.png")
    photo(3, (200, 150)).save(photos / "animation.gif")
    photo(4).save(photos / "city.webp")
    photo(5, (160, 120)).save(photos / "icon.bmp")
    photo(6).save(photos / "scan.tiff")
    photo(7, (1600, 1200)).save(photos / "large.jpg", quality=85)
    docs = root / "docs"
    docs.mkdir()
    for name, content in NOTES.items():
        text, encoding = content if isinstance(content, tuple) else (content, "utf-8")
        (docs / name).write_bytes(text.encode(encoding))
    audio = root / "recordings"
    audio.mkdir()
    for name in ("budget.wav", "meeting.mp3", "weather.ogg"):
        shutil.copyfile(SPEECH / name, audio / name)
    return root
