"""Detailed photos, generated: the hard cases for decoding a JPEG at reduced scale (bench/jpeg_draft.py) and
the small folder's pattern photo (bench/scores.py). Fine detail near or above the model input's Nyquist
limit is where a reduced-scale decode (a block average) and a full decode then a bicubic resize part ways;
a smooth photo hides the difference.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

KINDS = ("texture", "line art", "text", "fractal", "fine stripes", "smooth")
SIZES = ((477, 720), (1600, 1200), (4032, 3024))  # (width, height): the photo, 2 MP, a 12 MP phone


def picture(kind: str, width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "texture":  # grain at 1-3 px over blotches: bark, sand, fabric
        grain = rng.normal(0, 50, (height, width, 3))
        blotch = np.asarray(
            Image.fromarray(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)).resize((width, height), Image.BICUBIC)
        )
        return Image.fromarray(np.clip(blotch + grain, 0, 255).astype(np.uint8))
    if kind == "fine stripes":  # a period of ~3-9 px in both directions: moire-prone
        a = np.sin(x * rng.uniform(0.7, 2.0)) * np.sin(y * rng.uniform(0.7, 2.0) + x * 0.3)
        colour = np.stack([a, np.roll(a, 2, axis=1), -a], axis=-1)
        return Image.fromarray(((colour + 1) * 127.5).astype(np.uint8))
    if kind == "fractal":  # a Mandelbrot edge: detail at every scale
        scale = 0.25 / width
        c = (x - width / 2) * scale - 0.75 + 1j * ((y - height / 2) * scale + 0.1)
        z = np.zeros_like(c)
        escape = np.zeros(c.shape, np.float32)
        for step in range(80):
            inside = np.abs(z) <= 2
            z[inside] = z[inside] ** 2 + c[inside]
            escape[inside] = step
        bands = 0.5 + 0.5 * np.sin(escape * 0.9)  # a colour band per escape step: edges at every scale
        return Image.fromarray((np.stack([bands, bands**2, 1 - bands], axis=-1) * 255).astype(np.uint8))
    if kind == "smooth":  # a plain photo-like scene: the easy case
        a = np.stack([x / width, y / height, 0.5 + 0.5 * np.sin(x / width * 6)], axis=-1)
        return Image.fromarray((a * 255).astype(np.uint8))
    image = Image.new("RGB", (width, height), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    if kind == "line art":  # thin ink lines at 1-2 px
        for _ in range(width * height // 2000):
            points = [tuple(rng.uniform(0, (width, height))) for _ in range(3)]
            draw.line(points, fill=(20, 20, 20), width=int(rng.integers(1, 3)))
        return image
    font = ImageFont.load_default(size=max(8, height // 60))  # text: a page of small print
    words = ["anyseek", "photo", "search", "decode", "sample", "index", "vector", "cosine"]
    for row in range(0, height, max(10, height // 50)):
        draw.text((4, row), " ".join(rng.choice(words, 30)), fill=(10, 10, 30), font=font)
    return image


def jpeg_bytes(image: Image.Image, orientation: int | None = None, quality: int = 90) -> bytes:
    """The picture as a JPEG; with an EXIF orientation tag, stored turned so that the tag puts it upright."""
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
        if orientation == 8:  # the viewer turns it 90° clockwise: store it 90° anticlockwise
            image = image.transpose(Image.Transpose.ROTATE_90)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def write(folder: Path) -> list[Path]:
    """Every kind at every size, as JPEGs in `folder` (kept between runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, kind in enumerate(KINDS):
        for width, height in SIZES:
            path = folder / f"{kind.replace(' ', '-')}-{width}x{height}.jpg"
            if not path.exists():
                path.write_bytes(jpeg_bytes(picture(kind, width, height, seed=i), 8 if width == 477 else None))
            paths.append(path)
    return paths
