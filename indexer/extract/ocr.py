"""Reading the text in a picture (a photo, a kept video frame, a PDF page without a text layer), in the
decode workers, with the OCR models of engine/encoders/ocr.py.

Cost decides the shape. Every picture is first judged, from its grey levels at PAGE_SIDE (no model):

- a picture that looks like a page (most of it one flat background: a screenshot, a scan, a slide) is read
  in full: its text is small, a glance at a few hundred pixels cannot see 13 px letters, so the detector
  runs at up to READ_PIXELS of the picture at full resolution;
- any other picture gets a glance: the detector on the picture shrunk to GLANCE_SIDE, a fraction of the
  picture's embedding. Where the glance found text (a sign, a whiteboard, a label), those lines are read,
  each cut from the picture at full resolution;
- the rest (photos without text, most photos) cost the glance alone.

Recognition runs only on the lines found. A reading that fails, or runs past its time limit, costs the
picture its text, not its place in the index: the result carries the reason, for the run's report.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from anyseek.engine import faults
from anyseek.engine.errors import AnyseekError

log = logging.getLogger(__name__)

# The glance's long side. 320 px, not 448: the detector costs half as much (27 ms of one core for a photo,
# against 55 ms), the drawn sign's lines still score 0.75-0.79 (0.79-0.81 at 448), and photos without text
# gave no box over the threshold at 320 where one scored 0.65 at 448 and cost a recognition (bench/ocr.py,
# docs/ocr.md). What it gives up: text under about 1/40 of a photo's long side is not seen.
GLANCE_SIDE = 320
# The size at which a picture is judged to be a page (its background share, below): the threshold was
# measured at this size, where a screenshot's small print still shows as strokes apart from its background.
PAGE_SIDE = 448
# The share of a picture (at glance size) within a few grey levels of its commonest one, from which it is
# read as a page. Measured (bench/ocr.py, docs/ocr.md): screenshots and scans 0.62-0.83, the photographs of
# mate-backgrounds 0.02-0.39.
PAGE_BACKGROUND = 0.5
BACKGROUND_LEVELS = 6
# A page is read with the detector at its full resolution up to this many pixels (a 1920x1080 screenshot
# is read as it is), and never below half of it (small print stays at least half its height).
READ_PIXELS = 2_600_000
MAX_READ_PIXELS = 8_000_000
MIN_READ_SCALE = 0.5
# The detector's mean text probability inside a box found at glance size, below which the box is not taken
# for text: measured on tests/fixtures/ocr at 448 px, lines of a sign 0.79-0.81, the edges of blobs in a photo
# 0.55; at 320 px the sign's lines score 0.75-0.79 and those photos give no box at all.
GLANCE_MIN_SCORE = 0.65
MIN_CONFIDENCE = 0.6  # the recogniser's mean character confidence below which a line is taken for noise
MIN_LINE_PIXELS = 6  # a "line" thinner than this in the picture is a scratch, not text
REC_STEP = 32  # lines recognised between two looks at the clock


class ReadingTimeout(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Line:
    """One line of text: its quadrilateral in the upright picture's pixels (4 x 2, clockwise from the top
    left, as the detector gives it), its words and the recogniser's confidence."""

    quad: np.ndarray
    text: str
    confidence: float


@dataclass(slots=True)
class PictureText:
    """What was read in one picture; `width` x `height` is the upright picture's size the quads are in."""

    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    failure: str | None = None  # why the reading stopped, for the run's report
    read_in_full: bool = False  # whether it was read as a page (for the benchmark)


class PictureReader:
    """Reads pictures with one OCR model (loaded on first use by `model`), under a time limit per picture.
    `name` is the reader's name as items record it (engine/encoders/ocr.reader_name)."""

    def __init__(self, model: Callable[[], object], name: str, timeout_s: float) -> None:
        self._model, self.name, self.timeout_s = model, name, timeout_s

    def read(
        self, picture: Image.Image, size: tuple[int, int] | None = None, full: Callable[[], Image.Image] | None = None
    ) -> PictureText:
        """`picture`: upright, as decoded (a JPEG maybe at reduced scale); `size`: the upright picture's full
        size when `picture` is smaller; `full`: the picture at full resolution, decoded on demand."""
        width, height = size or picture.size
        out = PictureText(width, height)
        if min(width, height) < 8:
            return out
        model = self._model()  # outside the clock: a model loads once per run, not per picture
        # The limit counts the reading's own computing, this thread's CPU time (the OCR sessions run on the
        # calling thread), not the wall clock: on a busy machine (2 cores, 4 decode workers, the embedding
        # models, other jobs) a page that reads in 3 s can pass 20 s of wall time and lose its text for
        # nothing; a picture that is itself costly still stops at the same limit.
        deadline = time.thread_time() + self.timeout_s if self.timeout_s else math.inf
        try:
            out.lines, out.read_in_full = _read(model, picture, (width, height), full, deadline)
        except ReadingTimeout:
            out.failure = (
                f"OCR gave up after {self.timeout_s:g} s of computing (setting ocr_timeout_s); indexed without its text"
            )
        except AnyseekError:
            raise
        except Exception as exc:  # noqa: BLE001 - the picture's boundary: what fails here costs its text only
            log.debug("OCR failed", exc_info=True)
            out.failure = f"OCR failed ({type(exc).__name__}: {exc}); indexed without its text"
        return out


