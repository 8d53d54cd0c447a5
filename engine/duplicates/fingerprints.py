"""Perceptual fingerprints of pictures and video frames: what survives re-encoding, resizing, small crops,
format changes and small brightness shifts, and what does not survive a different picture.

- pHash: the signs of the lowest 8x8 DCT coefficients (DC dropped) of the 32x32 grey picture against their
  median. Coarse structure only, so a re-encode, a resize or a 5% crop moves few of its 64 bits; a
  brightness shift moves none (the DC term, the mean, is not in it).
- colour: the picture at 4x4, RGB. The hash is blind to colour by design, so a wallpaper's light and dark
  variants (same drawing, other palette) hash alike; their colours do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

HASH_SIDE = 32
LOW = 8
COLOUR_SIDE = 4
BLACK_LUMA = 20.0  # a frame this dark, or this flat, says nothing about which video it belongs to
FLAT_STD = 6.0
BRIGHTNESS_FLOOR = 16.0  # below this mean level (of 255) a picture is black, whatever the ratio
CHROMA_FLOOR = 24.0  # near black, chromaticity is noise: this much grey in the sum keeps it quiet


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(HASH_SIDE)
_BITS = (1 << np.arange(64, dtype=np.uint64)).astype(np.uint64)


@dataclass(frozen=True, slots=True)
class PictureFingerprint:
    phash: int  # 64 bits
    colour: bytes  # 4x4 RGB, 48 bytes
    width: int  # the file's own size, before any decode-time reduction
    height: int
    metadata: int  # how many EXIF tags the file carries: the keeper rule prefers the richer copy
    dark: bool = False  # nearly black or flat: useless for telling videos apart


def picture_fingerprint(image: Image.Image, width: int, height: int, metadata: int = 0) -> PictureFingerprint:
    rgb = image.convert("RGB")
    grey = np.asarray(rgb.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX), dtype=np.float64)
    coefficients = (_DCT @ grey @ _DCT.T)[:LOW, :LOW].reshape(-1)
    ac = coefficients[1:]
    bits = np.concatenate([[False], ac > np.median(ac)])
    colour = np.asarray(rgb.resize((COLOUR_SIDE, COLOUR_SIDE), Image.Resampling.BOX), dtype=np.uint8)
    dark = float(grey.mean()) < BLACK_LUMA or float(grey.std()) < FLAT_STD
    return PictureFingerprint(int(_BITS[bits].sum()), colour.tobytes(), width, height, metadata, dark)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def hash_similarity(a: int, b: int) -> float:
    """1.0 for the same hash, 0.5 for unrelated pictures (half the bits differ by chance)."""
    return 1.0 - hamming(a, b) / 64.0


def colour_distance(a: bytes, b: bytes) -> float:
    """Mean absolute difference of the 4x4 colour pictures, as a fraction of full scale (0-1)."""
    left = np.frombuffer(a, dtype=np.uint8).astype(np.int16)
    right = np.frombuffer(b, dtype=np.uint8).astype(np.int16)
    return float(np.abs(left - right).mean()) / 255.0


def chroma_distance(a: bytes, b: bytes) -> float:
    """Mean absolute difference of the 4x4 pictures' chromaticities (each cell's r, g, b over their sum):
    blind to brightness, so it catches what colour_distance misses in a dark picture, a hue change (a
    wallpaper's cold and warm variants differ by a few levels of 255, but in every cell)."""
    left = np.frombuffer(a, dtype=np.uint8).astype(np.float64).reshape(-1, 3)
    right = np.frombuffer(b, dtype=np.uint8).astype(np.float64).reshape(-1, 3)
    return float(np.abs(_chroma(left) - _chroma(right)).mean())


def brightness_change(a: bytes, b: bytes) -> float:
    """How much brighter one picture is than the other, relative to the brighter (0: the same; 0.5: one
    at half the other's light). A light or dark variant of a dark picture moves its colours by few levels
    of 255, which colour_distance reads as small; relative to its own light it is a large change."""
    left = float(np.frombuffer(a, dtype=np.uint8).mean())
    right = float(np.frombuffer(b, dtype=np.uint8).mean())
    return abs(left - right) / max(left, right, BRIGHTNESS_FLOOR)


def _chroma(rgb: np.ndarray) -> np.ndarray:
    return rgb / (rgb.sum(axis=1, keepdims=True) + CHROMA_FLOOR)


def as_binary_codes(hashes: np.ndarray) -> np.ndarray:
    """64-bit hashes as the (n, 8) uint8 codes of a FAISS binary index (little-endian, like int.to_bytes)."""
    return np.ascontiguousarray(np.asarray(hashes, dtype="<u8")).view(np.uint8).reshape(-1, 8)
