"""Slide decks: PowerPoint (python-pptx) and OpenDocument presentations (opendocument.py), one slide at a
time. A slide's text is its shapes' text in reading order (grouped shapes and table cells included), then
its speaker notes; its passages carry the slide number, which is the hit's location as a PDF's page is."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk

SLIDE_BREAK = "\n\n"


def pptx_slides(path: bytes) -> list[str]:
    from pptx import Presentation

    try:
        deck = Presentation(os.fsdecode(path))
    except Exception as exc:  # noqa: BLE001 - a missing part, a bad zip, lxml's XMLSyntaxError: this file's error
        raise ExtractionError(f"corrupt PowerPoint deck: {type(exc).__name__}: {exc}") from None
    slides = []
    for slide in deck.slides:
        pieces = list(_shape_texts(slide.shapes))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            pieces.append(slide.notes_slide.notes_text_frame.text)
        slides.append("\n".join(piece.strip() for piece in pieces if piece and piece.strip()))
    return slides


def _shape_texts(shapes) -> Iterator[str]:
    # top to bottom, then left to right: the order a reader's eye follows, not the order shapes were drawn
    ordered = sorted(shapes, key=lambda s: ((s.top or 0) // 10_000, s.left or 0))
    for shape in ordered:
        if shape.shape_type == 6 or hasattr(shape, "shapes"):  # a group
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                yield " | ".join(cell.text for cell in row.cells)
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text


def slide_passages(slides: list[str], split: Callable[[str], list[Chunk]]) -> list[Chunk]:
    """Each slide cut into passages that never straddle two slides; offsets point into the slides' text
    joined by blank lines."""
    chunks: list[Chunk] = []
    offset = 0
    for number, text in enumerate(slides, 1):
        for chunk in split(text):
            chunks.append(
                dataclasses.replace(
                    chunk,
                    ordinal=len(chunks),
                    char_start=chunk.char_start + offset,
                    char_end=chunk.char_end + offset,
                    slide=number,
                )
            )
        offset += len(text) + len(SLIDE_BREAK)
    return chunks
