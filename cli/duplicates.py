"""`anyseek duplicates`: groups of duplicate files with the suggested keeper. Parses, calls
Engine.duplicates, prints (a table, JSON, or the non-keepers' paths). Nothing is deleted: anyseek prints
what a script can act on."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from anyseek.cli import render
from anyseek.cli.progress import IndexProgress


def register(app: typer.Typer, friendly, open_engine) -> None:
    """Add the `duplicates` command; `friendly` and `open_engine` are the app's error wrapper and opener."""

    @app.command("duplicates")
    @friendly
    def duplicates(
        similar: Annotated[
            bool, typer.Option("--similar", help="Also bursts: distinct shots close in content and capture time.")
        ] = False,
        tier: Annotated[
            list[str] | None, typer.Option("--tier", help="Only exact, duplicate or similar groups (repeatable).")
        ] = None,
        types: Annotated[
            list[str] | None, typer.Option("--type", "-t", help="Only image, text, audio or video (repeatable).")
        ] = None,
        json: Annotated[bool, typer.Option("--json", help="Machine-readable output (version 1).")] = False,
        paths_only: Annotated[
            bool,
            typer.Option("--paths", "-f", help="Only the files other than each group's keeper, one per line."),
        ] = False,
    ) -> None:
        """Find duplicate files: the same bytes (exact), the same picture, text or recording re-encoded,
        resized, cropped or converted (duplicate) and, with --similar, bursts. Lists each group with its
        suggested keeper (largest picture, then most metadata, then oldest file) and the bytes the others
        take. Nothing is deleted or moved."""
        with open_engine(create=False) as engine:
            live = not (json or paths_only) and sys.stderr.isatty()
            with IndexProgress(live=live, quiet=True) as progress:  # a bar in a terminal, silence in a pipe
                report = engine.duplicates(similar=similar, tiers=tier, modalities=types or (), on_progress=progress)
        render.warnings(report.warnings)
        if paths_only:
            stream = sys.stdout.buffer
            for group in report.groups:
                for item in group.others:
                    stream.write(item.raw_path + b"\n")
            stream.flush()
        elif json:
            render.print_json(report.to_dict())
        else:
            _table(report)


def _table(report) -> None:
    if not report.groups:
        render.out.print(f"no duplicates among {report.files_compared} files")
        return
    table = Table(show_lines=False)
    for column in ("group", "kind", "tier", "similarity", "keep", "size", "path"):
        table.add_column(column, justify="right" if column in ("group", "similarity", "size") else "left")
    for number, group in enumerate(report.groups, 1):
        for item in group.items:
            first = item is group.items[0]
            table.add_row(
                str(number) if first else "",
                str(group.modality) if first else "",
                str(group.tier) if first else "",
                f"{group.similarity:.3f}" if first else "",
                "keep" if item.keep else "",
                _bytes(item.size),
                escape(item.path),
                end_section=item is group.items[-1],
            )
    render.out.print(table)
    render.out.print(
        f"{len(report.groups)} groups among {report.files_compared} files; "
        f"{_bytes(report.bytes_freed)} in files other than the keepers ({report.seconds:.1f} s)"
    )


def _bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
