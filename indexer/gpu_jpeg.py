"""JPEG decoding, resizing and normalising on the GPU in batches (torchvision's decode_jpeg, nvJPEG on CUDA).

The CPU side stays small: a worker reads the file's bytes and its header (`inspect_jpeg`: size for the
pixel cap, EXIF orientation, capture date, a complete file), none of which decodes pixels. The GPU then
decodes a batch at once. A batch that fails is decoded again file by file, and a file that fails alone
goes through the CPU path, whose error (truncated, corrupt) is that file's error, as it is today: one bad
JPEG never fails its batch.

Everything here runs on any torch device; on the CPU it is how the tests check the logic. The module
imports nothing heavy at the top (no indexer.extract, whose package pulls in PyAV and pdfium), so
bench/gpu.py can carry it to a machine that has only torch and torchvision.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from anyseek.engine.errors import ExtractionError
from anyseek.indexer.decoded import DecodedImage
from anyseek.indexer.pixels import PixelRecipe

log = logging.getLogger(__name__)

EOI = b"\xff\xd9"  # a JPEG's last marker: a file cut short lacks it


@dataclass(slots=True)
class JpegBytes:
    """A JPEG as read by a worker, ready for the GPU."""

    data: bytes
    orientation: int  # EXIF orientation, 1 = upright
    captured_at: float | None
    complete: bool  # False: truncated; decoded on the CPU path so it fails (or not) exactly as today


def inspect_jpeg(data: bytes, max_pixels: int) -> JpegBytes:
    """The header facts the GPU path needs, without decoding pixels; raises the pixel cap's error."""
    from anyseek.media.exif import image_capture_time  # CPU side only: bench/gpu.py runs without it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ExtractionError(
                    f"image is {width}×{height} ({width * height / 1e6:.0f} MP), over the "
                    f"{max_pixels / 1e6:.0f} MP cap (setting max_image_pixels)"
                )
            orientation = image.getexif().get(0x0112, 1)
            captured_at = image_capture_time(image)
    complete = data.rstrip(b"\x00").endswith(EOI)
    return JpegBytes(data, orientation if orientation in range(1, 9) else 1, captured_at, complete)


def orient(pixels, orientation: int):
    """A CHW tensor turned upright by its EXIF orientation, as PIL's ImageOps.exif_transpose does."""
    import torch

    h, w = -2, -1
    if orientation == 2:
        return pixels.flip(w)
    if orientation == 3:
        return torch.rot90(pixels, 2, (h, w))
    if orientation == 4:
        return pixels.flip(h)
    if orientation == 5:
        return pixels.transpose(h, w)
    if orientation == 6:
        return torch.rot90(pixels, -1, (h, w))
    if orientation == 7:
        return pixels.transpose(h, w).flip(h).flip(w)
    if orientation == 8:
        return torch.rot90(pixels, 1, (h, w))
    return pixels


def prepare(pixels, recipe: PixelRecipe):
    """uint8 CHW -> float32 model input on the same device: resize (shorter side), centre crop, normalise.
    Rounded and clamped to 0-255 after resizing, as PIL's uint8 resize is."""
    import torch
    from torchvision.transforms.v2 import functional as F

    mode = getattr(F.InterpolationMode, recipe.resample.upper())
    resized = F.resize(pixels.float().unsqueeze(0), [recipe.resize], interpolation=mode, antialias=True)[0]
    cropped = F.center_crop(resized.clamp_(0, 255).round_(), list(recipe.crop))
    mean = torch.tensor(recipe.mean, device=pixels.device).view(-1, 1, 1)
    std = torch.tensor(recipe.std, device=pixels.device).view(-1, 1, 1)
    return (cropped / 255 - mean) / std


class GpuJpegDecoder:
    """Decodes batches of JpegBytes to model inputs on `device`; `fallback(item)` decodes one on the CPU
    (returning a CHW float32 array, or raising the file's error)."""

    def __init__(self, recipe: PixelRecipe, device: str, fallback: Callable[[JpegBytes], np.ndarray]) -> None:
        self.recipe, self.device, self.fallback = recipe, device, fallback
        self.fell_back = 0  # files the GPU could not decode (for the logs and the tests)

    def decode(self, items: list[JpegBytes]) -> list:
        """One result per item, in order: a float32 CHW tensor on the device, or the file's exception."""
        import torch

        results: list = [None] * len(items)
        gpu = [i for i, item in enumerate(items) if item.complete]
        for i in set(range(len(items))) - set(gpu):
            results[i] = self._cpu(items[i])
        decoded = self._decode_gpu([items[i].data for i in gpu])
        for i, pixels in zip(gpu, decoded):
            if isinstance(pixels, torch.Tensor):
                results[i] = prepare(orient(pixels, items[i].orientation), self.recipe)
            else:
                results[i] = self._cpu(items[i])
        return results

    def _decode_gpu(self, datas: list[bytes]) -> list:
        """Decoded uint8 CHW tensors; an exception in place of each file that would not decode."""
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        if not datas:
            return []
        tensors = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data in datas]
        try:
            return list(decode_jpeg(tensors, mode=ImageReadMode.RGB, device=self.device))
        except RuntimeError as exc:  # one bad file fails the whole batched call: find it file by file
            log.debug("batched JPEG decode failed (%s); decoding the batch file by file", exc)
        out = []
        for tensor in tensors:
            try:
                out.append(decode_jpeg(tensor, mode=ImageReadMode.RGB, device=self.device))
            except RuntimeError as exc:
                out.append(exc)
        return out

    def _cpu(self, item: JpegBytes):
        self.fell_back += 1
        try:
            import torch

            return torch.from_numpy(np.ascontiguousarray(self.fallback(item))).to(self.device)
        except Exception as exc:  # noqa: BLE001 - the file boundary: its error, never the batch's
            return exc


class DeferredJpegs:
    """extract()'s image step (see extract.ImageDecoder) for the device path: a JPEG is read and inspected,
    not decoded; its batch decodes it on the model's device (indexer/batch.py). Other formats, and a JPEG
    whose header does not parse, go to `cpu` (the thread or process path), so their errors stay the same."""

    def __init__(self, cpu) -> None:
        self.cpu = cpu

    def __call__(self, path: bytes, fmt: str, max_pixels: int, draft: int | None):
        if fmt != "jpeg":
            return self.cpu(path, fmt, max_pixels, draft)
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            item = inspect_jpeg(data, max_pixels)
        except ExtractionError:
            raise  # over the pixel cap
        except Exception:  # noqa: BLE001 - an unreadable header: the CPU path names the file's error
            return self.cpu(path, fmt, max_pixels, draft)
        return DecodedImage(item, item.captured_at)
