"""GPU check for a CUDA machine: index and search with every encoder on the GPU, parity of GPU and CPU
vectors, and end-to-end indexing throughput over the bare model's, measured side by side.

    python scripts/gpu_check.py [--images 400] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_photo(args) -> None:
    path, seed = args
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, 3)
    small = np.clip(base + rng.normal(0, 60, (150, 200, 3)), 0, 255).astype(np.uint8)
    noise = rng.normal(0, 12, (1200, 1600, 3))
    big = np.asarray(Image.fromarray(small).resize((1600, 1200), Image.BICUBIC), dtype=np.float64) + noise
    Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(path, quality=88)


def bare_model_rate(device: str, batch: int = 256, rounds: int = 5) -> float:
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None, device=device).eval()
    pixels = torch.randn(batch, 3, 224, 224, device=device)
    with torch.inference_mode():
        model.encode_image(pixels)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(rounds):
            model.encode_image(pixels, normalize=True).cpu()
        torch.cuda.synchronize()
    return batch * rounds / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--out", default="gpu-check.json")
    parser.add_argument("--notes", action="store_true", help="also index text notes (needs the MiniLM model)")
    args = parser.parse_args()
    import faiss
    import torch

    from anyseek.engine import Engine
    from anyseek.engine.encoders.joint import ClipEncoder

    result: dict[str, object] = {
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0),
        "faiss_gpus": faiss.get_num_gpus(),
        "cpus": os.cpu_count(),
    }
    work = Path(tempfile.mkdtemp())
    media = work / "media"
    (media / "photos").mkdir(parents=True)
    (media / "notes").mkdir()
    with ProcessPoolExecutor() as pool:
        list(pool.map(make_photo, [(media / "photos" / f"p{i:04d}.jpg", i) for i in range(args.images)]))
    if args.notes:
        for i in range(40):
            (media / "notes" / f"n{i}.txt").write_text(f"Note {i}: the quarterly budget, travel and hiring plan. " * 3)
    result["bare_images_per_s"] = round(bare_model_rate("cuda"), 1)
    workers = max(2, (os.cpu_count() or 2) - 2)
    with Engine.open(
        work / "index", joint_model="ViT-B-32", joint_pretrained="random", workers=workers, image_batch=128
    ) as eng:
        result["device"] = eng.encoders.device
        _ = eng.encoders.joint  # load before timing
        if args.notes:
            _ = eng.encoders.text
        start = time.perf_counter()
        report = eng.index([media])
        seconds = time.perf_counter() - start
        result["index"] = {
            "files": report.added,
            "failed": report.failed,
            "seconds": round(seconds, 2),
            "images_per_s": round(args.images / seconds, 1),
        }
        result["pipeline_over_bare"] = round(args.images / seconds / result["bare_images_per_s"], 3)
        if args.notes:
            hits = eng.search(text="the quarterly budget and hiring plan", k=3)
            result["search_top"] = [(h.path.rsplit("/", 1)[-1], round(h.similarity, 3)) for h in hits]
        probe = eng.search(image=media / "photos" / "p0007.jpg", k=1)[0]
        result["image_self_match"] = (probe.path.endswith("p0007.jpg"), round(probe.similarity, 4))
        gpu_vectors = eng.store.item_vectors(probe.item_id, eng.catalog.dims)
    cpu = ClipEncoder("ViT-B-32", "random", "cpu")
    from anyseek.media.image import open_image

    image = open_image(os.fsencode(media / "photos" / "p0007.jpg"), 10**9, draft_size=cpu.image_size)
    cpu_vector = cpu.encode_images(cpu.preprocess(image)[None])[0]
    gpu_vector = next(iter(gpu_vectors.values()))[0]
    result["gpu_cpu_cosine"] = round(float(cpu_vector @ gpu_vector / np.linalg.norm(gpu_vector)), 6)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
