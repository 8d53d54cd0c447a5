"""The GPU benchmark, for a machine that has only Python, torch, torchvision (and PIL, NumPy with them).

    python bench/gpu.py [--quick] [--photos 5000] [--big 200] [--vectors 1000000] [--out gpu.json]

What it measures, side by side in one run (all ratios come from the same machine and the same minute):
1. (a) the bare image model: torchvision's vit_b_32 with random weights, fp16 on CUDA, a stand-in for
   open_clip's ViT-B-32 image tower (same depth, width and patch size; open_clip is not installed there),
   on ready tensors at its best batch size;
2. GPU decoding: anyseek's batched decoder (indexer/gpu_jpeg.py: decode_jpeg on the device, orientation,
   resize, crop, normalise) on >= 5,000 generated JPEG photos up to 2 MP, and on 12 MP photos;
3. GPU decoding feeding the model, the nearest to `anyseek index` this machine can run without open_clip,
   FAISS and SQLite: files read by CPU threads, decoded on the GPU, embedded; as a ratio of (a);
4. CPU decoding in worker processes with reduced-scale DCT decoding (PIL draft mode) and anyseek's
   PixelRecipe, one process per core, for the same photos: the alternative for 12 MP photos;
5. exact search at 1M 512-d vectors: anyseek's TorchExactIndex on the GPU against a NumPy matrix product on
   every CPU core (CPU FAISS is not installed there), batched QPS and one-query latency.
It prints a short table and one JSON object (also written to --out). --quick runs tiny sizes on the CPU,
which is how tests/test_bench_smoke.py checks it.

Only anyseek's light modules are loaded (indexer/gpu_jpeg.py, indexer/pixels.py, engine/vectors/), straight
from the repository, without running the package initialisers that import the models' libraries.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import types
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Worker processes are spawned, not forked: a fork of a process holding a CUDA context is unsafe.
SPAWN = multiprocessing.get_context("spawn")
# The repository's layout (pyproject's package-dir) without installing it or running engine/__init__.py.
PACKAGES = {
    "anyseek.engine": "engine",
    "anyseek.engine.vectors": "engine/vectors",
    "anyseek.indexer": "indexer",
    "anyseek.media": "media",  # for media/exif.py alone
}
# None of these is installed on the GPU machine; the smoke test checks the benchmark never imports them.
ABSENT_THERE = ("open_clip", "faiss", "sentence_transformers", "av", "pypdfium2", "sqlalchemy", "faster_whisper")


def load_repo() -> None:
    for name, folder in {"anyseek": "anyseek", **PACKAGES}.items():
        module = types.ModuleType(name)
        module.__path__ = [str(ROOT / folder)]
        sys.modules[name] = module


def log(message: str) -> None:
    print(f"[gpu-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


# --- photos -------------------------------------------------------------------------------------------


def _make_photo(job: tuple[str, int, int, int]) -> int:
    """A photographic JPEG: a smooth colour field plus sensor noise (neither compresses to nothing nor
    decodes faster than a photo), quality 90; every 7th carries an EXIF orientation."""
    from PIL import Image

    path, width, height, seed = job
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), np.int16)
    noise = rng.normal(0, 12, (height, width, 3)).astype(np.int16)
    exif = Image.Exif()
    if seed % 7 == 0:
        exif[0x0112] = 6
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90, exif=exif)
    return os.path.getsize(path)


def make_photos(folder: Path, count: int, sizes: list[tuple[int, int]], prefix: str) -> list[Path]:
    jobs = [(str(folder / f"{prefix}{i:05d}.jpg"), *sizes[i % len(sizes)], i) for i in range(count)]
    with ProcessPoolExecutor(os.cpu_count(), mp_context=SPAWN) as pool:
        list(pool.map(_make_photo, jobs, chunksize=8))
    return [Path(job[0]) for job in jobs]


# --- (a) the bare model ---------------------------------------------------------------------------------


def stand_in_model(device: str, quick: bool):
    """vit_b_32 (patch 32, 12 layers, width 768: the shape of CLIP's ViT-B-32 image tower); --quick uses a
    two-layer narrow one with the same input, so the smoke run costs seconds."""
    from torchvision.models import VisionTransformer, vit_b_32

    if quick:
        model = VisionTransformer(224, 32, num_layers=2, num_heads=2, hidden_dim=64, mlp_dim=128)
    else:
        model = vit_b_32(weights=None)
    model = model.eval().to(device)
    return model.half() if device.startswith("cuda") else model


def model_throughput(model, device: str, batch: int, seconds: float) -> float:
    import torch

    dtype = next(model.parameters()).dtype
    pixels = torch.randn(batch, 3, 224, 224, device=device, dtype=dtype)
    with torch.inference_mode():
        model(pixels)  # warm-up (cuDNN autotuning, allocations)
        sync(device)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model(pixels)
            done += batch
        sync(device)
    return done / (time.perf_counter() - start)


# --- GPU decoding ---------------------------------------------------------------------------------------


def read_items(paths: list[Path], threads: int):
    """Bytes and header facts of each file, read by CPU threads as the indexer's workers would."""
    from anyseek.indexer.gpu_jpeg import inspect_jpeg

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda p: inspect_jpeg(p.read_bytes(), 100_000_000), paths))


