"""Device choice: `auto` means CUDA when torch sees it, else CPU."""

from __future__ import annotations

from anyseek.engine.errors import ConfigError


def resolve_device(requested: str) -> str:
    requested = (requested or "auto").lower()
    if requested == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cpu" or requested.startswith("cuda"):
        return requested
    raise ConfigError(f"device must be auto, cpu or cuda[:N], got {requested!r}")
