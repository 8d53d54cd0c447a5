"""Everyday formats (issue 30): what reading them costs, and what subtitles save on a video.

1. Old formats must not get slower. A folder of generated TXT, Markdown, HTML, PDF and DOCX files is
   sniffed and decoded (no model) by this branch and by another checkout's code (main's, through its own
   interpreter), in alternating rounds: the ratio of their files per second.
2. With and without the new formats: `anyseek index` (test models: random ViT-S-32 joint + MiniLM) of the
   old-format folder, then of the same folder plus one file of each new kind (tests' everyday folder);
   and each new kind's decode time per file.
3. A video with subtitles beside it: talk.mp4 repeated to ~2 minutes, with an SRT whose cues are the
   speech's true times (tests/fixtures/speech/manifest.json). Indexed with Whisper (subtitles_replace_speech
   off) and without (on, the default), alternating; how far the hits' times are from the truth, for the
   cues (beside the video, and inside an MKV as its own track) and for Whisper's windows.

    .venv/bin/python -m bench.run --only formats          # MAIN_PYTHON=/work/main/.venv/bin/python
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Result, log
from bench.formats_video import TEST_MODELS

MAIN_PYTHON = os.environ.get("MAIN_PYTHON", "/work/main/.venv/bin/python")
WORDS = ("river harbour lantern orchard glacier meadow violin copper falcon tulip granite saffron pebble "
         "thunder cedar walnut comet velvet ember quartz willow beacon maple prism").split()  # fmt: skip


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "."


def old_format_folder(root: Path, per_kind: int) -> Path:
    """TXT, Markdown, HTML, PDF and DOCX files, each of distinct sentences (no two files alike)."""
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.make_document_fixtures import docx, pdf

    rng = random.Random(30)
    root.mkdir(parents=True, exist_ok=True)
    for n in range(per_kind):
        lines = [_sentence(rng) for _ in range(40)]
        (root / f"note{n}.txt").write_text("\n\n".join(lines))
        (root / f"page{n}.md").write_text("# Notes\n\n" + "\n\n".join(lines[:20]))
        (root / f"article{n}.html").write_text(
            "<!DOCTYPE html><html><head><title>Article</title></head><body>"
            + "".join(f"<p>{line}</p>" for line in lines[20:])
            + "</body></html>"
        )
        (root / f"report{n}.pdf").write_bytes(pdf([lines[i : i + 4] for i in range(0, 12, 4)]))
        (root / f"letter{n}.docx").write_bytes(docx(lines[:15]))
    return root


def decode_rate(python: str, folder: Path, rounds: int) -> dict:
    script = ROOT / "bench" / "formats_decode.py"
    done = subprocess.run([python, str(script), str(folder), str(rounds)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def index_seconds(folder: Path, **settings) -> tuple[float, dict]:
    from anyseek.engine import Engine
    from bench.formats_video import encoders

    with tempfile.TemporaryDirectory(prefix="anyseek-bench-formats-") as home:
        engine = Engine.open(home, encoders=encoders(), **TEST_MODELS, **settings)
        start = time.perf_counter()
        report = engine.index([folder])
        seconds = time.perf_counter() - start
        counts = engine.status().chunks
        engine.close()
    return seconds, {"added": report.added, "failed": report.failed, "chunks": counts}


def old_formats_side_by_side(work: Path, per_kind: int, rounds: int, result: Result) -> None:
    folder = old_format_folder(work / "old", per_kind)
    rates: dict[str, list[float]] = {"branch": [], "main": []}
    for r in range(rounds):
        for who in ("branch", "main") if r % 2 == 0 else ("main", "branch"):
            python = sys.executable if who == "branch" else MAIN_PYTHON
            figures = decode_rate(python, folder, 2)
            rates[who].append(figures["files"] / statistics.median(figures["seconds"]))
            log(f"round {r + 1}/{rounds} {who}: {rates[who][-1]:.0f} files/s")
    ratio = statistics.median(rates["branch"]) / statistics.median(rates["main"])
    result.figures["old_formats_decode_files_s"] = rates
    result.row(
        f"old formats ({per_kind * 5} TXT/MD/HTML/PDF/DOCX), sniff+decode, this branch / main, median of {rounds}",
        f"{statistics.median(rates['branch']):.0f} / {statistics.median(rates['main']):.0f} files/s = {ratio:.2f}",
        "≥ 0.95 (not slower)",
        ratio >= 0.95,
    )


def new_formats(work: Path, per_kind: int, result: Result) -> None:
    from tests.fixtures.make_everyday_fixtures import write_everyday_folder

    old = old_format_folder(work / "old-to-index", per_kind)
    mixed = work / "mixed"
    shutil.copytree(old, mixed / "old")
    write_everyday_folder(mixed / "everyday")
    kinds = decode_rate(sys.executable, mixed / "everyday", 3)["kinds"]
    result.figures["new_formats_decode_ms"] = kinds
    slowest = sorted(kinds.items(), key=lambda kv: -kv[1]["ms"])
    result.row(
        "new formats, sniff+decode per file (ms; videos include their frames)",
        ", ".join(f"{kind} {v['ms']:.0f}" for kind, v in slowest),
    )
    index_seconds(mixed / "everyday")  # the first run loads the models: not counted
    old_s, old_report = index_seconds(old)
    mixed_s, mixed_report = index_seconds(mixed)
    result.figures["index_old_s"], result.figures["index_mixed_s"] = old_s, mixed_s
    result.figures["index_reports"] = {"old": old_report, "mixed": mixed_report}
    result.row(
        "`anyseek index`, old-format folder vs the same plus one file of each new kind (test models)",
        f"{old_report['added']} files {old_s:.1f} s; {mixed_report['added']} files {mixed_s:.1f} s "
        f"({mixed_report['failed']} failed)",
    )


def run(quick: bool = False) -> Result:
    from bench.formats_video import subtitles_against_whisper

    result = Result("formats")
    with tempfile.TemporaryDirectory(prefix="anyseek-bench-formats-") as tmp:
        work = Path(tmp)
        old_formats_side_by_side(work, 4 if quick else 30, 2 if quick else 5, result)
        new_formats(work, 2 if quick else 4, result)
        subtitles_against_whisper(work, 2 if quick else 12, 1 if quick else 2, result)
    return result
