"""`anyseek search` with and without a server, and HTTP against in-process search, side by side.

    python -m bench.serve --index DIR [--rounds 5] [--queries 100]

1. CLI wall and CPU time per `anyseek search` (fresh process each), interleaved round by round:
   (a) in-process as before the server issue (the models loaded for a text query, query_runtime=torch, and
   the ONNX parity check on every start: its marker removed first), (b) in-process now (the text towers'
   ONNX exports, no torch), (c) through a running `anyseek serve`.
2. Search latency p50/p95 for the same queries through the Python API in this process and through HTTP
   (POST /api/v1/search on the server, one client), interleaved query by query.
The index must exist (any `anyseek index` output). Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import spawn_server

QUERIES = [
    "the budget for next year",
    "watering tomatoes in summer",
    "a red square",
    "snow on the harbour",
    "weather forecast rain",
    "a photo of a forest",
    "meeting notes",
    "the cafe was closed",
]


def cli_search(index: Path, query: str, *extra: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user+sys) of one `anyseek search` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "anyseek", "--index", str(index), "search", query, "-k", "5", *extra],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def parity_markers() -> list[Path]:
    from anyseek.engine.encoders.onnx_text import cache_root

    return list((cache_root() / "onnx").glob("*.onnx.verified"))


def cold_start(index: Path, rounds: int) -> dict:
    cli_search(index, "warm the page cache", "--no-server")  # first run ever: exports ONNX, fills caches
    old_way = {"ANYSEEK_QUERY_RUNTIME": "torch"}
    server = spawn_server(index)
    runs: dict[str, list[tuple[float, float]]] = {"before": [], "now": [], "server": []}
    try:
        for i in range(rounds):
            query = QUERIES[i % len(QUERIES)]
            for marker in parity_markers():
                marker.unlink()
            runs["before"].append(cli_search(index, query, "--no-server", env=old_way))
            runs["now"].append(cli_search(index, query, "--no-server"))
            runs["server"].append(cli_search(index, query))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    return {
        name: {
            "wall_p50": float(np.median([w for w, _ in values])),
            "cpu_p50": float(np.median([c for _, c in values])),
            "wall": [w for w, _ in values],
        }
        for name, values in runs.items()
    }


def latency(index: Path, count: int) -> dict:
    import httpx

    from anyseek import Engine

    server = spawn_server(index)
    try:
        url = json.loads((index / "server.json").read_text())["url"] + "/api/v1/search"
        token = (index / "server.token").read_text().strip()
        engine = Engine.open(index, create=False)
        engine.warm()  # the same models as the server's
        local, remote = [], []
        with httpx.Client(trust_env=False, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            for query in QUERIES:  # both sides warm
                engine.search(text=query, k=10)
                client.post(url, json={"q": query, "k": 10}).raise_for_status()
            for i in range(count):
                query = QUERIES[i % len(QUERIES)]
                started = time.perf_counter()
                engine.search(parts=engine.parse_text(query), k=10)
                local.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.post(url, json={"q": query, "k": 10}).raise_for_status()
                remote.append(time.perf_counter() - started)
        engine.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    out = {}
    for name, values in (("in_process", local), ("http", remote)):
        ms = np.asarray(values) * 1000
        out[name] = {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}
    out["ratio_p50"] = out["http"]["p50_ms"] / out["in_process"]["p50_ms"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = {"cold_start": cold_start(args.index, args.rounds), "latency": latency(args.index, args.queries)}
    cold = results["cold_start"]
    for name in ("before", "now", "server"):
        wall, cpu = cold[name]["wall_p50"], cold[name]["cpu_p50"]
        print(f"anyseek search, {name:>6}: wall p50 {wall:.2f} s, CPU p50 {cpu:.2f} s")
    lat = results["latency"]
    print(
        f"search latency p50: in-process {lat['in_process']['p50_ms']:.1f} ms, HTTP {lat['http']['p50_ms']:.1f} ms "
        f"(ratio {lat['ratio_p50']:.2f}); p95 {lat['in_process']['p95_ms']:.1f} / {lat['http']['p95_ms']:.1f} ms"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
