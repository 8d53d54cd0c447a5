"""The resumable state of a run: `OUT/checkpoints/last.pt` (everything needed to continue) and
`OUT/checkpoints/best.pt` (the weights of the best epoch so far)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from anyseek.engine.errors import TrainingError

CHECKPOINT_VERSION = 1


def last_path(out_dir: Path) -> Path:
    return out_dir / "checkpoints" / "last.pt"


def best_path(out_dir: Path) -> Path:
    return out_dir / "checkpoints" / "best.pt"


def save(path: Path, state: dict[str, Any]) -> None:
    """Write atomically, so that a run killed mid-write still leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"version": CHECKPOINT_VERSION, **state}, tmp)
    os.replace(tmp, path)


def load(path: Path) -> dict[str, Any]:
    try:
        # weights_only: a checkpoint is plain tensors and numbers, and must never run code when loaded.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as exc:
        raise TrainingError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise TrainingError(f"{path} is not a checkpoint this version of anyseek can resume")
    return state
