"""Device choice: `auto` means CUDA when torch sees it, else CPU."""

from __future__ import annotations

import os

from anyseek.engine.errors import ConfigError


def resolve_device(requested: str) -> str:
    requested = (requested or "auto").lower()
    if requested == "auto":
        if not nvidia_driver_present():
            return "cpu"  # what torch would say, without importing it (most of a cold search's start)
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cpu" or requested.startswith("cuda"):
        return requested
    raise ConfigError(f"device must be auto, cpu or cuda[:N], got {requested!r}")


def nvidia_driver_present() -> bool:
    """CUDA needs NVIDIA's kernel driver; without it torch.cuda.is_available() is False on Linux. Elsewhere
    (no /proc) ask torch."""
    if not os.path.isdir("/proc/self"):
        return True
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")
