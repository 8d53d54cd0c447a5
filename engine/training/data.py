"""Turning pairs into tensors: decoded, preprocessed images and tokenised captions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from anyseek.engine.errors import TrainingError

log = logging.getLogger(__name__)


class ImageBank:
    """Images by index, preprocessed exactly as the exported model will preprocess them at search time.

    Decoding dominates a small model's step time on CPU, so decoded images are kept when the whole set
    fits in `cache_bytes`. They are held as fp16, whose rounding is far below one pixel level.
    """

    def __init__(self, paths: Sequence[Path], preprocess: Callable, cache_bytes: int) -> None:
        self.paths = list(paths)
        self.preprocess = preprocess
        self.cache_bytes = cache_bytes
        self._cache: dict[int, torch.Tensor] | None = None
        self._decided = False

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, indices: Sequence[int]) -> torch.Tensor:
        return torch.stack([self._one(int(i)) for i in indices])

    def _one(self, index: int) -> torch.Tensor:
        if self._cache is not None and index in self._cache:
            return self._cache[index].float()
        # Always through fp16, cached or not, so that an image reads the same on every epoch and after a
        # resume (bitwise reproducibility), whatever the cache decided.
        tensor = self._decode(self.paths[index]).half()
        if not self._decided:
            self._decide(tensor)
        if self._cache is not None:
            self._cache[index] = tensor
        return tensor.float()

    def _decide(self, sample: torch.Tensor) -> None:
        self._decided = True
        needed = sample.numel() * 2 * len(self.paths)
        if needed <= self.cache_bytes:
            self._cache = {}
        else:
            log.info("not caching %d images (%d MB > %d MB budget)", len(self), needed >> 20, self.cache_bytes >> 20)

    def _decode(self, path: Path) -> torch.Tensor:
        try:
            with Image.open(path) as image:
                return self.preprocess(image.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise TrainingError(f"cannot read image {path}: {exc}") from exc


def tokenize(tokenizer: Callable, texts: Sequence[str], batch_size: int = 4096) -> torch.Tensor:
    """Token ids [len(texts), context_length]; captions longer than the context are truncated."""
    chunks = [tokenizer(list(texts[i : i + batch_size])) for i in range(0, len(texts), batch_size)]
    return torch.cat(chunks) if chunks else torch.empty(0, dtype=torch.long)
