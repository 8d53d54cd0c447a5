"""Images: safe decode (pixel cap checked before decoding), EXIF orientation, first frame of animations."""

from __future__ import annotations

import threading
import warnings

from PIL import Image, ImageOps

from anyseek.engine.errors import ExtractionError

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


def open_image(source, max_pixels: int, draft_size: int | None = None) -> Image.Image:
    """Decode an image (path, file object or PIL image) to RGB.

    draft_size lets JPEG decode at a reduced scale (1/2, 1/4, 1/8) while staying at least that many
    pixels on each side: a 12 MP photo headed for a 224 px model decodes several times faster.
    """
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    if isinstance(source, bytes):
        with open(source, "rb") as fh:
            return open_image(fh, max_pixels, draft_size)
    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                _check_pixels(image, max_pixels)
                if draft_size and image.format == "JPEG":
                    image.draft("RGB", (draft_size, draft_size))
                image.seek(0)
                image.load()
                oriented = ImageOps.exif_transpose(image)
                return oriented.convert("RGB")
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


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ExtractionError(
            f"image is {width}×{height} ({width * height / 1e6:.0f} MP), over the "
            f"{max_pixels / 1e6:.0f} MP cap (setting max_image_pixels)"
        )
