"""How usage errors and help read: typer's click, an unknown option's message, and where the default index
is, said by `anyseek -h`."""

from __future__ import annotations

import difflib
import importlib
import sys


def click_module(module: str):
    """A module of typer's click: typer vendors its own copy from 0.26 on, older typer uses click itself."""
    try:
        return importlib.import_module(f"typer._click.{module}")
    except ImportError:  # pragma: no cover - older typer with click itself
        return importlib.import_module(f"click.{module}")


def unknown_option(exc) -> str:
    """click suggests every option within a loose distance, dashes included (`--sort` -> `--json`); only a
    near spelling of the same word is a useful suggestion (`--limt` -> `--limit`)."""
    names = {option.lstrip("-"): option for option in exc.possibilities or ()}
    close = difflib.get_close_matches(exc.option_name.lstrip("-"), list(names), n=1, cutoff=0.75)
    return f"No such option: {exc.option_name}" + (f" (did you mean {names[close[0]]}?)" if close else "")


def help_epilog() -> str | None:
    """`anyseek -h` says where the default index is (computed only when help is asked for)."""
    if len(sys.argv) > 1 and not {"-h", "--help"} & set(sys.argv[1:2]):
        return None
    from anyseek.engine.settings import default_home

    return f"The default index is {default_home()} (set ANYSEEK_HOME, or give --index DIR, for another)."
