"""Running `anyseek index` in a subprocess, as the crash and concurrency tests do."""

from __future__ import annotations

import os
import sys

from tests.conftest import TEST_MODEL_FLAGS

# small batches and queue make many small commits, so the crash points are reached several times
SMALL_BATCHES = {
    "ANYSEEK_IMAGE_BATCH": "2",
    "ANYSEEK_TEXT_BATCH": "2",
    "ANYSEEK_QUEUE_SIZE": "2",
    "ANYSEEK_SAVE_INTERVAL_S": "0",
}


def index_command(media, index) -> list[str]:
    return [
        sys.executable,
        "-m",
        "anyseek",
        "--index",
        str(index),
        "index",
        str(media),
        *TEST_MODEL_FLAGS,
        "--json",
    ]


def run_env(**extra) -> dict:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ANYSEEK_DEVICE": "cpu",
        **SMALL_BATCHES,
        **extra,
    }
