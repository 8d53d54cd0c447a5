"""Regenerate the demo's spoken descriptions (committed under data/demo-media/speech and data/demo-media/queries).

Needs espeak-ng on PATH (Debian: apt-get install espeak-ng). Run from the repo root:

    .venv/bin/python data/make_demo_speech.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "speechgen", ROOT.parent / "tests" / "fixtures" / "make_speech_fixtures.py"
)
speechgen = importlib.util.module_from_spec(_spec)
sys.modules["speechgen"] = speechgen  # dataclasses look their module up while the module executes
_spec.loader.exec_module(speechgen)
Voice = speechgen.Voice

RECORDINGS = {
    "speech/walkthrough.ogg": [
        ("silence", 0.4),
        ("speech", "Here are my notes about the drawings.", Voice("en-us", 45, 140)),
        ("silence", 2.5),
        ("speech", "A yellow star next to a blue circle.", Voice("en-us", 50, 140)),
        ("silence", 0.6),
    ],
    "speech/pink-heart.ogg": [
        ("silence", 0.3),
        ("speech", "A pink heart and a green square.", Voice("en-gb", 55, 140)),
        ("silence", 0.5),
    ],
    "queries/ask-red-circle.ogg": [
        ("silence", 0.3),
        ("speech", "Find a red circle.", Voice("en-us", 45, 130)),
        ("silence", 0.5),
    ],
}


def main() -> None:
    manifest = {}
    for name, segments in RECORDINGS.items():
        path = ROOT / "demo-media" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pcm, truth = speechgen.assemble(segments)
        speechgen.encode(pcm, path, "ogg", "libopus", 24_000)
        manifest[name] = truth
    (ROOT / "demo-media" / "speech-manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
