"""Writing a trained model as an open_clip local folder that anyseek (or open_clip itself) loads offline:

    OUT/open_clip_config.json       {"model_cfg": ..., "preprocess_cfg": ...}  (open_clip's hub format)
    OUT/open_clip_model.safetensors  weights in fp16
    OUT/training.json                data, steps, validation recall (machine-readable)
    OUT/MODEL_CARD.md                the same for people

Load it with `open_clip.create_model_and_transforms("local-dir:OUT")` and `open_clip.get_tokenizer("local-dir:OUT")`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import open_clip
import torch
from safetensors.torch import save_file

from anyseek.engine.errors import ModelUnavailableError
from anyseek.engine.training.card import render_card

log = logging.getLogger(__name__)

CONFIG_FILE = "open_clip_config.json"
WEIGHTS_FILE = "open_clip_model.safetensors"
METADATA_FILE = "training.json"
CARD_FILE = "MODEL_CARD.md"


def export_model(
    model: torch.nn.Module,
    model_cfg: dict[str, Any],
    out_dir: Path,
    metadata: dict[str, Any],
    tokenizer: Callable | None = None,
) -> None:
    """Write the four files (each atomically). `metadata` becomes training.json and the model card."""
    out_dir.mkdir(parents=True, exist_ok=True)
    preprocess_cfg = open_clip.get_model_preprocess_cfg(model)
    config = {"model_cfg": model_cfg, "preprocess_cfg": _jsonable(preprocess_cfg)}
    _write_text(out_dir / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
    weights = {
        name: (t.detach().half() if t.is_floating_point() else t.detach()).cpu().contiguous()
        for name, t in model.state_dict().items()
    }
    tmp = out_dir / (WEIGHTS_FILE + ".tmp")
    save_file(weights, str(tmp), metadata={"format": "pt"})
    tmp.chmod(0o644)  # safetensors creates the file private; a model folder is meant to be shared
    os.replace(tmp, out_dir / WEIGHTS_FILE)
    _save_hf_tokenizer(tokenizer, out_dir)
    _write_text(out_dir / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    _write_text(out_dir / CARD_FILE, render_card(metadata))
    log.info("exported model to %s", out_dir)


def load_exported(out_dir: Path, device: str = "cpu") -> tuple[torch.nn.Module, Callable, Callable]:
    """(model in eval mode, image preprocess, tokenizer) from an exported folder, offline."""
    name = f"local-dir:{Path(out_dir)}"
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(name, device=device)
        tokenizer = open_clip.get_tokenizer(name)
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelUnavailableError(f"cannot load the exported model in {out_dir}: {exc}") from exc
    model.eval()
    return model, preprocess, tokenizer


def _save_hf_tokenizer(tokenizer: Callable | None, out_dir: Path) -> None:
    # open_clip reads an HF tokenizer of a local-dir model from that same folder.
    inner = getattr(tokenizer, "tokenizer", None)
    if inner is not None and hasattr(inner, "save_pretrained"):
        inner.save_pretrained(str(out_dir))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
