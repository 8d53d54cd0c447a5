"""Synthetic scenes for the demo: coloured shapes on varied backgrounds, and captions that describe them.

Used by `make_demo_dataset.py` to build the training data of the demo model, and by the demo to render
media and query images that look like what the model was trained on:

    from data.demo_scenes import draw_scene
    image = draw_scene("red", "circle", "blue", "square", seed=7)

What a scene means is its colours and shapes only; size, position, rotation, colour jitter and background
are nuisance variation the model has to learn to ignore.
"""

from __future__ import annotations

import colorsys
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

IMAGE_SIZE = 64
SUPERSAMPLE = 4  # draw large and downsample: anti-aliased edges, as in real photos of flat shapes

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35),
    "orange": (255, 135, 0),
    "yellow": (245, 220, 20),
    "green": (30, 170, 50),
    "blue": (35, 75, 235),
    "purple": (145, 45, 200),
    "pink": (255, 110, 190),
    "white": (250, 250, 250),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "heart", "cross")

# Held out of the demo model's training images entirely (each colour and each shape at most once), so that
# recall on them measures composition: the model saw "red" and "heart", never a red heart.
HELDOUT: tuple[tuple[str, str], ...] = (
    ("red", "heart"),
    ("orange", "square"),
    ("green", "triangle"),
    ("blue", "cross"),
    ("purple", "circle"),
    ("white", "star"),
)

SINGLE_TEMPLATES = (
    "a {0}",
    "a picture of a {0}",
    "a drawing of a {0}",
    "one {0}",
    "a {0} shape",
    "a {s} that is {c}",
)
PAIR_TEMPLATES = (
    "a {0} and a {1}",
    "a {0} next to a {1}",
    "two shapes: a {0} and a {1}",
    "a {0} with a {1}",
)


@dataclass(frozen=True)
class Thing:
    colour: str
    shape: str

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


def draw_scene(
    colour: str,
    shape: str,
    colour2: str | None = None,
    shape2: str | None = None,
    *,
    seed: int | str | None = None,
    size: int = IMAGE_SIZE,
) -> Image.Image:
    """One scene with one object, or two when `colour2` and `shape2` are given. `seed` fixes the nuisance
    variation (size, position, background); None draws a fresh one."""
    things = [Thing(colour, shape)]
    if colour2 is not None or shape2 is not None:
        if colour2 is None or shape2 is None:
            raise ValueError("a second object needs both colour2 and shape2")
        things.append(Thing(colour2, shape2))
    return render(things, random.Random(seed), size)


def render(things: Sequence[Thing], rng: random.Random, size: int = IMAGE_SIZE) -> Image.Image:
    for thing in things:
        if thing.colour not in COLOURS or thing.shape not in SHAPES:
            raise ValueError(f"unknown colour or shape: {thing.name}; colours {list(COLOURS)}, shapes {SHAPES}")
    big = size * SUPERSAMPLE
    canvas = _background(rng, big)
    draw = ImageDraw.Draw(canvas)
    for thing, (cx, cy, radius) in zip(things, _placements(rng, len(things), big), strict=True):
        _draw_shape(draw, thing.shape, cx, cy, radius, rng.uniform(-20, 20), _jitter(COLOURS[thing.colour], rng))
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def caption(things: Sequence[Thing], rng: random.Random) -> str:
    """A caption in one of several phrasings; the order of two objects is random (it carries no meaning)."""
    if len(things) == 1:
        template = rng.choice(SINGLE_TEMPLATES)
        text = template.format(things[0].name, c=things[0].colour, s=things[0].shape)
    else:
        first, second = rng.sample(list(things), 2)
        text = rng.choice(PAIR_TEMPLATES).format(first.name, second.name)
    return re.sub(r"\ba (?=[aeiou])", "an ", text)


def group(things: Sequence[Thing]) -> str:
    """What a caption means, independent of phrasing and order: all pairs of one group are positives."""
    return " and ".join(sorted(t.name for t in things))


def _jitter(rgb: tuple[int, int, int], rng: random.Random) -> tuple[int, int, int]:
    return tuple(max(0, min(255, c + rng.randint(-14, 14))) for c in rgb)  # type: ignore[return-value]


