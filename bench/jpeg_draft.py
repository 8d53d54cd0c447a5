"""JPEG reduced-scale decoding (setting jpeg_draft): its fidelity on detailed photos and its speed.

A JPEG headed for a model of input side S can be decoded at 1/2, 1/4 or 1/8 scale (libjpeg's scaled IDCT)
as long as it stays at least jpeg_draft * S on each side; 0 decodes it whole. The scaled decode is a
block average, the full decode then the model's bicubic resize a proper low-pass filter: on smooth photos
they agree to ~1e-4, on fine texture, line art, small print and fractals (bench/detailed.py) they do not.
The worst case decides the default, not the median: a user's detailed photo must find itself and its
look-alikes as well as a smooth one does.

For each jpeg_draft value: the worst and median cosine between the photo's vector decoded that way and
decoded whole (the demo joint model, 64 px input), the worst RMS difference of the model's input pixels at
64 and 224 px (0-255; model-independent: what a real CLIP at 224 px would be fed), and the decode time relative
to a full decode, measured side by side (interleaved, best of 3). 18 photos: 6 kinds at 477x720 (EXIF
orientation 8, the issue's photo), 1600x1200 and 4032x3024.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from bench.common import DEMO_MODEL, DEVICE, Result, cache_dir, log

DRAFTS = (0.0, 1.0, 2.0, 4.0)
INPUT_SIDES = (64, 224)


def _decode(path, draft: float, side: int):
    from anyseek.indexer.extract.image import jpeg_draft_size, open_photo

    return open_photo(bytes(path), 100_000_000, jpeg_draft_size(draft, side)).image


def _pixels(image, side: int) -> np.ndarray:
    """The model input a CLIP preprocessing gives: shorter side to `side` (bicubic), centre crop."""
    from PIL import Image

    width, height = image.size
    scale = side / min(width, height)
    resized = image.resize((max(side, round(width * scale)), max(side, round(height * scale))), Image.BICUBIC)
    left, top = (resized.width - side) // 2, (resized.height - side) // 2
    return np.asarray(resized.crop((left, top, left + side, top + side)), np.float32).ravel()


def run(result: Result, quick: bool = False) -> None:
    from anyseek.engine.encoders.joint import ClipEncoder
    from bench.detailed import write

    paths = write(cache_dir("jpeg-draft", "photos"))
    if quick:
        paths = [p for p in paths if "4032" not in p.name]
    model = ClipEncoder(str(DEMO_MODEL), "", DEVICE)
    side = model.image_size
    figures: dict[str, dict] = {}
    vectors: dict[float, list[np.ndarray]] = {d: [] for d in DRAFTS}
    pixel_rms: dict[tuple[float, int], list[float]] = {}
    seconds: dict[float, list[float]] = {d: [] for d in DRAFTS}
    for path in paths:
        for draft in DRAFTS:  # interleaved: drift hits every setting alike
            best = min(_timed(_decode, os.fsencode(path), draft, side) for _ in range(3))
            seconds[draft].append(best)
            image = _decode(os.fsencode(path), draft, side)
            vectors[draft].append(model.encode_images(model.preprocess(image)[None])[0])
            for input_side in INPUT_SIDES:
                whole = _pixels(_decode(os.fsencode(path), 0.0, input_side), input_side)
                drafted = _pixels(_decode(os.fsencode(path), draft, input_side), input_side)
                rms = float(np.sqrt(np.mean((whole - drafted) ** 2)))
                pixel_rms.setdefault((draft, input_side), []).append(rms)
    full = np.stack(vectors[0.0])
    for draft in DRAFTS:
        cosines = np.sum(np.stack(vectors[draft]) * full, axis=1)
        worst = int(np.argmin(cosines))
        speed = float(np.sum(seconds[0.0]) / np.sum(seconds[draft]))
        figures[str(draft)] = {
            "worst_cosine": float(cosines[worst]),
            "worst_photo": paths[worst].name,
            "median_cosine": float(np.median(cosines)),
            "worst_pixel_rms": {s: max(pixel_rms[(draft, s)]) for s in INPUT_SIDES},
            "decode_speed_vs_full": speed,
        }
        f = figures[str(draft)]
        result.row(
            f"jpeg_draft {draft:g}: worst / median cosine with a full decode (demo model, {len(paths)} photos)",
            f"{f['worst_cosine']:.4f} ({f['worst_photo']}) / {f['median_cosine']:.5f}; "
            f"worst pixel RMS {f['worst_pixel_rms'][64]:.1f} (64 px), "
            f"{f['worst_pixel_rms'][224]:.1f} (224 px) of 255; "
            f"decode {speed:.2f}x full",
        )
    result.figures["jpeg_draft"] = {"photos": len(paths), "model_input": side, **figures}
    log(f"jpeg_draft: {len(paths)} photos measured")


def _timed(call, *args) -> float:
    start = time.perf_counter()
    call(*args)
    return time.perf_counter() - start


def main() -> None:
    result = Result("jpeg_draft")
    run(result, quick="--quick" in sys.argv)
    for row in result.rows:
        print(f"{row.metric}: {row.value}")


if __name__ == "__main__":
    main()
