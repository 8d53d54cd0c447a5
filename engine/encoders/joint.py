"""The joint image-text space: an open_clip model. Image tower for pictures, text tower for passages and
transcripts, so any of them can be compared with any other."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from anyseek.engine.encoders.base import Fingerprint, loading
from anyseek.engine.encoders.resolve import offline_unless_hub_reachable

log = logging.getLogger(__name__)

HOW_TO_PROVIDE = (
    "Connect to the internet once so open_clip can cache it (later runs work offline, HF_HUB_OFFLINE=1), "
    "or point --joint-pretrained at a local checkpoint file, or --joint-model at a local open_clip "
    "directory (open_clip_config.json + weights)."
)


def model_identifier(name: str) -> str:
    """A directory holding open_clip_config.json is loaded through open_clip's local-dir: schema."""
    path = Path(name).expanduser()
    if not name.startswith(("hf-hub:", "local-dir:")) and (path / "open_clip_config.json").is_file():
        return f"local-dir:{path.resolve()}"
    return name


def pretrained_applies(model_name: str) -> bool:
    """Whether `joint_pretrained` chooses the weights: not for a local open_clip folder or an hf-hub: repo,
    which carry their own (status then names no pretrained tag that was never used)."""
    return not model_identifier(model_name).startswith(("hf-hub:", "local-dir:"))


def configured_image_size(model_name: str) -> int | None:
    """The input size from the model's config alone, without loading weights; None when unknown."""
    import json

    import open_clip

    identifier = model_identifier(model_name)
    if identifier.startswith("local-dir:"):
        config_file = Path(identifier.split(":", 1)[1]) / "open_clip_config.json"
        config = json.loads(config_file.read_text()).get("model_cfg", {})
    elif identifier.startswith("hf-hub:"):
        return None
    else:
        config = open_clip.get_model_config(identifier) or {}
    size = config.get("vision_cfg", {}).get("image_size")
    return int(size[0] if isinstance(size, (tuple, list)) else size) if size else None


def parse_pretrained(pretrained: str) -> tuple[str | None, int | None]:
    """`random` or `random:SEED` builds the architecture with seeded random weights (tests, benchmarks)."""
    if pretrained.startswith("random"):
        _, _, seed = pretrained.partition(":")
        return None, int(seed or 0)
    if not pretrained or pretrained.lower() == "none":
        return None, 0
    path = Path(pretrained).expanduser()
    return (str(path.resolve()) if path.exists() else pretrained), None


def split_transform(transform) -> tuple[list, tuple[np.ndarray, np.ndarray] | None]:
    """open_clip's eval transform as (PIL steps, (mean, std)) when it ends in to-tensor + normalise, the
    shape every open_clip model uses; (all steps, None) for anything else, which then runs as it is."""
    steps = list(getattr(transform, "transforms", []))
    if len(steps) < 2:
        return steps, None
    to_tensor, normalize = steps[-2], steps[-1]
    if "ToTensor" not in type(to_tensor).__name__ or type(normalize).__name__ != "Normalize":
        return steps, None
    shape = (-1, 1, 1)
    mean = np.asarray(normalize.mean, dtype=np.float32).reshape(shape)
    std = np.asarray(normalize.std, dtype=np.float32).reshape(shape)
    return steps[:-2], (mean, std)


