"""The batched JPEG decoder of the GPU path. Its logic (per-file fallback, orientation, resizing) is checked
on the CPU with torchvision's decode_jpeg on CPU tensors; the same checks run on CUDA where present."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from anyseek.engine.errors import ExtractionError
from anyseek.indexer.gpu_jpeg import GpuJpegDecoder, JpegBytes, inspect_jpeg, orient
from anyseek.indexer.pixels import PixelRecipe
from anyseek.media.image import open_photo

RECIPE = PixelRecipe(32, "bicubic", (32, 32), (0.48, 0.46, 0.41), (0.27, 0.26, 0.28))
CAP = 100_000_000
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth scene (JPEG-friendly) with a red left half and a blue right half."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    pixels = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC)).copy()
    pixels[:, : width // 2, 0] = 255
    pixels[:, width // 2 :, 2] = 255
    return Image.fromarray(pixels)


def jpeg(image: Image.Image, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def cpu_path(item: JpegBytes) -> np.ndarray:
    """What the indexer's CPU path makes of the same bytes."""
    return RECIPE.apply(open_photo(io.BytesIO(item.data), CAP).image)


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_on_tensors_matches_pil(orientation):
    image = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8))
    exif = image.getexif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    want = np.asarray(ImageOps.exif_transpose(image)).transpose(2, 0, 1)
    got = orient(torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy()), orientation)
    np.testing.assert_array_equal(got.numpy(), want)


def test_inspect_reads_the_header_without_decoding_and_enforces_the_pixel_cap():
    data = jpeg(photo(60, 40), orientation=6)
    item = inspect_jpeg(data, CAP)
    assert (item.orientation, item.complete) == (6, True)
    assert not inspect_jpeg(data[: len(data) // 2], CAP).complete
    with pytest.raises(ExtractionError, match="max_image_pixels"):
        inspect_jpeg(data, 1000)


@pytest.mark.parametrize("device", DEVICES)
def test_a_batch_decodes_like_the_cpu_path(device):
    items = [
        inspect_jpeg(jpeg(photo(w, h, seed), o), CAP)
        for seed, (w, h, o) in enumerate([(64, 48, 1), (90, 40, 6), (40, 72, 3)])
    ]
    decoder = GpuJpegDecoder(RECIPE, device, cpu_path)
    results = decoder.decode(items)
    assert decoder.fell_back == 0
    for item, got in zip(items, results):
        assert got.shape == RECIPE.shape and got.device.type == device
        # another JPEG decoder and another resampler: the same picture, not the same bits
        assert cosine(got.cpu(), cpu_path(item)) > 0.99


@pytest.mark.parametrize("device", DEVICES)
def test_a_corrupt_jpeg_is_its_own_error_never_its_batchs(device):
    good = [inspect_jpeg(jpeg(photo(64, 48, seed)), CAP) for seed in range(3)]
    garbage = JpegBytes(b"\xff\xd8 not really a jpeg " * 8 + b"\xff\xd9", 1, None, True)
    data = jpeg(photo(64, 48))
    truncated = inspect_jpeg(data[: len(data) // 2], CAP)
    decoder = GpuJpegDecoder(RECIPE, device, cpu_path)
    results = decoder.decode([good[0], garbage, good[1], truncated, good[2]])
    assert isinstance(results[1], ExtractionError) and "not a readable image" in str(results[1])
    assert isinstance(results[3], ExtractionError) and "truncated" in str(results[3])
    for i, item in zip((0, 2, 4), good):
        assert isinstance(results[i], torch.Tensor)
        assert cosine(results[i].cpu(), cpu_path(item)) > 0.99
    assert decoder.fell_back == 2


@pytest.mark.parametrize("device", DEVICES)
def test_exif_orientation_is_applied_on_the_device(device):
    item = inspect_jpeg(jpeg(photo(96, 48), orientation=6), CAP)  # a quarter turn: red ends up on top
    (pixels,) = GpuJpegDecoder(RECIPE, device, cpu_path).decode([item])
    red = pixels[0].cpu().numpy() * RECIPE.std[0] + RECIPE.mean[0]
    assert red[:8].mean() > red[-8:].mean() + 0.3
