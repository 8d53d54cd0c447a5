"""What extract()'s image step hands back (see extract.ImageDecoder), whichever path decoded the picture:
a thread, a decode process, or none yet (a JPEG left for the device)."""

from __future__ import annotations

from dataclasses import dataclass

from anyseek.media.image import Photo


@dataclass(slots=True)
class DecodedImage:
    pixels: object  # the model's input (np.ndarray), or a gpu_jpeg.JpegBytes its batch decodes on the device
    captured_at: float | None
    photo: Photo | None = None  # the upright picture, where it was decoded in this thread (OCR reads it then)
