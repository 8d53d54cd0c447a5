"""Per-modality extraction: from a file to chunks and model inputs, run in the decode workers."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, ChunkKind, Modality
from anyseek.engine.settings import Settings
from anyseek.indexer.extract.audio import decode_audio
from anyseek.indexer.extract.documents import document_passages
from anyseek.indexer.extract.image import open_photo, open_raw
from anyseek.indexer.extract.text import decode_text, split_passages
from anyseek.indexer.sniff import DOCUMENT_FORMATS, Sniffed


class TokenWindow(Protocol):
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...


class JointPreprocessor(TokenWindow, Protocol):
    image_size: int

    def preprocess(self, image) -> np.ndarray: ...


@dataclass(slots=True)
class Extracted:
    """A decoded file. Audio gets its chunks later, once Whisper has transcribed it."""

    modality: Modality
    chunks: list[Chunk] = field(default_factory=list)
    pixels: np.ndarray | None = None
    audio: np.ndarray | None = None
    captured_at: float | None = None  # UTC epoch seconds, from EXIF


def extract(
    path: bytes, sniffed: Sniffed, joint: JointPreprocessor, settings: Settings, window: TokenWindow | None = None
) -> Extracted:
    """`window` cuts text into passages (default: the joint model's; see EncoderSet.document_window)."""
    if sniffed.modality is Modality.IMAGE:
        draft = round(settings.jpeg_draft * joint.image_size) or None
        opener = open_raw if sniffed.format == "raw" else open_photo
        photo = opener(path, settings.max_image_pixels, draft_size=draft)
        pixels = joint.preprocess(photo.image)
        return Extracted(Modality.IMAGE, [Chunk(ChunkKind.IMAGE, 0)], pixels=pixels, captured_at=photo.captured_at)
    if sniffed.modality is Modality.TEXT and sniffed.format in DOCUMENT_FORMATS:
        window = window or joint
        split = functools.partial(split_passages, count_tokens=window.count_tokens, max_tokens=window.max_tokens)
        return Extracted(Modality.TEXT, document_passages(path, sniffed.format, split, settings.max_text_bytes))
    if sniffed.modality is Modality.TEXT:
        size = os.path.getsize(path)
        if size > settings.max_text_bytes:
            raise ExtractionError(
                f"text file is {size / 2**20:.0f} MB, over the "
                f"{settings.max_text_bytes / 2**20:.0f} MB cap (setting max_text_bytes)"
            )
        with open(path, "rb") as fh:
            text = decode_text(fh.read())
        window = window or joint
        return Extracted(Modality.TEXT, split_passages(text, window.count_tokens, window.max_tokens))
    if sniffed.modality is Modality.AUDIO:
        return Extracted(Modality.AUDIO, audio=decode_audio(path, settings.max_audio_seconds))
    raise ExtractionError(sniffed.problem or "unsupported file type")