def _muted(rng: random.Random) -> tuple[int, int, int]:
    # Backgrounds are dull and mid-dark so that every object colour, white included, stands out.
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.35), rng.uniform(0.18, 0.55))
    return int(r * 255), int(g * 255), int(b * 255)


def _background(rng: random.Random, big: int) -> Image.Image:
    kind = rng.choice(("plain", "gradient", "stripes", "checker", "noise"))
    a, b = _muted(rng), _muted(rng)
    if kind == "plain":
        return Image.new("RGB", (big, big), a)
    if kind == "gradient":
        mask = Image.linear_gradient("L").resize((big, big)).rotate(rng.uniform(0, 360))
        return Image.composite(Image.new("RGB", (big, big), a), Image.new("RGB", (big, big), b), mask)
    canvas = Image.new("RGB", (big, big), a)
    draw = ImageDraw.Draw(canvas)
    step = rng.randint(big // 16, big // 5)
    if kind == "stripes":
        for x in range(-big, 2 * big, 2 * step):
            draw.polygon([(x, 0), (x + step, 0), (x + step + big // 2, big), (x + big // 2, big)], fill=b)
    elif kind == "checker":
        for i in range(0, big, step):
            for j in range(0, big, step):
                if (i // step + j // step) % 2:
                    draw.rectangle([i, j, i + step - 1, j + step - 1], fill=b)
    else:
        for _ in range(60):
            x, y, r = rng.randrange(big), rng.randrange(big), rng.randint(big // 40, big // 10)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=_muted(rng))
        canvas = canvas.filter(ImageFilter.GaussianBlur(big / 64))
    return canvas


def _placements(rng: random.Random, count: int, big: int) -> list[tuple[float, float, float]]:
    """Centres and radii, inside the frame and, for two objects, apart from each other."""
    lo, hi = (0.17, 0.34) if count == 1 else (0.12, 0.2)
    for _ in range(200):
        spots = []
        for _ in range(count):
            radius = rng.uniform(lo, hi) * big
            margin = radius + big * 0.03
            spots.append((rng.uniform(margin, big - margin), rng.uniform(margin, big - margin), radius))
        if count == 1 or math.dist(spots[0][:2], spots[1][:2]) > spots[0][2] + spots[1][2] + big * 0.04:
            return spots
    # Unreachable in practice; a fixed side-by-side layout keeps the generator total.
    radius = hi * big * 0.9
    return [(big * 0.27, big * 0.5, radius), (big * 0.73, big * 0.5, radius)][:count]


def _draw_shape(
    draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, angle: float, fill: tuple[int, int, int]
) -> None:
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        return
    points = _outline(shape)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    draw.polygon([(cx + r * (x * cos - y * sin), cy + r * (x * sin + y * cos)) for x, y in points], fill=fill)


def _outline(shape: str) -> list[tuple[float, float]]:
    """Unit-radius outline centred on the origin, y pointing down."""
    if shape == "square":
        s = 0.78
        return [(-s, -s), (s, -s), (s, s), (-s, s)]
    if shape == "triangle":
        return [(0.0, -1.0), (0.95, 0.7), (-0.95, 0.7)]
    if shape == "star":
        return [
            (
                (1.0 if k % 2 == 0 else 0.42) * math.sin(k * math.pi / 5),
                -(1.0 if k % 2 == 0 else 0.42) * math.cos(k * math.pi / 5),
            )
            for k in range(10)
        ]
    if shape == "heart":
        ts = [2 * math.pi * k / 48 for k in range(48)]
        return [
            (
                16 * math.sin(t) ** 3 / 17,
                -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)) / 17 - 0.1,
            )
            for t in ts
        ]
    if shape == "cross":
        a, b = 0.3, 0.9
        return [
            (-a, -b),
            (a, -b),
            (a, -a),
            (b, -a),
            (b, a),
            (a, a),
            (a, b),
            (-a, b),
            (-a, a),
            (-b, a),
            (-b, -a),
            (-a, -a),
        ]
    raise ValueError(f"unknown shape {shape!r}")
