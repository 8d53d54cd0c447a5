"""Sniff and decode every file of a folder, as the decode workers do, with no model: files per second.

Run as a script by bench/formats.py under two interpreters, this branch's and another checkout's (main's),
so the same files are read by both versions of the code side by side:

    python bench/formats_decode.py FOLDER ROUNDS  ->  one JSON line {"files": n, "seconds": [...], "kinds": {...}}

Only APIs both versions have are used (sniff_file, extract). Tokens are counted as words, the same for
both: the figure is the parsing, not a tokenizer.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


class Words:
    max_tokens = 60
    image_size = 224

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def preprocess(self, image):  # a video's frames: decoded and scaled, the model's crop left out
        import numpy as np

        return np.zeros((3, self.image_size, self.image_size), np.float32)


def main() -> None:
    from anyseek.engine.settings import Settings
    from anyseek.indexer.extract import extract
    from anyseek.media.sniff import sniff_file

    folder, rounds = Path(sys.argv[1]), int(sys.argv[2])
    paths = sorted(os.fsencode(p) for p in folder.rglob("*") if p.is_file())
    settings, window = Settings(), Words()
    seconds, kinds = [], {}
    for _ in range(rounds):
        start = time.perf_counter()
        for path in paths:
            began = time.perf_counter()
            sniffed = sniff_file(path)
            kind = sniffed.format or "ignored"
            if sniffed.modality is not None:
                try:
                    extract(path, sniffed, window, settings, window)
                except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop on them
                    kind = f"failed {type(exc).__name__}"
            kinds.setdefault(kind, []).append(time.perf_counter() - began)
        seconds.append(time.perf_counter() - start)
    per_kind = {k: {"files": len(times) // rounds, "ms": 1000 * sum(times) / len(times)} for k, times in kinds.items()}
    print(json.dumps({"files": len(paths), "seconds": seconds, "kinds": per_kind}))


if __name__ == "__main__":
    main()
