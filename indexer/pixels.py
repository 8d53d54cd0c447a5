"""The joint model's image preprocessing as plain data that a decode process can apply with PIL and NumPy.

open_clip's eval transform is a torchvision Compose. Unpickling it in a decode process would import torch
(a second or two and hundreds of MB per process) for what is a resize, a crop and a normalisation. So the
transform is read once into a `PixelRecipe`; the steps are the same PIL calls torchvision makes on a PIL
image, so the result matches `ClipEncoder.preprocess` (tests/test_decode_processes.py checks it). A
transform of any other shape has no recipe and is decoded in threads, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# torchvision's InterpolationMode values -> PIL's resampling filters (as torchvision maps them)
RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


@dataclass(frozen=True, slots=True)
class PixelRecipe:
    resize: int  # the shorter side after resizing
    resample: str  # a RESAMPLE key
    crop: tuple[int, int]  # (height, width) of the centre crop
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def shape(self) -> tuple[int, int, int]:
        return (3, *self.crop)

    def apply(self, image: Image.Image) -> np.ndarray:
        """RGB PIL image -> float32 CHW model input."""
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.resize, int(self.resize * long / short)  # torchvision's rounding
        size = (new_short, new_long) if width <= height else (new_long, new_short)
        if size != image.size:
            image = image.resize(size, RESAMPLE[self.resample])
        crop_h, crop_w = self.crop
        top, left = int(round((size[1] - crop_h) / 2.0)), int(round((size[0] - crop_w) / 2.0))
        image = image.crop((left, top, left + crop_w, top + crop_h))
        if image.mode != "RGB":
            image = image.convert("RGB")
        pixels = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
        mean = np.asarray(self.mean, np.float32).reshape(-1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(-1, 1, 1)
        return np.ascontiguousarray((pixels - mean) / std)


def recipe_from_transform(transform) -> PixelRecipe | None:
    """The recipe of an open_clip eval transform (Resize, CenterCrop, convert to RGB, to-tensor,
    Normalize), or None for any other shape."""
    steps = list(getattr(transform, "transforms", []))
    names = [type(step).__name__ for step in steps]
    if len(steps) != 5 or names[:2] != ["Resize", "CenterCrop"] or names[4] != "Normalize":
        return None
    if "Convert" not in names[2] or "ToTensor" not in names[3] or getattr(steps[2], "mode", "RGB") != "RGB":
        return None
    resize, crop, normalize = steps[0], steps[1], steps[4]
    size = resize.size[0] if isinstance(resize.size, (list, tuple)) and len(resize.size) == 1 else resize.size
    resample = getattr(resize.interpolation, "value", None)
    crop_size = tuple(crop.size) if isinstance(crop.size, (list, tuple)) else (crop.size, crop.size)
    if not isinstance(size, int) or resize.max_size is not None or resample not in RESAMPLE:
        return None
    if len(crop_size) != 2 or max(crop_size) > size or len(normalize.mean) != 3:
        return None  # a crop larger than the image would need torchvision's padding
    return PixelRecipe(
        size,
        resample,
        (int(crop_size[0]), int(crop_size[1])),
        tuple(float(m) for m in normalize.mean),
        tuple(float(s) for s in normalize.std),
    )
