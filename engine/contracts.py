"""What the engine needs from the parts it is handed: its models, a decoder of query media, an indexer.

The facade, the searcher and the item files are written against these Protocols, not against concrete
classes. engine/bootstrap.py wires the real ones (engine/encoders.EncoderSet, media/decoder.MediaDecoder,
indexer/pipeline.Indexer); a test may hand in any object that has these methods.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:  # the engine's light modules must not pay for numpy's or PIL's import to name a type
    import numpy as np
    from PIL import Image

    from anyseek.engine.classify.parts import RecordVectors
    from anyseek.engine.encoders.base import Fingerprint
    from anyseek.engine.manifest import Manifest
    from anyseek.engine.records import IndexReport, Modality, Progress
    from anyseek.engine.settings import ModelSpecs


class TextModel(Protocol):
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """One unit-length vector per text."""
        ...


class ImageModel(Protocol):
    def preprocess(self, image: Image.Image) -> np.ndarray: ...

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        """One unit-length vector per preprocessed image."""
        ...


class Transcriber(Protocol):
    def transcript(self, audio: np.ndarray) -> str:
        """16 kHz mono float32 samples -> the words spoken."""
        ...


class Encoders(Protocol):
    """The models of one index, each loaded on first use. `attach` names the callback that every model
    reports its fingerprint to as it loads (the index records it, or refuses a model that differs)."""

    specs: ModelSpecs

    def for_text_query(self, space: str) -> TextModel:
        """What embeds a text query in this space (a Space, or its name)."""
        ...

    def for_image_query(self) -> ImageModel: ...

    @property
    def speech(self) -> Transcriber: ...

    def prefer_models(self) -> None: ...

    def attach(self, on_load: Callable[[Fingerprint], None]) -> None: ...


class Decoder(Protocol):
    """What the query side needs from the media layer: what a query file or an upload is, and its content,
    decoded under the same caps as indexed files."""

    known_extensions: frozenset[str]  # names a user may mean as a file (a missing one gets a warning)

    def file_kind(self, path: Path) -> Modality | None:
        """A query file's kind; a voice memo in a video container (sound, no picture) is a recording."""
        ...

    def upload_kind(self, head: bytes) -> Modality | None:
        """What uploaded bytes are, from their first 64 bytes alone (never from a name)."""
        ...

    def sound_only(self, path: Path) -> bool:
        """Whether a container sniffed as a video holds sound and no picture."""
        ...

    def content_format(self, head: bytes, extension: str) -> str:
        """The format name of a file's content (jpeg, mp3, text ...), from its head and extension."""
        ...

    def query_image(self, source: str | Path | bytes | BinaryIO, image_size: int | None = None) -> Image.Image:
        """An image to search with, decoded as the indexer decodes the same file for a model of this input
        size (a JPEG at the same reduced scale; a RAW file: its preview)."""
        ...

    def image(self, source: BinaryIO, draft_size: int | None = None) -> Image.Image:
        """An image, upright and RGB; `draft_size` lets a JPEG decode at a reduced scale."""
        ...

    def recording(self, path: Path) -> np.ndarray:
        """A recording's samples, 16 kHz mono float32."""
        ...


class Indexer(Protocol):
    def run(
        self,
        paths: list[Path | str],
        on_progress: Callable[[Progress], None] | None = None,
        prune: bool = False,
        retry_failed: bool = False,
        ray: str | None = None,
    ) -> IndexReport: ...

    def run_records(
        self,
        manifest: Manifest,
        collection: str,
        on_progress: Callable[[Progress], None] | None = None,
        retry_failed: bool = False,
    ) -> IndexReport: ...

    def embed_records(
        self, manifest: Manifest, on_progress: Callable[[Progress], None] | None = None
    ) -> tuple[list[RecordVectors], IndexReport]:
        """The manifest's records embedded as run_records would embed them, and written nowhere."""
        ...
