"""Start-up cost of `anyseek search`, two installs side by side (a change's before and after).

    python -m bench.startup --index DIR --before /path/to/old/.venv/bin/python [--after PYTHON] [--rounds 12]

CPU seconds (user + sys) of each `anyseek search` process, which a busy machine disturbs less than wall
time, interleaved round by round and alternating which install goes first: (a) cold, `--no-server`, the
query embedded by the exported ONNX towers (a warm-up run per install builds them); (b) through a running
`anyseek serve` (started with --after's install), the client's whole cost. --after defaults to this
Python. Both installs must read the index (same schema). Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUERIES = ["the printer stopped", "tomatoes in the sun", "weather tomorrow", "a forest", "paper jam", "soil"]


def cpu_seconds(python: str, index: Path, query: str, *extra: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [python, "-m", "anyseek", "--index", str(index), "search", query, "-k", "3", *extra],
        capture_output=True,
        text=True,
        cwd="/",  # neither checkout's source tree on the path
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved(pythons: dict[str, str], index: Path, rounds: int, *extra: str) -> dict[str, list[float]]:
    for python in pythons.values():
        cpu_seconds(python, index, "warm up", *extra)
    times: dict[str, list[float]] = {side: [] for side in pythons}
    order = list(pythons)
    for round_ in range(rounds):
        for side in order if round_ % 2 == 0 else order[::-1]:
            times[side].append(cpu_seconds(pythons[side], index, QUERIES[round_ % len(QUERIES)], *extra))
    return times


def served(pythons: dict[str, str], index: Path, rounds: int) -> dict[str, list[float]]:
    (index / "server.json").unlink(missing_ok=True)
    server = subprocess.Popen(
        [pythons["after"], "-m", "anyseek", "--index", str(index), "serve", "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
    )
    try:
        while not (index / "server.json").exists():
            if server.poll() is not None:
                raise SystemExit(server.stderr.read().decode())
            time.sleep(0.2)
        return interleaved(pythons, index, rounds)
    finally:
        server.terminate()
        server.wait(30)


def summary(times: dict[str, list[float]]) -> dict[str, float]:
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    return {"before_s": round(before, 3), "after_s": round(after, 3), "after/before": round(after / before, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--before", required=True, help="the Python of the install before the change")
    parser.add_argument("--after", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    pythons = {"before": args.before, "after": args.after}
    cold = interleaved(pythons, args.index, args.rounds, "--no-server")
    through_server = served(pythons, args.index, args.rounds * 2)
    report = {
        "cold search (--no-server), CPU s": {**summary(cold), "n": args.rounds},
        "search through a server, CPU s": {**summary(through_server), "n": args.rounds * 2},
        "load average": os.getloadavg()[0],
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
