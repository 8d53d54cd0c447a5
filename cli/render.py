"""Formatting for people (rich tables) and for scripts (JSON). No search or indexing logic here."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from anyseek.engine.records import IndexReport, IndexStatus, SearchResults, iso_time

JSON_VERSION = 1  # bumped when a field changes meaning or goes; new fields may appear without a bump
UNWRAPPED = 1 << 20  # a pipe or a file has no width: lines stay whole for grep, cut and awk


def _console(stream) -> Console:
    tty = stream.isatty()
    return Console(file=stream, highlight=False, soft_wrap=not tty, width=None if tty else UNWRAPPED, emoji=False)


class _Lazy:
    """The console of sys.stdout / sys.stderr as they are when used (tests and callers may swap them)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        return getattr(_console(getattr(sys, self._name)), attr)


out = _Lazy("stdout")
err = _Lazy("stderr")


def error(message: str) -> None:
    err.print(f"error: {message}", markup=False, soft_wrap=True)


def usage_error(message: str, command_path: str) -> None:
    error(message)
    err.print(f"try '{command_path} -h'", markup=False, soft_wrap=True)


def warnings(messages) -> None:
    for message in messages:
        err.print(f"warning: {message}", markup=False, soft_wrap=True)


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
    if hit.slide is not None:
        place.append(f"slide {hit.slide}")
    if rows := table_place(hit):
        place.append(rows)
    if hit.start is not None:
        place.append(f"{clock(hit.start)}–{clock(hit.end)}")
    if hit.box is not None:
        place.append("text in image:")  # the snippet is what OCR read; --json carries its box
    if hit.snippet:
        place.append(hit.snippet)
    return "  ".join(place)


def table_place(hit) -> str:
    """`Budget, rows 5–9`: a spreadsheet passage's sheet and rows (a CSV's rows alone)."""
    if hit.row is None:
        return hit.sheet or ""
    rows = f"row {hit.row}" if hit.row_end in (None, hit.row) else f"rows {hit.row}–{hit.row_end}"
    return f"{hit.sheet}, {rows}" if hit.sheet else rows


def search_table(results: SearchResults) -> None:
    for transcript in results.transcripts:
        out.print(f"[dim]heard:[/dim] {escape(transcript)}")
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
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            "" if hit.similarity is None else f"{hit.similarity:.3f}",
            str(hit.modality),
            escape(hit.path),
            escape(where(hit)),
        )
    out.print(table)


def search_json(results: SearchResults, query: str | None) -> None:
    print_json(
        {
            "version": JSON_VERSION,
            "query": query,
            "transcripts": list(results.transcripts),
            "warnings": list(results.warnings),
            "hits": [h.to_dict() for h in results],
        }
    )


def search_paths(results: SearchResults) -> None:
    """One path per line, its exact bytes (a name that is not UTF-8 still opens)."""
    stream = sys.stdout.buffer
    for hit in results:
        stream.write((hit.raw_path or hit.path.encode()) + b"\n")
    stream.flush()


def index_json(report: IndexReport) -> None:
    print_json({"version": JSON_VERSION, **report.as_dict()})


def status_json(status: IndexStatus) -> None:
    print_json({"version": JSON_VERSION, **status.as_dict()})


def index_summary(report: IndexReport) -> None:
    state = "interrupted" if report.interrupted else "done"
    out.print(
        f"{state} in {report.seconds:.1f}s: {report.scanned} files seen, {report.added} added, "
        f"{report.updated} updated, {report.moved} moved, {report.copied} duplicates, {report.deleted} deleted, "
        f"{report.unchanged} unchanged, {report.ignored} ignored, {report.failed} failed"
        + (f" ({report.known_failed} unchanged since they failed; --retry-failed)" if report.known_failed else "")
        + f" ({report.chunks} chunks)"
    )
    for problem in report.problems[:10]:
        err.print(f"[yellow]skipped[/yellow] {escape(problem.path)}: {escape(problem.reason)}")
    for failure in report.errors[:10]:
        err.print(f"[red]error[/red] {escape(failure.path)}: {escape(failure.reason)}")
    if len(report.errors) > 10:
        err.print(f"… and {len(report.errors) - 10} more errors (see `anyseek status`)")
    for warning in report.warnings[:10]:  # indexed all the same, without something (a picture's text)
        err.print(f"[yellow]warning[/yellow] {escape(warning.path)}: {escape(warning.reason)}")
    if len(report.warnings) > 10:
        err.print(f"… and {len(report.warnings) - 10} more warnings (--json lists them all)")


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
    for failure in status.first_errors:
        err.print(f"[red]error[/red] {escape(failure.path)}: {escape(failure.reason)}")