def _no_cpu_path(item) -> np.ndarray:
    raise RuntimeError("the GPU could not decode a generated photo")  # counted in gpu_fallbacks


def gpu_decode(paths: list[Path], device: str, batch: int, model=None) -> tuple[float, int]:
    """Images per second through read -> batched GPU decode (-> the model); returns (img/s, fallbacks)."""
    import torch

    from anyseek.indexer.gpu_jpeg import GpuJpegDecoder
    from anyseek.indexer.pixels import PixelRecipe

    recipe = PixelRecipe(224, "bicubic", (224, 224), (0.481, 0.458, 0.408), (0.269, 0.261, 0.276))
    decoder = GpuJpegDecoder(recipe, device, fallback=_no_cpu_path)
    threads = max(2, (os.cpu_count() or 2) // 2)
    start = time.perf_counter()
    with ThreadPoolExecutor(1) as reader:  # the next batch is read while this one is on the GPU
        pending = reader.submit(read_items, paths[:batch], threads)
        for first in range(0, len(paths), batch):
            items = pending.result()
            if first + batch < len(paths):
                pending = reader.submit(read_items, paths[first + batch : first + 2 * batch], threads)
            pixels = torch.stack([p for p in decoder.decode(items) if isinstance(p, torch.Tensor)])
            if model is not None:
                with torch.inference_mode():
                    model(pixels.to(next(model.parameters()).dtype))
    sync(device)
    return len(paths) / (time.perf_counter() - start), decoder.fell_back


# --- CPU decoding in processes --------------------------------------------------------------------------


def _cpu_decode(path: str) -> int:
    """What a decode process does: DCT-reduced decode (draft) to at least the model's side, EXIF
    orientation, resize, crop, normalise. Returns the byte size of the model input."""
    from PIL import Image, ImageOps

    from anyseek.indexer.pixels import PixelRecipe

    recipe = PixelRecipe(224, "bicubic", (224, 224), (0.481, 0.458, 0.408), (0.269, 0.261, 0.276))
    with Image.open(path) as image:
        image.draft("RGB", (224, 224))
        image = ImageOps.exif_transpose(image).convert("RGB")
        return recipe.apply(image).nbytes


def _worker_init() -> None:
    load_repo()


def cpu_process_decode(paths: list[Path], workers: int) -> float:
    with ProcessPoolExecutor(workers, mp_context=SPAWN, initializer=_worker_init) as pool:
        list(pool.map(_cpu_decode, [str(p) for p in paths[:workers]]))  # start-up outside the timing
        start = time.perf_counter()
        list(pool.map(_cpu_decode, [str(p) for p in paths], chunksize=4))
        return len(paths) / (time.perf_counter() - start)


# --- exact search -------------------------------------------------------------------------------------


def unit_vectors(count: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.standard_normal((count, dim), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def numpy_search(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ vectors.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1), 1)


def search_figures(count: int, device: str, batch: int, singles: int) -> dict:
    from anyseek.engine.vectors.torch_exact import TorchExactIndex

    dim, k = 512, 10
    vectors = unit_vectors(count, dim, 1)
    queries = unit_vectors(batch, dim, 2)
    ids = np.arange(count, dtype=np.int64) * 3 + 7
    index = TorchExactIndex(dim, device)
    for start in range(0, count, 100_000):
        index.add(ids[start : start + 100_000], vectors[start : start + 100_000])
    index.search(queries[:8], k)  # warm-up
    out: dict = {"vectors": count, "dim": dim, "k": k}
    for name, run in (("torch", lambda q: index.search(q, k)), ("numpy", lambda q: numpy_search(vectors, q, k))):
        sync(device)
        start = time.perf_counter()
        run(queries)
        sync(device)
        qps = batch / (time.perf_counter() - start)
        latencies = []
        for query in queries[:singles]:
            start = time.perf_counter()
            run(query[None])
            latencies.append(time.perf_counter() - start)
        out[name] = {"batch_qps": qps, "batch": batch, "single_p50_ms": 1000 * statistics.median(latencies)}
    torch_top = [set(i.tolist()) for _, i in index.search(queries[:20], k)]
    numpy_top = [set((ids[row]).tolist()) for row in numpy_search(vectors, queries[:20], k)]
    out["top10_agreement"] = float(np.mean([len(a & b) / k for a, b in zip(torch_top, numpy_top)]))
    return out


# --- the run --------------------------------------------------------------------------------------------


def sizes(quick: bool) -> dict:
    if quick:
        return {"photos": 12, "big": 4, "photo_sizes": [(320, 240), (200, 300)], "big_size": (800, 600)}
    return {
        "photos": 5000,
        "big": 200,
        "photo_sizes": [(1600, 1200), (1200, 1600), (1280, 960)],
        "big_size": (4000, 3000),
    }


def run(args) -> dict:
    import torch

    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    shape = sizes(args.quick)
    photos, big = args.photos or shape["photos"], args.big or shape["big"]
    count = args.vectors or (5000 if args.quick else 1_000_000)
    cores = os.cpu_count() or 2
    result: dict = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cores": cores,
            "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu",
        },
        "quick": args.quick,
        "code": str(ROOT),
        "model": "torchvision vit_b_32, random weights, fp16 on CUDA (stand-in for open_clip ViT-B-32)",
    }
    with tempfile.TemporaryDirectory(prefix="anyseek-gpu-bench-") as tmp:
        folder = Path(tmp)
        log(f"generating {photos} photos up to 2 MP and {big} at {shape['big_size']}")
        small = make_photos(folder, photos, shape["photo_sizes"], "p")
        large = make_photos(folder, big, [shape["big_size"]], "b")
        result["photos"] = {"count": photos, "mean_bytes": int(np.mean([p.stat().st_size for p in small[:100]]))}
        result["big_photos"] = {"count": big, "size": shape["big_size"]}

        model = stand_in_model(device, args.quick)
        seconds = 0.5 if args.quick else 5.0
        batches = (4,) if args.quick else (64, 128, 256, 512)
        bare = {b: model_throughput(model, device, b, seconds) for b in batches}
        best = max(bare, key=bare.get)
        result["bare_model_img_s"] = {str(b): v for b, v in bare.items()}
        log(f"bare model: {bare}")

        batch = 4 if args.quick else 256
        for name, paths in (("photos", small), ("big_photos", large)):
            # a 12 MP photo decodes to 36 MB of uint8 (144 MB as float while resized): smaller batches
            decode, fell_back = gpu_decode(paths, device, batch if name == "photos" else max(1, batch // 8))
            result[name]["gpu_decode_img_s"] = decode
            result[name]["gpu_fallbacks"] = fell_back
            result[name]["cpu_process_decode_img_s"] = cpu_process_decode(paths, cores)
            log(f"{name}: GPU decode {decode:.1f} img/s, CPU processes {result[name]['cpu_process_decode_img_s']:.1f}")
        bare_before = model_throughput(model, device, best, seconds)
        piped, _ = gpu_decode(small, device, batch, model)
        bare_after = model_throughput(model, device, best, seconds)
        limit = (bare_before + bare_after) / 2
        result["gpu_decode_plus_model"] = {"img_s": piped, "bare_img_s": limit, "ratio": piped / limit}
    result["search"] = search_figures(count, device, 64 if args.quick else 1000, 5 if args.quick else 50)
    result["imported_but_absent_there"] = sorted(name for name in ABSENT_THERE if name in sys.modules)
    return result


def table(result: dict) -> str:
    s, p, b = result["search"], result["photos"], result["big_photos"]
    rows = [
        ("bare model (best batch)", f"{max(result['bare_model_img_s'].values()):.1f} img/s"),
        (
            "photos <=2 MP: GPU decode / CPU processes",
            f"{p['gpu_decode_img_s']:.1f} / {p['cpu_process_decode_img_s']:.1f} img/s",
        ),
        (
            f"{b['size'][0]}x{b['size'][1]}: GPU decode / CPU processes",
            f"{b['gpu_decode_img_s']:.1f} / {b['cpu_process_decode_img_s']:.1f} img/s",
        ),
        ("GPU decode + model / bare model", f"{result['gpu_decode_plus_model']['ratio']:.2f}"),
        (
            f"exact search {s['vectors']:,}: torch / numpy QPS",
            f"{s['torch']['batch_qps']:.0f} / {s['numpy']['batch_qps']:.0f}",
        ),
        ("one query p50: torch / numpy", f"{s['torch']['single_p50_ms']:.2f} / {s['numpy']['single_p50_ms']:.2f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, on the CPU if no GPU: a smoke run")
    parser.add_argument("--photos", type=int, help="photos up to 2 MP (default 5000)")
    parser.add_argument("--big", type=int, help="12 MP photos (default 200)")
    parser.add_argument("--vectors", type=int, help="vectors for exact search (default 1,000,000)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    load_repo()
    result = run(args)
    print(table(result))
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
