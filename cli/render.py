"""Formatting for people (rich tables) and for scripts (JSON). No search or indexing logic here."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from anyseek.engine.records import IndexReport, IndexStatus, SearchResults, iso_time

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


def clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def where(hit) -> str:
    place = []
    if hit.captured_at is not None:
        place.append(iso_time(hit.captured_at)[:16].replace("T", " "))
    if hit.page is not None:
        place.append(f"p. {hit.page}")
    if hit.start is not None:
        place.append(f"{clock(hit.start)}–{clock(hit.end)}")
    if hit.snippet:
        place.append(hit.snippet)
    return "  ".join(place)


def search_table(results: SearchResults) -> None:
    for transcript in results.transcripts:
        out.print(f"[dim]heard:[/dim] {transcript}")
    if not results:
        out.print("no results")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column, justify in (
        ("#", "right"),
        ("score", "right"),
        ("sim", "right"),
        ("type", "left"),
        ("path", "left"),
        ("where / snippet", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")
    for rank, hit in enumerate(results, 1):
        similarity = "" if hit.similarity is None else f"{hit.similarity:.3f}"
        table.add_row(str(rank), f"{hit.score:.3f}", similarity, str(hit.modality), hit.path, where(hit))
    out.print(table)


def search_json(results: SearchResults, query: str | None) -> None:
    print_json({"query": query, "transcripts": list(results.transcripts), "hits": [h.to_dict() for h in results]})


def index_summary(report: IndexReport) -> None:
    state = "interrupted" if report.interrupted else "done"
    out.print(
        f"{state} in {report.seconds:.1f}s: {report.scanned} files seen, {report.added} added, "
        f"{report.updated} updated, {report.moved} moved, {report.copied} duplicates, {report.deleted} deleted, "
        f"{report.unchanged} unchanged, {report.ignored} ignored, {report.failed} failed ({report.chunks} chunks)"
    )
    for problem in report.problems[:10]:
        err.print(f"[yellow]skipped[/yellow] {problem.path}: {problem.reason}")
    for error in report.errors[:10]:
        err.print(f"[red]error[/red] {error.path}: {error.reason}")
    if len(report.errors) > 10:
        err.print(f"… and {len(report.errors) - 10} more errors (see `anyseek status`)")


def status_table(status: IndexStatus) -> None:
    table = Table(show_header=False, show_edge=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("index", status.home)
    table.add_row("items", ", ".join(f"{n} {m}" for m, n in sorted(status.items.items())) or "none")
    table.add_row("chunks", ", ".join(f"{n} {k}" for k, n in sorted(status.chunks.items())) or "none")
    table.add_row("vectors", ", ".join(f"{n} {s}" for s, n in sorted(status.vectors.items())) or "none")
    table.add_row("errors", f"{status.errors} files" + (f", {status.ignored} ignored" if status.ignored else ""))
    table.add_row("size", f"{status.disk_bytes / 2**20:.1f} MiB")
    for role, fingerprint in sorted(status.fingerprints.items()):
        dim = f", {fingerprint['dim']}-d" if fingerprint.get("dim") else ""
        table.add_row(
            f"{role} model", f"{fingerprint['model']} ({fingerprint['source']}{dim}, {fingerprint['library']})"
        )
    for name, value in status.models.items():
        if name.replace("_model", "") not in status.fingerprints and name != "joint_pretrained":
            table.add_row(name, f"{value} (not loaded yet)")
    if run := status.last_run:
        stats = run["stats"]
        table.add_row(
            "last run",
            f"{run['command']} {run['status']}: {stats.get('added', 0)} added, "
            f"{stats.get('failed', 0)} failed, {stats.get('seconds', 0):.1f}s",
        )
    table.add_row("settings", ", ".join(f"{k}={v}" for k, v in status.settings.items() if v is not None))
    out.print(table)
    for error in status.first_errors:
        err.print(f"[red]error[/red] {error.path}: {error.reason}")
