"""The joint image-text space: an open_clip model. Image tower for pictures, text tower for passages and
transcripts, so any of them can be compared with any other."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.encoders.base import Fingerprint, loading

log = logging.getLogger(__name__)

HOW_TO_PROVIDE = (
    "Connect to the internet once so open_clip can cache it, or point --joint-pretrained at a local "
    "checkpoint file, or --joint-model at a local open_clip directory (open_clip_config.json + weights)."
)


def model_identifier(name: str) -> str:
    """A directory holding open_clip_config.json is loaded through open_clip's local-dir: schema."""
    path = Path(name).expanduser()
    if not name.startswith(("hf-hub:", "local-dir:")) and (path / "open_clip_config.json").is_file():
        return f"local-dir:{path.resolve()}"
    return name


def parse_pretrained(pretrained: str) -> tuple[str | None, int | None]:
    """`random` or `random:SEED` builds the architecture with seeded random weights (tests, benchmarks)."""
    if pretrained.startswith("random"):
        _, _, seed = pretrained.partition(":")
        return None, int(seed or 0)
    if not pretrained or pretrained.lower() == "none":
        return None, 0
    path = Path(pretrained).expanduser()
    return (str(path.resolve()) if path.exists() else pretrained), None


class ClipEncoder:
    role = "joint"

    def __init__(self, model_name: str, pretrained: str, device: str) -> None:
        import open_clip
        import torch

        self.model_name, self.pretrained, self.device = model_name, pretrained, device
        identifier = model_identifier(model_name)
        weights, seed = parse_pretrained(pretrained)
        if identifier.startswith(("hf-hub:", "local-dir:")):
            weights = None  # open_clip reads the weights from the hub repo or directory itself
        with loading("joint", f"{model_name} ({pretrained})", HOW_TO_PROVIDE):
            if seed is not None:
                torch.manual_seed(seed)
            model, _, preprocess = open_clip.create_model_and_transforms(
                identifier, pretrained=weights, device=device, load_weights=seed is None
            )
            self.tokenizer = open_clip.get_tokenizer(identifier)
        self.model = model.eval()
        self.transform = preprocess
        self.context_length = int(getattr(self.tokenizer, "context_length", 77))
        self._torch = torch
        self.dim = int(self.encode_texts(["a photo"]).shape[1])
        self.fingerprint = Fingerprint("joint", model_name, pretrained, self.dim, f"open_clip {open_clip.__version__}")

    @property
    def image_size(self) -> int:
        size = getattr(self.model.visual, "image_size", 224)
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    def preprocess(self, image) -> np.ndarray:
        """PIL image -> model input; thread-safe, runs in the decode workers."""
        return self.transform(image).numpy()

    def encode_images(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            pixels = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            features = self.model.encode_image(pixels, normalize=True)
        return features.float().cpu().numpy()

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            tokens = self.tokenizer(texts).to(self.device)
            features = self.model.encode_text(tokens, normalize=True)
        return features.float().cpu().numpy()

    def count_tokens(self, text: str) -> int:
        """Tokens the text takes, excluding start/end markers."""
        encode = getattr(self.tokenizer, "encode", None)
        if encode is not None:
            return len(encode(text))
        return int((self.tokenizer([text])[0] != 0).sum()) - 2

    @property
    def max_tokens(self) -> int:
        return self.context_length - 2
