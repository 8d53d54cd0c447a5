"""From the lines read in a picture to passages: blocks of lines in reading order, then chunks that fit
the text model's window, each with its box.

Geometry only, no model. A slightly rotated scan is first straightened in thought (the lines' median slant
is undone on their corners, not on the picture), so lines stay apart; the boxes handed out are the lines'
own, in the upright picture.

- A block is a run of lines one under the other: about a line's height apart, of like size, overlapping
  sideways or starting at the same left edge (a paragraph, a list, a dialog's message).
- Blocks are ordered by recursive XY cuts: split at a clear vertical gutter first (columns, a sidebar), else
  at horizontal gaps (a title above a body), top to bottom and left to right.
- A passage is a block, cut at line ends where it outgrows the window; small blocks next to each other in
  reading order (a heading, a button, a caption) share a passage, so one screenshot's labels are one
  searchable passage rather than fifty one-word chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from anyseek.engine.records import Box, Chunk, ChunkKind
from anyseek.indexer.extract.ocr import Line, PictureText

MAX_SKEW = math.radians(15)  # a slant past this is not a straight page photographed askew: left as it is
SMALL_WORDS = 8  # a block of fewer words shares a passage with its neighbours


class Window(Protocol):  # the token window a passage must fit (extract.TokenWindow)
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...


@dataclass(slots=True)
class _Placed:
    """A line in straightened coordinates."""

    line: Line
    x0: float
    y0: float
    x1: float
    y1: float
    height: float


# A passage of fewer letters and digits than this is not kept: a drawn circle read as "O" or a lone digit
# on a texture is a shape, not text, and as a text chunk in the joint space it outranked the right photo
# for a photo query (tests/test_demo_semantics.py).
MIN_PASSAGE_CHARACTERS = 3


def text_chunks(
    text: PictureText,
    window: Window,
    first_ordinal: int,
    page: int | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
) -> list[Chunk]:
    """The picture's text as OCR chunks numbered from `first_ordinal`, with a PDF page or a frame's time."""
    chunks = []
    for lines in passages(reading_blocks(text.lines), window):
        if sum(ch.isalnum() for line in lines for ch in line.text) < MIN_PASSAGE_CHARACTERS:
            continue
        chunks.append(
            Chunk(
                ChunkKind.OCR,
                first_ordinal + len(chunks),
                "\n".join(line.text for line in lines),
                start_s=start_s,
                end_s=end_s,
                page=page,
                box=box_of(lines, text.width, text.height),
                confidence=round(confidence_of(lines), 4),
            )
        )
    return chunks


def skew(lines: list[Line]) -> float:
    """The median slant of the long lines' top edges, in radians (0 when there are none)."""
    angles = []
    for line in lines:
        top = line.quad[1] - line.quad[0]
        height = np.linalg.norm(line.quad[3] - line.quad[0])
        if np.linalg.norm(top) > 3 * height:
            angles.append(math.atan2(float(top[1]), float(top[0])))
    angle = float(np.median(angles)) if angles else 0.0
    return angle if abs(angle) <= MAX_SKEW else 0.0


def reading_blocks(lines: list[Line]) -> list[list[Line]]:
    """The lines grouped into blocks, blocks and lines in reading order."""
    if not lines:
        return []
    angle = skew(lines)
    turn = np.array([[math.cos(-angle), -math.sin(-angle)], [math.sin(-angle), math.cos(-angle)]])
    placed = []
    for line in lines:
        corners = line.quad @ turn.T
        x0, y0 = corners.min(axis=0)
        x1, y1 = corners.max(axis=0)
        height = float((np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2)
        placed.append(_Placed(line, float(x0), float(y0), float(x1), float(y1), max(height, 1.0)))
    placed.sort(key=lambda p: ((p.y0 + p.y1) / 2, p.x0))
    blocks: list[list[_Placed]] = []
    for line in placed:
        for block in reversed(blocks):
            if _continues(block[-1], line):
                block.append(line)
                break
        else:
            blocks.append([line])
    return [[p.line for p in block] for block in _xy_order(blocks)]


def _continues(above: _Placed, line: _Placed) -> bool:
    """Whether `line` is the next line of the block that ends with `above`."""
    low, high = sorted((above.height, line.height))
    if high > 1.6 * low:
        return False
    gap = line.y0 - above.y1
    if not -0.5 * low <= gap <= 0.9 * low:
        return False
    overlap = min(above.x1, line.x1) - max(above.x0, line.x0)
    return overlap > 0 or abs(line.x0 - above.x0) < 2 * low


def _xy_order(blocks: list[list[_Placed]]) -> list[list[_Placed]]:
    if len(blocks) <= 1:
        return blocks
    spans = [(min(p.x0 for p in b), min(p.y0 for p in b), max(p.x1 for p in b), max(p.y1 for p in b)) for b in blocks]
    gutter = float(np.median([p.height for b in blocks for p in b]))
    for axis, min_gap in ((0, gutter), (1, 0.0)):  # columns first, then rows
        groups = _split(blocks, spans, axis, min_gap)
        if len(groups) > 1:
            return [block for group in groups for block in _xy_order(group)]
    order = sorted(range(len(blocks)), key=lambda i: (spans[i][1], spans[i][0]))
    return [blocks[i] for i in order]


def _split(blocks, spans, axis: int, min_gap: float) -> list[list]:
    """The blocks in groups separated by a gap of at least `min_gap` along `axis` (0: x, 1: y)."""
    order = sorted(range(len(blocks)), key=lambda i: spans[i][axis])
    groups: list[list] = []
    end = -math.inf
    for i in order:
        start, stop = spans[i][axis], spans[i][axis + 2]
        if not groups or start - end >= min_gap and start > end:
            groups.append([])
        groups[-1].append(blocks[i])
        end = max(end, stop)
    return groups


def passages(blocks: list[list[Line]], window: Window) -> list[list[Line]]:
    """Blocks cut to the window at line ends, small neighbours joined."""
    pieces: list[list[Line]] = []
    for block in blocks:
        current: list[Line] = []
        for line in block:
            if current and _tokens(window, current + [line]) > window.max_tokens:
                pieces.append(current)
                current = []
            current.append(line)
        pieces.append(current)
    joined: list[list[Line]] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        small = last is not None and min(_words(last), _words(piece)) < SMALL_WORDS
        if small and _tokens(window, last + piece) <= window.max_tokens:
            last.extend(piece)
        else:
            joined.append(list(piece))
    return joined


def _tokens(window: Window, lines: list[Line]) -> int:
    return window.count_tokens("\n".join(line.text for line in lines))


def _words(lines: list[Line]) -> int:
    return sum(len(line.text.split()) for line in lines)


def box_of(lines: list[Line], width: int, height: int) -> Box:
    """The lines' bounding box in the upright picture, in whole pixels inside it."""
    corners = np.concatenate([line.quad for line in lines])
    x0, y0 = np.clip(np.floor(corners.min(axis=0)), 0, [width, height]).astype(int)
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)), 0, [width, height]).astype(int)
    return Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0), width, height)


def confidence_of(lines: list[Line]) -> float:
    """The recogniser's confidence over the lines, weighted by their length."""
    weights = [max(1, len(line.text)) for line in lines]
    return float(sum(w * line.confidence for w, line in zip(weights, lines)) / sum(weights))
