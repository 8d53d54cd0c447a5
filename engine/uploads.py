"""Query files sent by a client (an image or a recording), turned into a query part.

The type is read from the content, never from the name or the declared content type (a WebM, Ogg or MP4
container with sound and no picture is a recording, as the indexer takes it); the bytes are
decoded later by the same safe decoders (pixel cap, audio length cap) as indexed files. A recording is
written to a private temporary file for the audio decoder and removed when the search is done.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from anyseek.engine.contracts import Decoder
from anyseek.engine.errors import UploadError, UploadTooLargeError
from anyseek.engine.records import Modality, QueryPart

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # default cap; the server can lower or raise it


@contextlib.contextmanager
def upload_part(
    data: bytes, decoder: Decoder, max_bytes: int = MAX_UPLOAD_BYTES, weight: float = 1.0
) -> Iterator[QueryPart]:
    if not data:
        raise UploadError("the uploaded file is empty")
    if len(data) > max_bytes:
        raise UploadTooLargeError(f"the uploaded file is over the {max_bytes // 2**20} MiB upload limit")
    modality = decoder.upload_kind(data[:64])
    if modality is Modality.IMAGE:
        yield QueryPart(weight, image=bytes(data))
        return
    if modality not in (Modality.AUDIO, Modality.VIDEO):
        raise UploadError("the uploaded file is not an image or a recording of a supported format")
    handle, name = tempfile.mkstemp(prefix="anyseek-upload-")  # mode 0600, not guessable
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if modality is Modality.VIDEO and not decoder.sound_only(Path(name)):
            raise UploadError("the uploaded file is a video: search with a photo or a recording instead")
        yield QueryPart(weight, audio=Path(name))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
