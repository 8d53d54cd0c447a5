"""Image queries without torch: the joint model's image tower on ONNX Runtime, for a cold `anyseek search
--image` (the text towers' twin is query_runtime.py).

A photo as a query used to import torch and open_clip and build the model (seconds) to embed one image.
Once the joint model has been loaded the slow way on the CPU for an image query, its image tower is
exported here and its eval transform is described as plain PIL steps (resize, centre crop, RGB; then the
to-tensor and normalise arithmetic the indexer already does in NumPy, see joint.py). Both are checked
before the manifest is written: the steps must give the same pixels as open_clip's transform on probe
images of several shapes and modes, and the exported tower the same vectors as PyTorch (cosine >=
0.99999). A transform with any other step, or anything unexpected, means "load the model as before".
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anyseek.engine.encoders.base import Fingerprint
from anyseek.engine.encoders.onnx_text import MIN_PROBE_COSINE, cache_root, cpu_session, export_tower
from anyseek.engine.encoders.query_runtime import MANIFEST_VERSION, manifest_path, recorded, recording, write_atomic

log = logging.getLogger(__name__)

ROLE = "joint-image"
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "box", "hamming", "lanczos")


@dataclass(slots=True)
class QueryImageEncoder:
    """preprocess(image) and encode_images(batch), like the ClipEncoder of the same fingerprint."""

    fingerprint: Fingerprint
    dim: int
    steps: list[dict]
    mean: np.ndarray
    std: np.ndarray
    _session: object

    @property
    def image_size(self) -> int:
        """The model's input side: the crop (or the resize) of its transform, as the model itself has it."""
        for step in reversed(self.steps):
            if step["op"] in ("center_crop", "resize"):
                size = step["size"]
                return int(size if isinstance(size, int) else size[0])
        return 224

    def preprocess(self, image) -> np.ndarray:
        pixels = np.asarray(apply_steps(self.steps, image), dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        pixels = pixels.transpose(2, 0, 1) / np.float32(255)
        return np.ascontiguousarray((pixels - self.mean) / self.std)

    def encode_images(self, batch) -> np.ndarray:
        pixels = np.ascontiguousarray(batch, dtype=np.float32)
        return np.asarray(self._session.run(None, {"pixels": pixels})[0], dtype=np.float32)


# --- the transform as PIL steps -------------------------------------------------------------------------
def describe_steps(pil_steps: list) -> list[dict] | None:
    """torchvision's Resize and CenterCrop and open_clip's mode conversion as plain data; None for any
    other step (open_clip's keep-ratio and pad-to-square modes, a user's own transform)."""
    described = []
    for step in pil_steps:
        name = type(step).__name__
        if name == "Resize" and getattr(step, "max_size", None) is None and getattr(step, "antialias", True):
            interpolation = str(getattr(step.interpolation, "value", step.interpolation)).lower()
            if interpolation not in INTERPOLATIONS:
                return None
            size = step.size if isinstance(step.size, int) else list(step.size)
            described.append({"op": "resize", "size": size, "interpolation": interpolation})
        elif name == "CenterCrop":
            described.append({"op": "center_crop", "size": list(step.size)})
        elif name == "MaybeConvertMode" and isinstance(getattr(step, "mode", None), str):
            described.append({"op": "convert", "mode": step.mode})
        elif getattr(step, "__name__", "") == "_convert_to_rgb":  # open_clip before MaybeConvertMode
            described.append({"op": "convert", "mode": "RGB"})
        else:
            return None
    return described


def apply_steps(steps: list[dict], image):
    """The described steps on a PIL image, as torchvision computes them for PIL input."""
    from PIL import Image

    for step in steps:
        if step["op"] == "convert":
            image = image.convert(step["mode"])
        elif step["op"] == "resize":
            image = image.resize(_resized_size(image.size, step["size"]), _resample(step["interpolation"], Image))
        elif step["op"] == "center_crop":
            image = _center_crop(image, *step["size"])
        else:
            raise ValueError(f"unknown preprocessing step {step['op']!r}")
    return image


def _resample(name: str, image_module) -> int:
    return getattr(image_module.Resampling, name.upper())


def _resized_size(size: tuple[int, int], wanted: int | list[int]) -> tuple[int, int]:
    """(width, height): an int resizes the shorter side to it and keeps the ratio (torchvision truncates
    the longer side), a pair is (height, width)."""
    width, height = size
    if not isinstance(wanted, int):
        return int(wanted[1]), int(wanted[0])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = wanted, int(wanted * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def _center_crop(image, crop_height: int, crop_width: int):
    """torchvision's center_crop: pad with black when the image is smaller, then crop the middle."""
    from PIL import Image

    width, height = image.size
    if crop_width > width or crop_height > height:
        left = (crop_width - width) // 2 if crop_width > width else 0
        top = (crop_height - height) // 2 if crop_height > height else 0
        padded = Image.new(image.mode, (max(width, crop_width), max(height, crop_height)))
        padded.paste(image, (left, top))
        image, (width, height) = padded, padded.size
    top = int(round((height - crop_height) / 2.0))
    left = int(round((width - crop_width) / 2.0))
    return image.crop((left, top, left + crop_width, top + crop_height))


def probe_images() -> list:
    """Shapes and modes a query photo comes in: landscape, portrait, square, tiny, grey, with alpha."""
    from PIL import Image

    rng = np.random.default_rng(7)
    images = []
    for size, mode in (((640, 480), "RGB"), ((300, 533), "RGB"), ((97, 97), "RGB"), ((19, 31), "RGB")):
        images.append(Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), mode))
    gradient = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (200, 1))
    images.append(Image.fromarray(gradient, "L"))
    images.append(Image.fromarray(rng.integers(0, 256, (150, 220, 4), dtype=np.uint8), "RGBA"))
    return images


