"""The record options that `index`, `search` and `classify` share (--records, --label-field, --fusion,
--join, --weights), as typer annotations: one wording and one check for every command that takes them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _weights(value: str | None) -> str | None:
    """Checked at parse time, so the CLI and the API give the same message; a usage error (exit status 2)."""
    from anyseek.engine.errors import QueryError
    from anyseek.engine.request import format_weights, parse_weights

    if value is None:
        return value
    try:
        return format_weights(parse_weights(value))
    except QueryError as exc:
        raise typer.BadParameter(str(exc)) from None


Records = Annotated[
    Path | None,
    typer.Option(
        "--records",
        help="A record manifest (JSONL or CSV, one record per row with a unique id) to index instead of folders; "
        "see docs/record-collections.md.",
    ),
]
LabelField = Annotated[str, typer.Option("--label-field", help="Records: the field that holds a record's class.")]
Fusion = Annotated[
    str | None,
    typer.Option(
        "--fusion", help="Records: early (one fused vector) or late (each part scored, then joined) [setting]."
    ),
]
Join = Annotated[
    str | None, typer.Option("--join", help="Records, late fusion: sum (probabilistic), max or mean [setting].")
]
Weights = Annotated[
    str | None,
    typer.Option(
        "--weights",
        callback=_weights,
        help="Records: field weights, e.g. caption=0.3,picture=0.7 (unnamed fields weigh 1; 0 leaves one out).",
    ),
]
