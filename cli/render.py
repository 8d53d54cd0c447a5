"""Formatting for people (rich tables) and for scripts (JSON). No search or indexing logic here."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from anyseek.engine.records import IndexReport, IndexStatus, SearchResults, iso_time

JSON_VERSION = 1  # bumped when a field changes meaning or goes; new fields may appear without a bump
UNWRAPPED = 1 << 20  # a pipe or a file has no width: lines stay whole for grep, cut and awk
PIPE_WIDTH = 160  # a piped search hit is one line, at most this long (the snippet gives way)
SNIPPET_LINES = 2  # a snippet's lines under its hit in a terminal
# A calibrated score of 0.5 means clearly related (docs/scores.md: about 1 unrelated target in 15,000 gets that
# far by chance); below it a hit is a neighbour, not an answer.
CLEARLY_RELATED = 0.5


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
    """Where in the file the hit is: its capture date, PDF page or time span (the snippet comes apart)."""
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
        place.append("text in image")  # the snippet is what OCR read; --json carries its box
    return "  ".join(place)


def table_place(hit) -> str:
    """`Budget, rows 5–9`: a spreadsheet passage's sheet and rows (a CSV's rows alone)."""
    if hit.row is None:
        return hit.sheet or ""
    rows = f"row {hit.row}" if hit.row_end in (None, hit.row) else f"rows {hit.row}–{hit.row_end}"
    return f"{hit.sheet}, {rows}" if hit.sheet else rows


def part_where(part, with_snippet: bool = True) -> str:
    place = []
    if part.page is not None:
        place.append(f"p. {part.page}")
    if part.start is not None:
        place.append(f"{clock(part.start)}–{clock(part.end)}")
    if part.snippet and with_snippet:
        place.append(part.snippet)
    return "  ".join(place)


def hit_place(hit) -> str:
    return record_where(hit) if hit.record_id is not None else where(hit)


def record_where(hit) -> str:
    """A record hit: its label, each part's score (a user sees which part matched), then where the best
    part matched."""
    bits = [f"[{hit.label}]"] if hit.label else []
    for part in hit.parts:
        score = "failed" if part.error else "-" if part.score is None else f"{part.score:.2f}"
        bits.append(f"{part.field} {score}")
    scored = [part for part in hit.parts if part.score is not None]
    best = max(scored, key=lambda p: p.score) if scored else None
    # the hit's own snippet follows this; the best part's would print the same words twice
    if best is not None and (place := part_where(best, with_snippet=best.snippet != hit.snippet)):
        bits.append(place)
    return "  ".join(bits)


def shown_path(path: str) -> str:
    """A path as a person reads it: relative to the working folder when it lies under it, else with `~` for
    the home folder, else whole. Scripts get exact absolute paths from --json and --paths."""
    for base, shown in ((_cwd(), ""), (os.path.expanduser("~"), "~/")):
        prefix = base.rstrip("/") + "/"
        if base and base != "~" and path.startswith(prefix) and len(path) > len(prefix):
            return shown + path[len(prefix) :]
    return path


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:  # the working folder was deleted
        return ""


def _snippet_text(hit) -> str:
    return " ".join(hit.snippet.split()) if hit.snippet else ""


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)].rstrip() + "…"


def weak_results_note(results: SearchResults) -> None:
    """Said once, above the hits, when none is clearly related: the closest hits of a query that nothing
    answers ('xylophone quantum zebra') must not read as answers."""
    if results.hits and max(hit.score for hit in results) < CLEARLY_RELATED:
        err.print(
            f"no hit is clearly related to the query (every score is below {CLEARLY_RELATED}); the closest:",
            markup=False,
            soft_wrap=True,
        )


def search_table(results: SearchResults, first_rank: int = 1) -> None:
    """A terminal gets one row per hit and its snippet in at most two lines below the path; a pipe gets one
    line per hit, score and path first, at most PIPE_WIDTH characters (the snippet gives way, never the
    path)."""
    for transcript in results.transcripts:
        out.print(f"[dim]heard:[/dim] {escape(transcript)}")
    if not results:
        out.print("no results")
        return
    weak_results_note(results)
    lines = _terminal_rows if sys.stdout.isatty() else _pipe_lines
    for line, style in lines(results, first_rank):
        out.print(line, markup=False, soft_wrap=True, style=style)


def _pipe_lines(results: SearchResults, first_rank: int):
    for hit in results:
        similarity = "" if hit.similarity is None else f"{hit.similarity:.3f}"
        head = "  ".join(p for p in (f"{hit.score:.3f}", shown_path(hit.path), str(hit.modality), similarity) if p)
        head += f"  {place}" if (place := _place(hit)) else ""
        snippet = _snippet_text(hit)
        room = PIPE_WIDTH - len(head) - 2
        yield (f"{head}  {_clip(snippet, room)}" if snippet and room >= 10 else head), None


def _terminal_rows(results: SearchResults, first_rank: int):
    width = shutil.get_terminal_size((100, 24)).columns
    rank_width = len(str(first_rank + len(results) - 1))
    yield f"{'#':>{rank_width}}  score     sim  type   path", "dim"
    for rank, hit in enumerate(results, first_rank):
        similarity = "" if hit.similarity is None else f"{hit.similarity:.3f}"
        prefix = f"{rank:>{rank_width}}  {hit.score:.3f}  {similarity:>6}  {hit.modality!s:<5}  "
        place = _place(hit)
        yield prefix + shown_path(hit.path) + (f"  {place}" if place else ""), None
        if snippet := _snippet_text(hit):
            indent = len(prefix) if width - len(prefix) >= 40 else 4
            lines = textwrap.wrap(snippet, width - indent - 1) or [""]
            if len(lines) > SNIPPET_LINES:
                lines = lines[: SNIPPET_LINES - 1] + [_clip(" ".join(lines[SNIPPET_LINES - 1 :]), width - indent - 1)]
            for line in lines:
                yield " " * indent + line, "dim"


def _place(hit) -> str:
    """Where in the file, and (collapsed duplicates) how many other files hold the same content."""
    others = f"+{len(hit.duplicates)} duplicate{'s' if len(hit.duplicates) > 1 else ''}" if hit.duplicates else ""
    return "  ".join(p for p in (hit_place(hit), others) if p)


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
    print_json({"version": JSON_VERSION, **report.to_dict()})


def status_json(status: IndexStatus) -> None:
    print_json({"version": JSON_VERSION, **status.to_dict()})


def index_summary(report: IndexReport, seen: str = "files") -> None:
    """`seen`: what was scanned, "files" (folders) or "rows" (a record manifest)."""
    state = "interrupted" if report.interrupted else "done"
    out.print(
        f"{state} in {report.seconds:.1f}s: {report.scanned} {seen} seen, {report.added} added, "
        f"{report.updated} updated, {report.moved} moved, {report.copied} duplicates, {report.deleted} deleted, "
        f"{report.unchanged} unchanged, {report.ignored} ignored, {report.failed} failed"
        + (f" ({report.known_failed} unchanged since they failed; --retry-failed)" if report.known_failed else "")
        + f" ({report.chunks} chunks)"
    )
    for problem in report.problems[:10]:
        err.print(f"[yellow]skipped[/yellow] {escape(shown_path(problem.path))}: {escape(problem.reason)}")
    for failure in report.errors[:10]:
        err.print(f"[red]error[/red] {escape(shown_path(failure.path))}: {escape(failure.reason)}")
    if len(report.errors) > 10:
        err.print(f"… and {len(report.errors) - 10} more errors (see `anyseek status`)")
    for warning in report.warnings[:10]:
        err.print(f"[yellow]warning[/yellow] {escape(shown_path(warning.path))}: {escape(warning.reason)}")
    if len(report.warnings) > 10:
        err.print(f"… and {len(report.warnings) - 10} more warnings (see `anyseek index --json`)")


def vector_index_line(index: dict) -> str:
    """ "ivf-pq-refine, 10000000 vectors, 81 B/vector in RAM, 1104 on disk, recall@10 0.962 (nprobe 16, refine 8)"."""
    recall = index.get("recall")
    measured = f"recall@10 {recall:.3f}" if recall is not None else "recall not measured yet"
    knobs = ", ".join(f"{k} {index[k]}" for k in ("nprobe", "refine") if index.get(k))
    return (
        f"{index['kind']}, {index['vectors']} vectors, {index['ram_bytes_per_vector']:.0f} B/vector in RAM, "
        f"{index['disk_bytes_per_vector']:.0f} on disk, {measured}" + (f" ({knobs})" if knobs else "")
    )


def run_line(run: dict) -> str:
    """`index completed 2026-11-27 23:10: 18 added, …` or, for a refused or failed run, its one-line reason."""
    when = iso_time(run.get("finished_at") or run.get("started_at"))
    head = f"{run['command']} {run['status']}" + (f" {when[:16].replace('T', ' ')} UTC" if when else "")
    if run.get("reason"):
        return f"{head}: {run['reason']}"
    stats = run.get("stats") or {}
    counts = ", ".join(f"{stats[name]} {name}" for name in ("added", "updated", "deleted", "failed") if stats.get(name))
    return f"{head}: {counts or 'nothing changed'}, {stats.get('seconds', 0):.1f}s"


def status_rows(status: IndexStatus) -> list[tuple[str, str]]:
    rows = [
        ("index", shown_path(status.home)),
        ("items", ", ".join(f"{n} {m}" for m, n in sorted(status.items.items())) or "none"),
        ("chunks", ", ".join(f"{n} {k}" for k, n in sorted(status.chunks.items())) or "none"),
        ("vectors", ", ".join(f"{n} {s}" for s, n in sorted(status.vectors.items())) or "none"),
        ("errors", f"{status.errors} files" + (f", {status.ignored} ignored" if status.ignored else "")),
        ("size", f"{status.disk_bytes / 2**20:.1f} MiB"),
    ]
    rows += [(f"{space} index", vector_index_line(index)) for space, index in sorted(status.vector_indexes.items())]
    for role, fingerprint in sorted(status.fingerprints.items()):
        dim = f", {fingerprint['dim']}-d" if fingerprint.get("dim") else ""
        rows.append(
            (f"{role} model", f"{fingerprint['model']} ({fingerprint['source']}{dim}, {fingerprint['library']})")
        )
    for name, value in status.models.items():
        if name.replace("_model", "") not in status.fingerprints and name != "joint_pretrained":
            rows.append((name, f"{value} (not loaded yet)"))
    if run := status.last_run:
        rows.append(("last run", run_line(run)))
    completed = status.last_completed_run
    if completed and run and completed.get("started_at") != run.get("started_at"):
        rows.append(("last completed", run_line(completed)))
    rows.append(("settings", ", ".join(f"{k}={v}" for k, v in status.settings.items() if v is not None)))
    return rows


def status_table(status: IndexStatus) -> None:
    """A terminal gets a table that fits its width; a pipe gets `label  value` lines, none padded."""
    rows = status_rows(status)
    if sys.stdout.isatty():
        table = Table(show_header=False, show_edge=False, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in rows:
            table.add_row(label, escape(value))
        out.print(table)
    else:
        label_width = max(len(label) for label, _ in rows) + 2
        for label, value in rows:
            out.print(f"{label:<{label_width}}{value}", markup=False, soft_wrap=True)
    for failure in status.first_errors:
        err.print(f"[red]error[/red] {escape(shown_path(failure.path))}: {escape(failure.reason)}")
