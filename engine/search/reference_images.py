"""Generated pictures for the visual null (calibration.py): what a query's cosine with *unrelated* pictures
looks like in a joint model's space.

Drawn here from a seed, so they are the same on every machine and nobody's photos: flat colours,
gradients, smooth and grainy noise, stripes, checkers, scattered shapes, line art, lettering and fractals,
in many colours and scales. A caption finds a few of them close to it (a "red square" among scattered
shapes); the calibration's robust statistics are not moved by those few.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

PICTURES = 384
SIDE = 160  # drawn at this size; the model's own preprocessing scales them to its input
SEED = 29
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-"


def pictures(count: int = PICTURES, seed: int = SEED) -> list[Image.Image]:
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    kinds = (_flat, _gradient, _smooth_noise, _grain, _stripes, _checker, _shapes, _lines, _lettering, _fractal)
    return [kinds[i % len(kinds)](rng, noise).convert("RGB") for i in range(count)]


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randrange(256) for _ in range(3))  # type: ignore[return-value]


def _flat(rng, noise) -> Image.Image:
    return Image.new("RGB", (SIDE, SIDE), _colour(rng))


def _gradient(rng, noise) -> Image.Image:
    a, b = np.asarray(_colour(rng), float), np.asarray(_colour(rng), float)
    y, x = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    angle = rng.uniform(0, np.pi)
    t = np.cos(angle) * x + np.sin(angle) * y
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    if rng.random() < 0.4:  # radial
        t = np.clip(np.hypot(x - rng.random(), y - rng.random()) * 1.5, 0, 1)
    return Image.fromarray((a + (b - a) * t[..., None]).astype(np.uint8))


def _smooth_noise(rng, noise) -> Image.Image:
    cells = rng.choice((2, 4, 8, 16))
    small = noise.integers(0, 256, (cells, cells, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((SIDE, SIDE), Image.Resampling.BICUBIC)


def _grain(rng, noise) -> Image.Image:
    base = np.asarray(_colour(rng), float)
    grain = noise.normal(0, rng.uniform(10, 80), (SIDE, SIDE, 1 if rng.random() < 0.5 else 3))
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8))


def _stripes(rng, noise) -> Image.Image:
    a, b = np.asarray(_colour(rng), float), np.asarray(_colour(rng), float)
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 60)
    wave = np.sin(2 * np.pi * (np.cos(angle) * x + np.sin(angle) * y) / period)
    t = (wave > 0).astype(float) if rng.random() < 0.5 else (wave + 1) / 2
    return Image.fromarray((a + (b - a) * t[..., None]).astype(np.uint8))


def _checker(rng, noise) -> Image.Image:
    a, b = np.asarray(_colour(rng), float), np.asarray(_colour(rng), float)
    cell = rng.choice((4, 8, 16, 20, 40))
    y, x = np.mgrid[0:SIDE, 0:SIDE] // cell
    t = ((x + y) % 2).astype(float)
    return Image.fromarray((a + (b - a) * t[..., None]).astype(np.uint8))


def _shapes(rng, noise) -> Image.Image:
    image = Image.new("RGB", (SIDE, SIDE), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 12)):
        x, y, r = rng.uniform(0, SIDE), rng.uniform(0, SIDE), rng.uniform(4, SIDE / 3)
        box = (x - r, y - r, x + r, y + r)
        kind = rng.randrange(3)
        if kind == 0:
            draw.ellipse(box, fill=_colour(rng))
        elif kind == 1:
            draw.rectangle(box, fill=_colour(rng))
        else:
            angles = sorted(rng.uniform(0, 2 * np.pi) for _ in range(rng.randint(3, 7)))
            points = [(x + r * np.cos(a), y + r * np.sin(a)) for a in angles]
            draw.polygon(points, fill=_colour(rng))
    return image.filter(ImageFilter.GaussianBlur(rng.choice((0, 0, 1, 3))))


def _lines(rng, noise) -> Image.Image:
    image = Image.new("RGB", (SIDE, SIDE), (255, 255, 255) if rng.random() < 0.6 else _colour(rng))
    draw = ImageDraw.Draw(image)
    ink = (0, 0, 0) if rng.random() < 0.6 else _colour(rng)
    for _ in range(rng.randint(3, 40)):
        points = [(rng.uniform(0, SIDE), rng.uniform(0, SIDE)) for _ in range(rng.randint(2, 5))]
        draw.line(points, fill=ink, width=rng.choice((1, 1, 2, 4)))
    return image


def _lettering(rng, noise) -> Image.Image:
    paper = (255, 255, 255) if rng.random() < 0.7 else _colour(rng)
    image = Image.new("RGB", (SIDE, SIDE), paper)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=rng.choice((8, 10, 14, 20, 32)))
    ink = (0, 0, 0) if rng.random() < 0.7 else _colour(rng)
    for row in range(0, SIDE, rng.choice((10, 14, 18, 26, 40))):
        text = "".join(rng.choice(LETTERS) for _ in range(40))
        draw.text((rng.uniform(-20, 4), row), text, fill=ink, font=font)
    return image


def _fractal(rng, noise) -> Image.Image:
    """A Julia set crop coloured by escape time."""
    c = complex(rng.uniform(-0.9, 0.4), rng.uniform(-0.8, 0.8))
    zoom, cx, cy = rng.uniform(0.5, 3.0), rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5)
    y, x = np.mgrid[-1 : 1 : SIDE * 1j, -1 : 1 : SIDE * 1j]
    z = (x + 1j * y) / zoom + complex(cx, cy)
    escape = np.zeros(z.shape)
    for step in range(40):
        inside = np.abs(z) <= 2
        z[inside] = z[inside] ** 2 + c
        escape[inside] = step
    t = escape / 40
    a, b = np.asarray(_colour(rng), float), np.asarray(_colour(rng), float)
    return Image.fromarray((a + (b - a) * t[..., None]).astype(np.uint8))
