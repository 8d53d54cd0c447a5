"""Parse-time checks of option values: the engine's own argument checks, run while the command line is
parsed, so the CLI and the API give the same message and a bad value is a usage error (exit status 2) found
before any index is opened."""

from __future__ import annotations

import typer


def as_parameter_error(check):
    """Run an engine argument check at parse time, so the CLI and the API give the same message; from
    the CLI it is a usage error (exit status 2), found before any index is opened."""

    def callback(value):
        from anyseek.engine.errors import ConfigError, QueryError

        if value is None:
            return value
        try:
            return check(value)
        except (QueryError, ConfigError) as exc:
            raise typer.BadParameter(str(exc)) from None

    return callback


def date(name: str):
    """A capture date (--after, --before); click already names the option, so the message does not."""

    def check(value: str) -> str:
        from anyseek.engine.dates import to_epoch
        from anyseek.engine.errors import QueryError

        try:
            to_epoch(value, name)
        except QueryError as exc:
            raise QueryError(str(exc).removeprefix(f"{name}: ")) from None
        return value

    return check


def mode(value: str) -> str:
    from anyseek.engine.arguments import check_mode

    return check_mode(value)


def text_spaces(value: str) -> str:
    from anyseek.engine.settings import normalize_text_spaces

    return normalize_text_spaces(value)


def check_min_similarity(value: float) -> float:
    from anyseek.engine.arguments import check_min_similarity as check

    return check(value)


def types(values: list[str]) -> list[str]:
    from anyseek.engine.arguments import parse_modalities

    return [m.value for m in parse_modalities(values)]


def query_files(what: str):
    def check(value):
        from anyseek.engine.arguments import check_query_file

        if isinstance(value, list):
            return [check_query_file(v, what) for v in value]
        return check_query_file(value, what)

    return check
