"""The offline demo (`make demo`): build a small media folder, index it with the demo joint model, MiniLM
and Whisper tiny.en, then run one query of each kind and print what comes back.

Everything it needs ships in the repository or in pip packages: no network.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from anyseek.engine import Engine  # noqa: E402
from data.demo_scenes import draw_scene  # noqa: E402

OUT = ROOT.parent / "demo-out"
DEMO_MODEL = ROOT / "demo-model"
PHOTOS = [  # (colour, shape[, colour2, shape2]) drawn into the media folder
    ("red", "circle"),
    ("red", "square"),
    ("blue", "square"),
    ("yellow", "star", "blue", "circle"),
    ("pink", "heart"),
    ("green", "square"),
    ("purple", "star"),
    ("white", "cross"),
    ("orange", "circle"),
    ("blue", "heart"),
    ("yellow", "triangle"),
    ("pink", "star", "green", "circle"),
]
NOTES = {
    "poster.md": "The poster in the hall shows a yellow star next to a blue circle.",
    "harbour.txt": "Evening at the harbour: fishing boats come in and the gulls follow them.",
    "shopping.txt": "Buy milk, eggs, bread and a bag of oranges on the way home.",
}


def build_media(media: Path) -> None:
    shutil.rmtree(media, ignore_errors=True)
    (media / "photos").mkdir(parents=True)
    for i, scene in enumerate(PHOTOS):
        name = "-".join(scene[:2]) + ("-and-" + "-".join(scene[2:]) if len(scene) > 2 else "")
        draw_scene(*scene, seed=i).resize((256, 256)).save(media / "photos" / f"{name}.jpg", quality=92)
    (media / "notes").mkdir()
    for name, text in NOTES.items():
        (media / "notes" / name).write_text(text)
    shutil.copytree(ROOT / "demo-media" / "speech", media / "recordings")


def show(title: str, results, k: int = 3) -> None:
    print(f"\n{title}")
    for transcript in results.transcripts:
        print(f"   heard: {transcript!r}")
    for rank, hit in enumerate(results.hits[:k], 1):
        where = f"{hit.start:5.1f}s–{hit.end:4.1f}s  " if hit.start is not None else ""
        snippet = f"“{hit.snippet}”" if hit.snippet else ""
        print(
            f"  {rank}. {hit.similarity:5.2f}  {hit.modality:<5}  {Path(hit.path).relative_to(OUT)}  {where}{snippet}"
        )


def main() -> None:
    media, index = OUT / "media", OUT / "index"
    build_media(media)
    shutil.rmtree(index, ignore_errors=True)
    queries = OUT / "queries"
    queries.mkdir(exist_ok=True)
    draw_scene("blue", "square", seed=99).resize((256, 256)).save(queries / "blue-square.jpg")
    draw_scene("yellow", "star", "blue", "circle", seed=98).resize((256, 256)).save(queries / "star-and-circle.jpg")
    started = time.monotonic()
    with Engine.open(index, joint_model=str(DEMO_MODEL)) as eng:
        report = eng.index([media])
        print(
            f"indexed {report.added} files ({report.chunks} chunks, {report.failed} errors) "
            f"in {time.monotonic() - started:.0f}s with the demo joint model, MiniLM and Whisper tiny.en"
        )
        show("text → image:  'a red square'", eng.search(text="a red square", k=3, modalities=["image"]))
        show(
            "image → image:  queries/blue-square.jpg (a new drawing)",
            eng.search(image=queries / "blue-square.jpg", k=3, modalities=["image"]),
        )
        show(
            "image → speech:  queries/star-and-circle.jpg finds where it is said",
            eng.search(image=queries / "star-and-circle.jpg", k=2, modalities=["audio"]),
        )
        show(
            "audio → image:  a spoken request (queries/ask-red-circle.ogg)",
            eng.search(audio=ROOT / "demo-media" / "queries" / "ask-red-circle.ogg", k=3, modalities=["image"]),
        )
        show(
            "text → text note:  'boats coming back to port'",
            eng.search(text="boats coming back to port", k=2, modalities=["text"]),
        )
        show(
            "combined:  'red circle - circle + square'",
            eng.search(parts=eng.parse("red circle - circle + square"), k=3, modalities=["image"]),
        )
    print(f"\nindex at {index}; try: .venv/bin/anyseek --index {index} search 'a pink heart'")


if __name__ == "__main__":
    main()
