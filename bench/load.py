"""Load test of `anyseek serve` on loopback: many clients searching while an index job writes.

    python -m bench.load [--items 2000] [--job-items 500] [--clients 32] [--seconds 60]

Builds (once, cached in .cache/bench/load/) an index of `--items` files (pictures and notes), starts a real
server on 127.0.0.1 (random port), starts an index job on another `--job-items` files, and runs `--clients`
asyncio clients for `--seconds`: each sends mixed queries (3 text searches, then 1 image upload) back to
back. Reports throughput, latency p50/p95/p99/max per kind, failures (any non-200 or transport error) and
how far the job got. Bounded in clients and time; stops by itself; talks to loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import CACHE, log, spawn_server

WORDS = "budget garden harbour meeting forest river coffee winter report travel music invoice".split()


def corpus(folder: Path, count: int, seed: int) -> Path:
    """count files, one in four a note, the rest small pictures; made once."""
    from PIL import Image

    marker = folder / ".complete"
    if marker.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        if i % 4 == 0:
            words = rng.choice(WORDS, 30)
            (folder / f"note-{i:05d}.txt").write_text(" ".join(words) + ".")
        else:
            pixels = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).resize((128, 96)).save(folder / f"pic-{i:05d}.png")
    marker.touch()
    return folder


def build_index(home: Path, media: Path, models: list[str]) -> None:
    if (home / "anyseek.db").exists():
        return
    log(f"indexing {media} into {home} (once)")
    done = subprocess.run(
        [sys.executable, "-m", "anyseek", "--index", str(home), "index", str(media), *models, "--json"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)


def start_server(home: Path) -> tuple[subprocess.Popen, dict, str]:
    process = spawn_server(home)
    info = json.loads((home / "server.json").read_text())
    return process, info, (home / "server.token").read_text().strip()


def query_images(media: Path, count: int = 8) -> list[bytes]:
    return [p.read_bytes() for p in sorted(media.glob("pic-*.png"))[:count]]


async def client_loop(client, url: str, deadline: float, images: list[bytes], seed: int, stats: dict) -> None:
    rng = np.random.default_rng(seed)
    n = 0
    while time.monotonic() < deadline:
        kind = "image" if n % 4 == 3 else "text"
        n += 1
        started = time.perf_counter()
        try:
            if kind == "text":
                q = " ".join(rng.choice(WORDS, 3))
                response = await client.post(f"{url}/api/v1/search", json={"q": q, "k": 10})
            else:
                data = images[int(rng.integers(len(images)))]
                response = await client.post(
                    f"{url}/api/v1/search/upload", files={"file": ("q.png", data)}, data={"k": "10"}
                )
            ok = response.status_code == 200
            if not ok:
                stats["errors"].append(f"{response.status_code} {response.text[:120]}")
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            ok = False
            stats["errors"].append(repr(exc)[:120])
        stats[kind].append(time.perf_counter() - started)
        stats["failed"] += 0 if ok else 1


async def run_load(url: str, clients: int, seconds: float, images: list[bytes], auth: dict[str, str]) -> dict:
    import httpx

    stats: dict = {"text": [], "image": [], "failed": 0, "errors": []}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=600, limits=limits, trust_env=False, headers=auth) as client:
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(*(client_loop(client, url, deadline, images, i, stats) for i in range(clients)))
        elapsed = time.monotonic() - started
    out = {"seconds": elapsed, "failed": stats["failed"], "errors": stats["errors"][:10]}
    everything = stats["text"] + stats["image"]
    out["requests"] = len(everything)
    out["throughput_rps"] = len(everything) / elapsed
    for kind, values in (("all", everything), ("text", stats["text"]), ("image", stats["image"])):
        ms = np.asarray(values or [0.0]) * 1000
        out[kind] = {
            "count": len(values),
            **{f"p{p}_ms": float(np.percentile(ms, p)) for p in (50, 95, 99)},
            "max_ms": float(ms.max()),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--job-items", type=int, default=500)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--joint-model", default="ViT-B-32")
    parser.add_argument("--joint-pretrained", default="random")  # same compute as the real weights
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("ANYSEEK_DEVICE", "cpu")
    root = CACHE / "load"
    media = corpus(root / f"media-{args.items}", args.items, seed=1)
    job_media = corpus(root / f"job-{args.job_items}", args.job_items, seed=2)
    home = root / f"index-{args.items}-{Path(args.joint_model).name}"  # a model directory: its name
    build_index(home, media, ["--joint-model", args.joint_model, "--joint-pretrained", args.joint_pretrained])
    # the job's folder is new to the index on every run: forget it first (the index stays as built)
    subprocess.run([sys.executable, "-m", "anyseek", "--index", str(home), "remove", str(job_media)], check=True)
    server, info, token = start_server(home)
    url = info["url"]
    try:
        import httpx

        auth = {"Authorization": f"Bearer {token}"}
        job = httpx.post(f"{url}/api/v1/jobs/index", json={"path": str(job_media)}, headers=auth, trust_env=False)
        job.raise_for_status()
        job_id = job.json()["job_id"]
        log(f"load: {args.clients} clients for {args.seconds:.0f}s against {args.items} items while a job indexes")
        result = asyncio.run(run_load(url, args.clients, args.seconds, query_images(media), auth))
        state = httpx.get(f"{url}/api/v1/jobs/{job_id}", headers=auth, trust_env=False).json()
        result["job_during_load"] = {k: state[k] for k in ("state", "files_done", "files_total", "rate")}
        httpx.delete(f"{url}/api/v1/jobs/{job_id}", headers=auth, trust_env=False)
    finally:
        server.send_signal(signal.SIGTERM)
        result_code = server.wait(120)
    result.update(items=args.items, clients=args.clients, server_exit=result_code)
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
