"""Text in pictures (issue 23): how well and at what cost anyseek reads screenshots, and what it costs photos
without text.

- Reading: man pages (bench/manpages.py) rendered as screenshots in three DejaVu faces, three sizes and a
  light and a dark theme; each read with the indexer's reader (indexer/extract/ocr.py): character error
  rate, word recall, seconds per picture. Plus the committed fixtures (a sign, a slightly rotated scan).
- Search: the screenshots indexed (ocr = auto) against the same text indexed as .txt files: a quoted
  five-word phrase from each page finds its screenshot first; the page's one-line description (a semantic
  query) reaches what MRR@10 against the plain text's.
- Cost: indexing throughput with ocr = auto against ocr = off, on photos without text and on the
  screenshots, the runs interleaved (off, auto, auto, off) and each side's best kept.

    .venv/bin/python -m bench.ocr [--pages 24] [--photos 24]

The joint model is ViT-B-32 with seeded random weights (the real model's compute; see bench/common.py).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import textwrap
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.common import cache_dir, load_joint, log, machine, timed_index
from bench.manpages import pages as man_pages

FONTS = Path("/usr/share/fonts/truetype/dejavu")
FACES = ("DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf")
SIZES = (13, 15, 18)
THEMES = {"light": ((250, 250, 250), (25, 25, 25)), "dark": ((30, 30, 34), (220, 220, 220))}
WORDS = 60
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ocr"


def render(text: str, n: int) -> Image.Image:
    """`text` as the n-th screenshot: its face, size and theme cycle with n."""
    face, size = FACES[n % len(FACES)], SIZES[(n // len(FACES)) % len(SIZES)]
    background, ink = list(THEMES.values())[n % 2]
    font = ImageFont.truetype(str(FONTS / face), size)
    lines = textwrap.wrap(text, 64)
    step = round(size * 1.5)
    width = max(int(font.getlength(line)) for line in lines) + 40
    image = Image.new("RGB", (width, step * len(lines) + 40), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((20, 20 + i * step), line, fill=ink, font=font)
    return image


def edit_distance(a: str, b: str) -> int:
    previous = np.arange(len(b) + 1)
    for i, ch in enumerate(a, 1):
        current = np.empty_like(previous)
        current[0] = i
        substitute = previous[:-1] + (np.frombuffer(b.encode("utf-32-le"), np.uint32) != ord(ch))
        current[1:] = np.minimum(previous[1:] + 1, substitute)
        for j in range(1, len(b) + 1):  # insertions run along the row
            current[j] = min(current[j], current[j - 1] + 1)
        previous = current
    return int(previous[-1])


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def word_recall(truth: str, read: str) -> float:
    remaining = words(read)
    found = 0
    for word in words(truth):
        if word in remaining:
            remaining.remove(word)
            found += 1
    return found / max(1, len(words(truth)))


def make_reader():
    from anyseek.engine.encoders.ocr import OcrModel, reader_name
    from anyseek.indexer.extract.ocr import PictureReader

    model = OcrModel()
    return PictureReader(lambda: model, reader_name("on"), 60.0)


def in_reading_order(text) -> str:
    from anyseek.indexer.extract.ocr_layout import reading_blocks

    return " ".join(line.text for block in reading_blocks(text.lines) for line in block)


def reading(corpus: list[tuple[str, str, Image.Image]]) -> dict:
    reader = make_reader()
    reader.read(corpus[0][2])  # warm-up: the first run of each session allocates
    cer, recall, seconds = [], [], []
    for _, text, image in corpus:
        start = time.perf_counter()
        out = reader.read(image)
        seconds.append(time.perf_counter() - start)
        read = in_reading_order(out)
        truth = " ".join(text.split())
        cer.append(edit_distance(truth, " ".join(read.split())) / len(truth))
        recall.append(word_recall(truth, read))
    return {
        "screenshots": len(corpus),
        "cer_mean": round(float(np.mean(cer)), 4),
        "cer_median": round(float(np.median(cer)), 4),
        "word_recall_mean": round(float(np.mean(recall)), 4),
        "seconds_per_screenshot": round(float(np.mean(seconds)), 3),
        "fixtures": fixtures(reader),
    }


def fixtures(reader) -> dict:
    from anyseek.indexer.extract.pictures import PDF_DPI
    from anyseek.media.documents import pdf_page_pictures

    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    out = {}
    for name, truth in manifest.items():
        if name.endswith(".pdf"):
            ((_, picture),) = pdf_page_pictures(bytes(FIXTURES / name), [1], PDF_DPI)
        else:
            picture = Image.open(FIXTURES / name).convert("RGB")
        start = time.perf_counter()
        read = in_reading_order(reader.read(picture))
        seconds = time.perf_counter() - start
        expected = " ".join(line["text"] for line in truth["lines"])
        out[name] = {
            "word_recall": round(word_recall(expected, read), 3) if expected else None,
            "words_read": len(words(read)),
            "seconds": round(seconds, 3),
        }
    return out


def search(encoders, models, corpus, shots: Path, texts: Path) -> dict:
    from anyseek.engine import Engine

    results = {}
    for label, folder in (("screenshots", shots), ("plain_text", texts)):
        _, report, home = timed_index(encoders, models, folder, ocr="auto")
        results[label] = {"ocr_warnings": len(report.warnings)}  # readings that failed or ran out of time
        try:
            with Engine.open(home, encoders=encoders, **models) as eng:
                ranks_phrase, reciprocal = [], []
                for name, text, _ in corpus:
                    body = text.split()
                    phrase = " ".join(body[len(body) // 2 : len(body) // 2 + 5])
                    ranks_phrase.append(_rank(eng.search(f'"{phrase}"', k=10), name))
                    rank = _rank(eng.search(_description(name), k=10), name)
                    reciprocal.append(1 / rank if rank else 0.0)
            results[label] |= {
                "phrase_first": round(sum(r == 1 for r in ranks_phrase) / len(corpus), 3),
                # the pages whose phrase did not find them first, and where they came (None: not in the top 10)
                "phrase_missed": {name: r for (name, _, _), r in zip(corpus, ranks_phrase) if r != 1},
                "description_mrr10": round(float(np.mean(reciprocal)), 4),
            }
        finally:
            shutil.rmtree(home, ignore_errors=True)
    plain = results["plain_text"]["description_mrr10"]
    results["description_mrr10_vs_plain"] = (
        round(results["screenshots"]["description_mrr10"] / plain, 3) if plain else None
    )
    return results


_DESCRIPTIONS: dict[str, str] = {}


def _description(name: str) -> str:
    return _DESCRIPTIONS[name]


def _rank(results, name: str) -> int | None:
    for n, hit in enumerate(results.hits, 1):
        if Path(hit.path).stem == name:
            return n
    return None


def cost(encoders, models, folders: dict[str, Path]) -> dict:
    out = {}
    for label, folder in folders.items():
        best = {"off": float("inf"), "auto": float("inf")}
        warned = 0
        files = sum(1 for _ in folder.iterdir())
        for setting in ("off", "auto", "auto", "off"):  # interleaved, best of two each
            seconds, report, home = timed_index(encoders, models, folder, ocr=setting)
            shutil.rmtree(home, ignore_errors=True)
            assert report.failed == 0, report.errors
            best[setting] = min(best[setting], seconds)
            warned = max(warned, len(report.warnings))
        out[label] = {
            "files": files,
            "seconds_off": round(best["off"], 2),
            "seconds_auto": round(best["auto"], 2),
            "throughput_auto_vs_off": round(best["off"] / best["auto"], 3),
            "ocr_seconds_per_file": round((best["auto"] - best["off"]) / files, 3),
            "ocr_warnings": warned,  # readings that failed or ran out of time (ocr_timeout_s), in the worst run
        }
    return out


def photo(seed: int, size=(640, 480)) -> Image.Image:
    """A photograph-like picture without text: gradient, noise and blocks (as tests/media.py)."""
    rng = np.random.default_rng(seed)
    w, h = size
    gradient = np.linspace(0, 1, w)[None, :, None] * rng.integers(-120, 120, 3)
    pixels = np.clip(rng.integers(0, 255, 3) + gradient + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    for _ in range(4):
        x, y = rng.integers(0, w - 80), rng.integers(0, h - 80)
        pixels[y : y + 80, x : x + 80] = rng.integers(0, 255, 3)
    return Image.fromarray(pixels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--photos", type=int, default=24)
    args = parser.parse_args()
    work = cache_dir("ocr")
    shutil.rmtree(work, ignore_errors=True)
    shots, texts, photos = work / "screenshots", work / "texts", work / "photos"
    for folder in (shots, texts, photos):
        folder.mkdir(parents=True)
    chosen = [p for p in man_pages() if len(p.body.split()) >= WORDS][::7][: args.pages]
    corpus = []
    for n, page in enumerate(chosen):
        name = re.sub(r"\W", "_", page.name)
        text = " ".join(page.body.split()[:WORDS])
        image = render(text, n)
        image.save(shots / f"{name}.png")
        (texts / f"{name}.txt").write_text(text)
        _DESCRIPTIONS[name] = page.description
        corpus.append((name, text, image))
    for n in range(args.photos):
        photo(100 + n).save(photos / f"photo{n:03d}.jpg", quality=88)
    log(f"ocr: reading {len(corpus)} screenshots")
    result = {"machine": machine(), "reading": reading(corpus)}
    log(f"ocr: reading {json.dumps(result['reading'])}")
    encoders, models = load_joint()
    log("ocr: search")
    result["search"] = search(encoders, models, corpus, shots, texts)
    log("ocr: cost")
    result["cost"] = cost(encoders, models, {"photos_without_text": photos, "screenshots": shots})
    print(json.dumps(result, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
