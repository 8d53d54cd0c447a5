"""The query side's decoder: sniffing and decoding of query files and uploads, with the same code and the
same caps (pixels, recording length) as indexed files. It fits engine/contracts.Decoder, which the engine
is written against; engine/bootstrap.py wires this one in."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from anyseek.engine.errors import ExtractionError, UnreadableQueryFileError
from anyseek.engine.records import Modality
from anyseek.media import file_warnings
from anyseek.media.audio import decode_audio
from anyseek.media.image import jpeg_draft_size, open_image, open_raw
from anyseek.media.sniff import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, TEXT_EXTENSIONS, sniff_bytes, sniff_file
from anyseek.media.video import sound_only

log = logging.getLogger(__name__)


class MediaDecoder:
    known_extensions = frozenset(IMAGE_EXTENSIONS | AUDIO_EXTENSIONS | TEXT_EXTENSIONS)

    def __init__(self, max_image_pixels: int, max_audio_seconds: float, jpeg_draft: float = 0.0) -> None:
        self.max_image_pixels, self.max_audio_seconds = max_image_pixels, max_audio_seconds
        self.jpeg_draft = jpeg_draft  # the indexer's setting: a query photo decodes as the same file did

    def file_kind(self, path: Path) -> Modality | None:
        modality = sniff_file(os.fsencode(path)).modality
        return Modality.AUDIO if modality is Modality.VIDEO and self.sound_only(path) else modality

    def upload_kind(self, head: bytes) -> Modality | None:
        return sniff_bytes(head, "").modality

    def sound_only(self, path: Path) -> bool:
        return sound_only(os.fsencode(path))

    def content_format(self, head: bytes, extension: str) -> str:
        return sniff_bytes(head, extension).format

    def query_image(self, source: str | os.PathLike | bytes | BinaryIO, image_size: int | None = None) -> Image.Image:
        """Decoded exactly as the indexer decodes the same file for a model of this input size (a JPEG at
        the same reduced scale), so an indexed photo used as the query finds its own vector."""
        with _naming(source if isinstance(source, (str, os.PathLike)) else None):
            if isinstance(source, (str, os.PathLike)):
                source = os.fsencode(source)
            draft = jpeg_draft_size(self.jpeg_draft, image_size) if image_size else None
            if isinstance(source, bytes) and sniff_file(source).format == "raw":
                return open_raw(source, self.max_image_pixels, draft).image  # its preview, as when indexed
            return open_image(source, self.max_image_pixels, draft)

    def image(self, source: BinaryIO, draft_size: int | None = None) -> Image.Image:
        return open_image(source, self.max_image_pixels, draft_size=draft_size)

    def recording(self, path: Path) -> np.ndarray:
        with _naming(path):
            return decode_audio(os.fsencode(path), self.max_audio_seconds)


@contextlib.contextmanager
def _naming(path: str | os.PathLike | None) -> Iterator[None]:
    """A query file that cannot be decoded is a bad argument, and its error names the file (an upload's
    bytes have no name: its error stays as the decoder put it). A decoder's warnings about a query file
    (damaged EXIF, a palette's transparency) do not change the search: logged, not printed raw."""
    file_warnings.install()
    try:
        with file_warnings.collected() as said:
            yield
    except ExtractionError as exc:
        if path is None:
            raise
        raise UnreadableQueryFileError(os.fspath(path), str(exc)) from None
    for line in said:
        log.info("query file %s: %s", "(upload)" if path is None else os.fspath(path), line)
