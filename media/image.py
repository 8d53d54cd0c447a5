"""Images: safe decode (pixel cap checked before decoding), EXIF orientation, first frame of animations,
capture date; camera RAW files by their embedded preview."""

from __future__ import annotations

import io
import mmap
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from anyseek.engine.errors import ExtractionError
from anyseek.media.exif import exif_time, image_capture_time
from anyseek.media.raw import raw_preview

# EXIF orientation -> the transpose that makes the picture upright (as ImageOps.exif_transpose does)
ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_heif_lock = threading.Lock()
_heif_registered = False


def _register_heif() -> None:
    """pillow-heif adds HEIC/AVIF to Pillow. Registered on first image, not at import."""
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
            except ImportError:
                pass
            _heif_registered = True


@dataclass(frozen=True, slots=True)
class Photo:
    image: Image.Image  # RGB, upright
    captured_at: float | None  # UTC epoch seconds, from EXIF
    # the upright picture's full size: larger than image.size when a JPEG was decoded at reduced scale
    full_size: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.full_size or self.image.size


def jpeg_draft_size(jpeg_draft: float, image_size: int) -> int | None:
    """The draft_size a JPEG headed for a model of this input size decodes at (setting jpeg_draft), or None
    for a full decode. Index and query decode a file alike through this."""
    return round(jpeg_draft * image_size) or None


def open_image(source, max_pixels: int, draft_size: int | None = None) -> Image.Image:
    """Decode an image (path, file object or PIL image) to RGB.

    draft_size lets JPEG decode at a reduced scale (1/2, 1/4, 1/8) while staying at least that many
    pixels on each side: a 12 MP photo headed for a 224 px model decodes several times faster.
    """
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    return open_photo(source, max_pixels, draft_size).image


def open_photo(source, max_pixels: int, draft_size: int | None = None) -> Photo:
    """open_image, plus the capture date. `source` is a path (bytes) or a file object."""
    if isinstance(source, bytes):
        with open(source, "rb") as fh:
            return open_photo(fh, max_pixels, draft_size)
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                _check_pixels(image, max_pixels)
                before = image.size
                if draft_size and image.format == "JPEG":
                    image.draft("RGB", (draft_size, draft_size))
                image.seek(0)
                image.load()
                captured_at = image_capture_time(image)
                oriented = ImageOps.exif_transpose(image)
                return Photo(oriented.convert("RGB"), captured_at, _full_size(before, image.size, oriented.size))
    except ExtractionError:
        raise
    except Image.DecompressionBombError as exc:
        raise ExtractionError(
            f"image refused as a decompression bomb, far over the {max_pixels / 1e6:.0f} MP cap "
            f"(setting max_image_pixels): {exc}"
        ) from None
    except Image.UnidentifiedImageError:
        raise ExtractionError("not a readable image (unrecognised or corrupt data)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason:
            raise ExtractionError(f"truncated image: {reason}") from None
        raise ExtractionError(f"corrupt image: {reason}") from None


def _full_size(before: tuple[int, int], decoded: tuple[int, int], upright: tuple[int, int]) -> tuple[int, int] | None:
    """The upright picture's full size when a reduced decode made it smaller (None: it is full size)."""
    if before == decoded:
        return None
    turned = upright != decoded  # the orientation swapped width and height
    return (before[1], before[0]) if turned else before


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ExtractionError(
            f"image is {width}×{height} ({width * height / 1e6:.0f} MP), over the "
            f"{max_pixels / 1e6:.0f} MP cap (setting max_image_pixels)"
        )


def open_raw(path: bytes, max_pixels: int, draft_size: int | None = None) -> Photo:
    """A camera RAW file through its embedded JPEG preview, turned upright by the RAW's own orientation
    (previews rarely carry one), dated by the RAW's EXIF."""
    with open(path, "rb") as fh:
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:
            raise ExtractionError("empty file (0 bytes)") from None
        with data:
            preview = raw_preview(data)
    photo = open_photo(io.BytesIO(preview.jpeg), max_pixels, draft_size)
    image, full_size = photo.image, photo.size
    if preview.orientation in ORIENTATION and not _has_orientation(preview.jpeg):
        image = image.transpose(ORIENTATION[preview.orientation])
        if preview.orientation in (5, 6, 7, 8):
            full_size = (full_size[1], full_size[0])
    captured_at = exif_time(preview.datetime_original, preview.offset_original) or photo.captured_at
    return Photo(image, captured_at, full_size)


def _has_orientation(jpeg: bytes) -> bool:
    """Whether the preview carries its own orientation (then open_photo has applied it already)."""
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            return image.getexif().get(0x0112, 1) != 1
    except (OSError, SyntaxError, ValueError):
        return False