def _read(model, picture: Image.Image, size: tuple[int, int], full, deadline: float) -> tuple[list[Line], bool]:
    faults.checkpoint("ocr.read")  # a picture's text being read: the crash tests kill the run here
    view, scale = _shrunk(picture, PAGE_SIDE)
    page = background_share(view) >= PAGE_BACKGROUND
    if not page:  # a page's glance would be thrown away: it is read in full below
        glance, scale = _shrunk(picture, GLANCE_SIDE)
        quads, scores = model.detect(glance)
        quads = quads[scores >= GLANCE_MIN_SCORE]  # a photo's edges and textures are not read
        _check(deadline)
        if not len(quads):
            return [], False
    source = full() if full is not None and picture.size != size else picture
    bgr = _bgr(source)
    to_source = source.size[0] / picture.size[0]
    if page:
        area = source.size[0] * source.size[1]
        read_scale = min(1.0, max(math.sqrt(READ_PIXELS / area), MIN_READ_SCALE), math.sqrt(MAX_READ_PIXELS / area))
        shrunk = bgr if read_scale >= 1.0 else _resize(bgr, read_scale)
        quads, _ = model.detect(shrunk)
        _check(deadline)
        quads = quads / read_scale
    else:
        quads = quads / scale * to_source
    lines = _recognise(model, bgr, quads, deadline)
    upright = size[0] / source.size[0]
    return [Line(line.quad * upright, line.text, line.confidence) for line in lines], page


def _recognise(model, bgr: np.ndarray, quads: np.ndarray, deadline: float) -> list[Line]:
    from rapidocr.utils.process_img import get_rotate_crop_image

    kept = [q for q in quads if _thickness(q) >= MIN_LINE_PIXELS]
    lines: list[Line] = []
    for start in range(0, len(kept), REC_STEP):
        part = kept[start : start + REC_STEP]
        crops = [get_rotate_crop_image(bgr, q.astype(np.float32).copy()) for q in part]
        for quad, (text, confidence) in zip(part, model.recognize(crops)):
            text = " ".join(text.split())
            if confidence >= MIN_CONFIDENCE and any(ch.isalnum() for ch in text):
                lines.append(Line(quad, text, confidence))
        _check(deadline)
    return lines


def background_share(bgr: np.ndarray) -> float:
    """The share of the picture within BACKGROUND_LEVELS grey levels of its commonest grey: high for a page
    (a screenshot, a scan, a slide), low for a photograph."""
    grey = (bgr[..., 0] * 0.114 + bgr[..., 1] * 0.587 + bgr[..., 2] * 0.299).astype(np.uint8)
    counts = np.bincount(grey.ravel(), minlength=256)
    mode = int(counts.argmax())
    return float(counts[max(0, mode - BACKGROUND_LEVELS) : mode + BACKGROUND_LEVELS + 1].sum() / grey.size)


def _thickness(quad: np.ndarray) -> float:
    return float(min(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[0] - quad[1])))


def _check(deadline: float) -> None:
    if time.thread_time() > deadline:
        raise ReadingTimeout


def _bgr(picture: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(picture.convert("RGB"))[..., ::-1])


def _resize(bgr: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    height, width = bgr.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def _shrunk(picture: Image.Image, max_side: int) -> tuple[np.ndarray, float]:
    """The picture as BGR, no larger than `max_side` on its long side: (pixels, scale from the picture)."""
    width, height = picture.size
    scale = min(1.0, max_side / max(width, height))
    small = picture if scale >= 1.0 else picture.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                                        Image.Resampling.BOX)  # fmt: skip
    return _bgr(small), small.size[0] / width