# --- finding and loading ----------------------------------------------------------------------------
def load(key: str, threads: int) -> QueryImageEncoder | None:
    """The exported image tower for this key (query_runtime.joint_key), or None: use the model."""
    try:
        manifest = json.loads(manifest_path(ROLE, key).read_text())
        if manifest.get("version") != MANIFEST_VERSION:
            return None
        session = cpu_session(Path(manifest["onnx"]), threads)
        fingerprint = Fingerprint(**manifest["fingerprint"])
        mean = np.asarray(manifest["mean"], dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(manifest["std"], dtype=np.float32).reshape(-1, 1, 1)
        steps = list(manifest["steps"])
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - an optional speed-up: anything unexpected means "load the model"
        log.info("the image query runtime is unusable (%s); loading the model", exc)
        return None
    return QueryImageEncoder(fingerprint, fingerprint.dim, steps, mean, std, session)


# --- recording (after the model was loaded the slow way for an image query) -------------------------------
def record(encoder, key: str) -> None:
    """Export the joint model's image tower (a ClipEncoder on CPU) for torch-free image queries, once."""
    if recorded(ROLE, key):
        return
    with recording(ROLE):
        _record(encoder, key)


def _record(encoder, key: str) -> None:
    pil_steps, mean_std = encoder.transform_parts
    steps = describe_steps(pil_steps) if mean_std is not None else None
    if steps is None or mean_std is None:
        log.info("the joint model's image transform has no torch-free twin here; image queries load the model")
        return
    mean, std = mean_std
    probes = probe_images()
    reference = np.stack([encoder.preprocess(image) for image in probes])
    path = cache_root() / "onnx" / f"{ROLE}-{key}.onnx"
    candidate = QueryImageEncoder(encoder.fingerprint, encoder.fingerprint.dim, steps, mean, std, None)
    ours = np.stack([candidate.preprocess(image) for image in probes])
    if ours.shape != reference.shape or float(np.max(np.abs(ours - reference))) > 1e-5:
        log.info("the torch-free image preprocessing differs from open_clip's here; image queries load the model")
        return
    _export_image_tower(encoder, path, reference[:2])
    candidate._session = cpu_session(path, os.cpu_count() or 1)
    cosine = float(np.min(np.sum(encoder.encode_images(reference) * candidate.encode_images(reference), axis=1)))
    if cosine < MIN_PROBE_COSINE:
        log.warning("the joint model's ONNX image tower differs from PyTorch (cosine %.6f); not used", cosine)
        return
    manifest = {
        "version": MANIFEST_VERSION,
        "onnx": str(path),
        "steps": steps,
        "mean": mean.reshape(-1).tolist(),
        "std": std.reshape(-1).tolist(),
        "fingerprint": encoder.fingerprint.as_dict(),
        "min_probe_cosine": cosine,
    }
    write_atomic(manifest_path(ROLE, key), json.dumps(manifest, indent=1).encode())
    log.info("image tower ready for torch-free queries (%s)", path)


def _export_image_tower(encoder, path: Path, sample: np.ndarray) -> None:
    import torch

    # nn.MultiheadAttention's fused inference kernel has no ONNX form; the plain path computes the same
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        export_tower(encoder.model, "encode_image", torch.from_numpy(sample), path, "pixels")
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
