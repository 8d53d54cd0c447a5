"""Shared pieces of the benchmarks: where caches live, the machine, timers, result rows.

Every benchmark returns a `Result`: raw figures (written to JSON) and rows for the table. A row's value
is a ratio measured side by side in the same run wherever a goal is stated, because the machine is
shared (2 cores, other work running) and absolute timings drift from run to run.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import platform  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
DEMO_MODEL = ROOT / "data" / "demo-model"
# Where the models run: cpu for the figures in the README; ANYSEEK_BENCH_DEVICE=cuda on a GPU machine.
DEVICE = os.environ.get("ANYSEEK_BENCH_DEVICE", "cpu")


@dataclass(slots=True)
class Row:
    metric: str
    value: str
    goal: str = ""
    met: bool | None = None  # None: a figure reported without a goal


@dataclass(slots=True)
class Result:
    name: str
    figures: dict = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, metric: str, value: str, goal: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(metric, value, goal, met))


def cache_dir(*parts: str) -> Path:
    path = CACHE.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def log(message: str) -> None:
    """Progress on stderr, so a long run shows where it is."""
    import sys

    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import faiss
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "faiss": faiss.__version__,
        "load_average_at_start": os.getloadavg(),
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.asarray(samples_s) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "n": len(ms)}


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clustered_vectors(count: int, dim: int, *, clusters: int = 1000, spread: float = 0.6, seed: int = 0):
    """Unit vectors drawn around `clusters` centres, generated in blocks to bound memory.

    Real embeddings are not uniform noise: they crowd into topics. Uniform noise in 512 dimensions makes
    every neighbour equally far, which flatters no index and defeats IVF's clustering, so ANN figures on it
    say nothing. spread is the noise norm relative to the (unit) centre.
    """
    blocks = list(clustered_blocks(count, dim, clusters=clusters, spread=spread, seed=seed))
    return np.concatenate(blocks) if blocks else np.empty((0, dim), np.float32)


def clustered_blocks(count: int, dim: int, *, clusters: int = 1000, spread: float = 0.6, seed: int = 0):
    """`clustered_vectors` in blocks of 100,000 rows (the same vectors for the same seed)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        block = centres[rng.integers(0, clusters, n)]
        block += (spread / np.sqrt(dim)) * rng.standard_normal((n, dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        yield block


def embedding_like(count: int, dim: int = 512, seed: int = 0) -> np.ndarray:
    """200 topics with 20 sub-topics each; inside a sub-topic a spread that lives mostly in a 32-d
    subspace (norm ~0.45 of the centre) plus a little isotropic noise (~0.25): clustered at several
    scales with a low intrinsic dimension, as text and image embeddings are."""
    return np.concatenate(list(embedding_like_blocks(count, dim, seed))) if count else np.empty((0, dim), np.float32)


def embedding_like_blocks(count: int, dim: int = 512, seed: int = 0, block: int = 100_000):
    """`embedding_like` in blocks of `block` rows (the same vectors for the same seed): 10M vectors without
    holding 20 GB."""
    rng = np.random.default_rng(seed)

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    topics = unit(rng.standard_normal((200, dim)).astype(np.float32))
    offsets = 0.6 * unit(rng.standard_normal((4000, dim)).astype(np.float32))
    subtopics = unit(topics[np.repeat(np.arange(200), 20)] + offsets)
    basis = unit(rng.standard_normal((32, dim)).astype(np.float32))
    for start in range(0, count, block):
        n = min(block, count - start)
        out = subtopics[rng.integers(0, len(subtopics), n)]
        out += (0.45 / np.sqrt(32)) * rng.standard_normal((n, 32), dtype=np.float32) @ basis
        out += (0.25 / np.sqrt(dim)) * rng.standard_normal((n, dim), dtype=np.float32)
        yield unit(out).astype(np.float32)


def set_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def load_joint(model: str = "ViT-B-32"):
    """An EncoderSet with an open_clip architecture and seeded random weights (same compute as the real
    model), plus the offline MiniLM and Whisper tiny.en from their packages."""
    from anyseek.engine.encoders import EncoderSet
    from anyseek.engine.settings import ModelSpecs, load_settings

    models = {"joint_model": model, "joint_pretrained": "random"}
    settings = load_settings(Path("/nonexistent"), {**models, "device": DEVICE})
    return EncoderSet(ModelSpecs(**models), settings), models


def spawn_server(home: Path):
    """`anyseek serve` on the index at `home`, on a free loopback port; returns once it has written its
    discovery file (models loaded). The caller stops it (SIGTERM) when done."""
    import subprocess
    import sys

    (home / "server.json").unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "anyseek", "--index", str(home), "serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while not (home / "server.json").exists():
        if process.poll() is not None:
            raise SystemExit(process.stderr.read().decode())
        time.sleep(0.2)
    return process


def timed_index(encoders, models: dict, folder: Path, **settings):
    """`Engine.index` of `folder` into a fresh index directory (under the work cache), timed:
    (seconds, report, index directory). The caller removes the directory, or reads it first."""
    import shutil
    import tempfile

    from anyseek.engine import Engine

    home = Path(tempfile.mkdtemp(dir=cache_dir("work")))
    try:
        with Engine.open(home, encoders=encoders, **models, device=DEVICE, **settings) as eng:
            start = time.perf_counter()
            report = eng.index([folder])
            return time.perf_counter() - start, report, home
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
