"""Run the benchmarks, print one table, write JSON.

    .venv/bin/python -m bench.run [--only NAME ...] [--quick] [--out bench-results/results.json]

Names: images, decode, reindex, speech, video, query, ann, scale, ray_index, txtai, quality, records. --quick uses
small sizes (a smoke run of a few minutes; its figures mean little). Every goal is a ratio measured side by side
within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import time
import traceback
from pathlib import Path

from bench.common import ROOT, Result, log, machine

MODULES = {
    "images": "bench.images",
    "decode": "bench.decode_kinds",
    "reindex": "bench.reindex",
    "speech": "bench.speech",
    "video": "bench.video",
    "query": "bench.query",
    "ann": "bench.ann",
    "scale": "bench.scale",
    "ray_index": "bench.ray_index",
    "txtai": "bench.txtai_compare",
    "quality": "bench.quality",
    "formats": "bench.formats",
    "records": "bench.records",
}


def table(results: list[Result]):
    from rich.table import Table

    out = Table(title="anyseek benchmarks", show_lines=False)
    for column in ("benchmark", "figure", "value", "goal", "met"):
        out.add_column(column, overflow="fold")
    for result in results:
        for row in result.rows:
            met = "" if row.met is None else ("yes" if row.met else "NO")
            out.add_row(result.name, row.metric, row.value, row.goal, met)
    return out


def print_alone(result: Result, out: Path | None) -> None:
    """One benchmark run on its own (python -m bench.NAME): its table, and its figures as JSON to `out`."""
    from rich.console import Console

    Console(width=160).print(table([result]))
    if out:
        out.write_text(json.dumps(result.figures, indent=2, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(MODULES), help="run just these")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "results.json")
    args = parser.parse_args(argv)
    from rich.console import Console

    names = args.only or list(MODULES)
    started = time.time()
    report = {"machine": machine(), "quick": args.quick, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    results: list[Result] = []
    failed = False
    for name in names:
        log(f"running {name}{' (quick)' if args.quick else ''}")
        begun = time.perf_counter()
        try:
            result = importlib.import_module(MODULES[name]).run(quick=args.quick)
        except Exception:  # noqa: BLE001 - one broken benchmark must not lose the others' figures
            failed = True
            result = Result(name, notes=[traceback.format_exc()])
            result.row("error", "failed: see the JSON notes")
            log(f"{name} failed:\n{result.notes[0]}")
        result.figures["wall_s"] = time.perf_counter() - begun
        results.append(result)
        report["results"] = {r.name: dataclasses.asdict(r) for r in results}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str))  # after each one: partial runs count
    report["wall_s"] = time.time() - started
    args.out.write_text(json.dumps(report, indent=2, default=str))
    console = Console(width=160)
    console.print(table(results))
    console.print(f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; JSON: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
