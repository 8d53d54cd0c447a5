"""Where a run starts (an open_clip model to fine-tune, or an architecture to train from scratch) and
which of its parameters may change."""

from __future__ import annotations

import copy
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import open_clip
import torch

from anyseek.engine.errors import ModelUnavailableError, TrainingError

log = logging.getLogger(__name__)

# Parameters that map a tower's pooled output into the joint space, across open_clip's tower types:
# ViT (visual.proj), ModifiedResNet (attention pool output), timm (head.proj), built-in and HF text.
PROJECTION_PREFIXES = ("visual.proj", "visual.attnpool.c_proj.", "visual.head.proj.", "text_projection", "text.proj")
SCALE_NAMES = ("logit_scale", "logit_bias")
TOWERS = ("image", "text")


@dataclass
class StartPoint:
    model: torch.nn.Module
    model_cfg: dict[str, Any]
    preprocess: Callable  # the inference transform: training uses it too, so search sees what training saw
    tokenizer: Callable
    description: str
    from_scratch: bool


def build_start(model: str | None, pretrained: str | None, config: Path | None) -> StartPoint:
    """An open_clip name (+ pretrained tag or file) or a `local-dir:`/`hf-hub:` model fine-tunes;
    a JSON architecture config, or a name without pretrained weights, trains from scratch."""
    if config is not None:
        if model is not None or pretrained is not None:
            raise TrainingError("give either an architecture config or a model to fine-tune, not both")
        return _from_config(Path(config))
    if model is None:
        raise TrainingError("choose a starting point: a model (with --pretrained to fine-tune) or --config JSON")
    scratch = pretrained is None and not model.startswith(("local-dir:", "hf-hub:"))
    what = f"{model} ({pretrained})" if pretrained else model
    try:
        model_cfg = open_clip.get_model_config(model if ":" in model else model.replace("/", "-"))
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelUnavailableError(f"cannot read the configuration of model {what}: {exc}") from exc
    if model_cfg is None:
        raise ModelUnavailableError(f"unknown open_clip model {model!r}; see open_clip.list_models()")
    built, preprocess, tokenizer = _create(model, pretrained, what)
    return StartPoint(built, copy.deepcopy(model_cfg), preprocess, tokenizer, _describe(what, scratch), scratch)


def _from_config(path: Path) -> StartPoint:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainingError(f"cannot read architecture config {path}: {exc}") from exc
    wrapped = data.get("model_cfg") if isinstance(data, dict) else None
    model_cfg = wrapped if isinstance(wrapped, dict) else data
    if not isinstance(model_cfg, dict) or not {"embed_dim", "vision_cfg", "text_cfg"} <= model_cfg.keys():
        raise TrainingError(f"{path}: an architecture config needs embed_dim, vision_cfg and text_cfg")
    preprocess_cfg = data.get("preprocess_cfg", {}) if wrapped else {}
    # open_clip builds custom architectures only from a config file in a folder; a throwaway folder
    # keeps the model construction identical to how the export will be loaded.
    with tempfile.TemporaryDirectory(prefix="anyseek-arch-") as tmp:
        (Path(tmp) / "open_clip_config.json").write_text(
            json.dumps({"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg})
        )
        built, preprocess, tokenizer = _create(f"local-dir:{tmp}", None, str(path))
    return StartPoint(built, copy.deepcopy(model_cfg), preprocess, tokenizer, _describe(str(path), True), True)


def _create(name: str, pretrained: str | None, what: str) -> tuple[torch.nn.Module, Callable, Callable]:
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained)
        tokenizer = open_clip.get_tokenizer(name)
    except (RuntimeError, OSError, ValueError, KeyError, TypeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailableError(f"cannot load model {what}: {first_line}") from exc
    return model, preprocess, tokenizer


def _describe(what: str, scratch: bool) -> str:
    return f"from scratch: {what}" if scratch else f"fine-tuned from {what}"


def apply_freezing(model: torch.nn.Module, freeze: tuple[str, ...], train_only: str | None) -> list[str]:
    """Set requires_grad per parameter and return the names left trainable."""
    unknown = set(freeze) - set(TOWERS)
    if unknown:
        raise TrainingError(f"cannot freeze {sorted(unknown)}; choose from {list(TOWERS)}")
    if train_only not in (None, "projection"):
        raise TrainingError(f"--train-only accepts only 'projection', got {train_only!r}")
    trainable = []
    for name, param in model.named_parameters():
        tower = "image" if name.startswith("visual.") else None if name in SCALE_NAMES else "text"
        keep = tower not in freeze
        if train_only == "projection":
            keep = keep and (name in SCALE_NAMES or name.startswith(PROJECTION_PREFIXES))
        param.requires_grad_(keep)
        if keep:
            trainable.append(name)
    if not [n for n in trainable if n not in SCALE_NAMES]:
        raise TrainingError("nothing left to train: the freeze options exclude every tower and projection")
    return trainable


def set_train_mode(model: torch.nn.Module, freeze: tuple[str, ...]) -> None:
    """Train mode, except that a frozen image tower stays in eval mode: its batch-norm statistics
    (ResNet towers) would otherwise drift although its weights are frozen."""
    model.train()
    if "image" in freeze and hasattr(model, "visual"):
        model.visual.eval()
