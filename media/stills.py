"""Small stills for comparing files by their look (duplicate finding): a picture reduced for hashing with
its full size and EXIF tag count, and a few frames at fixed fractions of a video's length.

Fixed fractions, not the indexer's scene-change frames: two encodings of one video keep different scene
frames, but the frame at 30% of the length is the same picture in both."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from PIL import Image

from anyseek.engine.errors import ExtractionError
from anyseek.media.image import open_photo, open_raw
from anyseek.media.sniff import sniff_file

STILL_SIDE = 64  # enough for a 32x32 hash; a JPEG decodes at 1/8 scale to reach it
VIDEO_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True, slots=True)
class PictureStill:
    image: Image.Image  # upright, small
    width: int  # the file's own pixels
    height: int
    metadata: int  # EXIF tags in the file


@dataclass(frozen=True, slots=True)
class VideoStills:
    duration_s: float
    width: int  # the stream's own pixels
    height: int
    frames: tuple[Image.Image | None, ...]  # one per fraction; None where nothing decoded there


def picture_still(path: bytes, max_pixels: int) -> PictureStill:
    """ExtractionError for a file that no longer decodes (changed or gone since it was indexed)."""
    if sniff_file(path).format == "raw":
        photo = open_raw(path, max_pixels, STILL_SIDE)
        return PictureStill(photo.image, *photo.image.size, 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as header:
                width, height = header.size
                metadata = len(header.getexif())
    except (OSError, SyntaxError, ValueError) as exc:
        raise ExtractionError(f"not a readable image: {exc}") from None
    photo = open_photo(path, max_pixels, STILL_SIDE)
    photo.image.thumbnail((STILL_SIDE * 4, STILL_SIDE * 4))
    return PictureStill(photo.image, width, height, metadata)


def video_stills(path: bytes, fractions: tuple[float, ...] = VIDEO_FRACTIONS) -> VideoStills:
    import av

    try:
        with open(path, "rb") as fh, av.open(fh, metadata_errors="ignore") as container:
            if not container.streams.video:
                raise ExtractionError("no picture stream")
            stream = container.streams.video[0]
            duration = _duration(container, stream)
            frames = tuple(_frame_at(container, stream, duration * f) for f in fractions)
            return VideoStills(duration, stream.width, stream.height, frames)
    except ExtractionError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise ExtractionError(f"corrupt video: {exc}") from None


def _duration(container, stream) -> float:
    if container.duration and container.duration > 0:
        return container.duration / 1e6
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    raise ExtractionError("video of unknown length")


def _frame_at(container, stream, seconds: float) -> Image.Image | None:
    """The first frame at or after `seconds`, reached from the keyframe before it."""
    offset = int(seconds / stream.time_base) + (stream.start_time or 0)
    container.seek(offset, stream=stream, backward=True)
    for frame in container.decode(stream):
        if frame.time is None or frame.time + 1e-3 >= seconds + float((stream.start_time or 0) * stream.time_base):
            image = frame.to_image()
            image.thumbnail((STILL_SIDE * 4, STILL_SIDE * 4))
            return image
    return None
