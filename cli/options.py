"""What several commands share: the global options' state and the option types of the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer


@dataclass(slots=True)
class CliState:
    """The global options, set by the callback before any command runs (one process, one invocation)."""

    index: Path | None = None
    config: Path | None = None
    debug: bool = False


STATE = CliState()


def _command_index(value: Path | None) -> Path | None:
    """`--index` is accepted after the command too (`anyseek search --index DIR red`); there it wins."""
    if value is not None:
        STATE.index = value
    return value


Device = Annotated[str | None, typer.Option(help="auto, cpu or cuda[:N]")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output (see docs/cli.md, JSON output).")]
IndexDir = Annotated[
    Path | None,
    typer.Option(
        "--index",
        callback=_command_index,
        readable=False,  # another user's (private) index: the engine says whose it is, not "not readable"
        help="Index directory (also accepted before the command).",
    ),
]
NoServer = Annotated[
    bool,
    typer.Option(
        "--no-server", help="Work in-process even when `anyseek serve` runs on this index (env ANYSEEK_NO_SERVER=1)."
    ),
]