class ClipEncoder:
    role = "joint"

    def __init__(self, model_name: str, pretrained: str, device: str) -> None:
        import open_clip
        import torch

        self.model_name, self.pretrained, self.device = model_name, pretrained, device
        identifier = model_identifier(model_name)
        weights, seed = parse_pretrained(pretrained)
        source = pretrained
        if not pretrained_applies(identifier):
            # open_clip reads the weights from the hub repo or the directory; `pretrained` does not apply
            weights, seed, source = None, None, identifier.split(":", 1)[0]
        if seed is None and not identifier.startswith("local-dir:") and not Path(weights or "").is_file():
            offline_unless_hub_reachable()  # fail (or load the cached copy) at once when offline
        with loading("joint", f"{model_name} ({source})", HOW_TO_PROVIDE):
            if seed is not None:
                torch.manual_seed(seed)
            model, _, preprocess = open_clip.create_model_and_transforms(
                identifier, pretrained=weights, device=device, load_weights=seed is None
            )
            self.tokenizer = open_clip.get_tokenizer(identifier)
        self.model = model.eval()
        self.transform = preprocess
        self._pil_steps, self._mean_std = split_transform(preprocess)
        self.context_length = int(getattr(self.tokenizer, "context_length", 77))
        self._torch = torch
        self.dim = int(self.encode_texts(["a photo"]).shape[1])
        self.fingerprint = Fingerprint("joint", model_name, source, self.dim, f"open_clip {open_clip.__version__}")

    @property
    def image_size(self) -> int:
        size = getattr(self.model.visual, "image_size", 224)
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    @property
    def transform_parts(self) -> tuple[list, tuple[np.ndarray, np.ndarray] | None]:
        """The eval transform as split_transform splits it (query_images.py writes it down torch-free)."""
        return self._pil_steps, self._mean_std

    def preprocess(self, image) -> np.ndarray:
        """PIL image -> model input; thread-safe, runs in the decode workers.

        The PIL steps (resize, crop) run as open_clip defines them; to-tensor and normalise run in NumPy
        with the same float32 operations, so the result is bit-identical but no torch op runs here. A
        torch op in a decode thread opens its own OpenMP team of one thread per core, which fights the
        model's threads for the same cores: on 2 busy cores it made these two steps take 10-50 ms per
        image instead of 1 ms (bench/images.py measures it)."""
        if self._mean_std is None:
            return self.transform(image).numpy()
        for step in self._pil_steps:
            image = step(image)
        pixels = np.asarray(image, dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        mean, std = self._mean_std
        pixels = pixels.transpose(2, 0, 1) / np.float32(255)
        return np.ascontiguousarray((pixels - mean) / std)

    def encode_images(self, batch) -> np.ndarray:
        """`batch`: float32 NCHW, a NumPy array or a tensor (already on the device when decoded there)."""
        torch = self._torch
        with torch.inference_mode():
            if not isinstance(batch, torch.Tensor):
                batch = torch.from_numpy(np.ascontiguousarray(batch))
            pixels = batch.to(self.device)
            features = self.model.encode_image(pixels, normalize=True)
        return features.float().cpu().numpy()

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            tokens = self.tokenizer(texts).to(self.device)
            if self._can_trim_text():
                features = self._encode_text_trimmed(tokens)
            else:
                features = self.model.encode_text(tokens, normalize=True)
        return features.float().cpu().numpy()

    def _can_trim_text(self) -> bool:
        model = self.model
        return (
            type(model).__name__ == "CLIP"
            and getattr(model, "text_pool_type", None) == "argmax"
            and getattr(model, "attn_mask", None) is not None
        )

    def _encode_text_trimmed(self, tokens):
        """open_clip's CLIP.encode_text on the tokens up to the batch's longest text instead of all 77.

        The text tower is causal (each position attends only to earlier ones) and pools at the end-of-text
        token, so the padding after it cannot change the result: the same vector (to float rounding) for a
        fraction of the work, e.g. ~10 of 77 positions for a typed query, ~55 for a 40-word passage."""
        from open_clip.transformer import text_global_pool

        torch, model = self._torch, self.model
        n = max(2, int((tokens != 0).sum(dim=1).max()))
        tokens = tokens[:, :n]
        cast = model.transformer.get_cast_dtype()
        x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:n].to(cast)
        x = model.transformer(x, attn_mask=model.attn_mask[:n, :n])
        x = model.ln_final(x)
        x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
        if isinstance(model.text_projection, torch.nn.Linear):
            x = model.text_projection(x)
        elif model.text_projection is not None:
            x = x @ model.text_projection
        return torch.nn.functional.normalize(x, dim=-1)

    def count_tokens(self, text: str) -> int:
        """Tokens the text takes, excluding start/end markers."""
        encode = getattr(self.tokenizer, "encode", None)
        if encode is not None:
            return len(encode(text))
        return int((self.tokenizer([text])[0] != 0).sum()) - 2

    @property
    def max_tokens(self) -> int:
        return self.context_length - 2
