"""`anyseek classify` and `anyseek align`: parse, call the Engine, print. The classifying lives in
engine/classify/. (No `from __future__ import annotations`: typer reads the options' annotations, and
the per-command --index option is the caller's, not a name of this module.)"""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from anyseek.cli import render

ERRORS_SHOWN = 10


def register(app: typer.Typer, friendly, open_engine, index_option) -> None:
    """Add `classify` and `align`; `friendly`, `open_engine` and `index_option` are the app's error wrapper,
    index opener and per-command --index option."""

    @app.command()
    @friendly
    def classify(
        records: Annotated[Path, typer.Argument(help="A JSONL or CSV manifest of records to classify.")],
        labels: Annotated[
            str | None, typer.Option("--labels", help='Zero-shot labels, "a,b,c". Without: few-shot from examples.')
        ] = None,
        examples: Annotated[
            Path | None,
            typer.Option(
                "--examples", help="A labelled manifest to learn from (default: the index's labelled records)."
            ),
        ] = None,
        fusion: Annotated[
            str | None, typer.Option("--fusion", help="early or late (default: the record_fusion setting).")
        ] = None,
        weights: Annotated[
            str | None,
            typer.Option("--weights", help="Field weights, e.g. caption=0.3,picture=0.7 (0 leaves a field out)."),
        ] = None,
        join: Annotated[str | None, typer.Option("--join", help="Late fusion's join: sum, max or mean.")] = None,
        label_field: Annotated[
            str, typer.Option("--label-field", help="The field that holds a record's label.")
        ] = "label",
        top: Annotated[int | None, typer.Option("--top", min=1, help="Labels listed per record, best first.")] = None,
        json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        index_dir: index_option = None,
    ) -> None:
        """Classify records: zero-shot with --labels, else few-shot from labelled examples. Probabilities are
        calibrated; nothing is added to the index."""
        with open_engine(create=False) as engine:
            result = engine.classify(
                records, labels, examples, fusion, join=join, weights=weights, label_field=label_field, top=top
            )
        problems(result.errors, result.warnings)
        if json:
            render.print_json(result.to_dict())
            return
        table = Table(show_edge=False, pad_edge=False)
        for column in ("id", "label", "probability", "runner-up"):
            table.add_column(column, justify="right" if column == "probability" else "left", overflow="fold")
        for p in result.predictions:
            rest = [f"{label} {prob:.2f}" for label, prob in p.scores.items() if label != p.label][
                : max(1, (top or 2) - 1)
            ]
            table.add_row(escape(p.id), escape(p.label), f"{p.probability:.2f}", escape(", ".join(rest)))
        render.out.print(table)
        fitted = f", fitted on {result.examples} examples" if result.method == "few-shot" else ""
        render.err.print(
            f"{len(result.predictions)} records, {result.method} ({result.fusion} fusion{fitted}), "
            f"{len(result.labels)} labels",
            markup=False,
        )

    @app.command()
    @friendly
    def align(
        records: Annotated[
            Path,
            typer.Argument(help="A record manifest, or training pairs (.csv/.jsonl of image,text, or a folder)."),
        ],
        threshold: Annotated[
            float | None,
            typer.Option("--threshold", min=0.0, max=1.0, help="Flag agreement below this (default 0.1)."),
        ] = None,
        label_field: Annotated[
            str, typer.Option("--label-field", help="The field that holds a record's label.")
        ] = "label",
        flagged_only: Annotated[bool, typer.Option("--flagged", help="List only the flagged records.")] = False,
        json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        index_dir: index_option = None,
    ) -> None:
        """Score how well each record's parts agree (an image and its caption: their joint-space similarity,
        calibrated against mismatched pairs of the same file) and flag the outliers."""
        with open_engine(create=False) as engine:
            report = engine.align(records, threshold, label_field=label_field)
        problems(report.errors, report.warnings)
        if json:
            render.print_json(report.to_dict())
            return
        table = Table(show_edge=False, pad_edge=False)
        for column in ("id", "agreement", "flagged", "parts"):
            table.add_column(column, justify="right" if column == "agreement" else "left", overflow="fold")
        for r in report.records:
            if flagged_only and not r.flagged:
                continue
            agreement = "" if r.agreement is None else f"{r.agreement:.2f}"
            table.add_row(escape(r.id), agreement, "yes" if r.flagged else "", escape(r.summary))
        render.out.print(table)
        render.err.print(
            f"{len(report.flagged)} of {len(report.records)} records flagged (agreement < {report.threshold:g})",
            markup=False,
        )


def problems(errors, warnings) -> None:
    """Rows left out and doubtful values, one line each, on stderr (the first few)."""
    render.warnings(warnings[:ERRORS_SHOWN])
    for message in errors[:ERRORS_SHOWN]:
        render.err.print(f"[red]error[/red] {escape(message)}")
    if len(errors) > ERRORS_SHOWN:
        render.err.print(f"… and {len(errors) - ERRORS_SHOWN} more errors", markup=False)
