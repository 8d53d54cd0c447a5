"""Parse-time checks of option values: the engine's own checks (most of them the SearchRequest's,
engine/request.py), run while the command line is parsed, so the CLI and the API give the same message and
a bad value is a usage error (exit status 2) found before any index is opened."""

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


def request_check(name: str):
    """The SearchRequest's own check of one option, run on the option alone."""

    def check(value):
        from anyseek.engine.request import SearchRequest

        return getattr(SearchRequest(**{name: value}), name)

    return check


def modalities(values: list[str]) -> list[str]:
    return [m.value for m in request_check("modalities")(values)]


def mode(value: str) -> str:
    return request_check("mode")(value).value


def date(name: str):
    """A capture date (--after, --before); click already names the option, so the message does not."""

    def check(value: str) -> str:
        from anyseek.engine.errors import QueryError

        try:
            return request_check(name)(value)
        except QueryError as exc:
            raise QueryError(str(exc).removeprefix(f"{name}: ")) from None

    return check


def text_spaces(value: str) -> str:
    from anyseek.engine.settings import normalize_text_spaces

    return normalize_text_spaces(value)


def query_files(what: str):
    def check(value):
        from anyseek.engine.request import check_query_file

        if isinstance(value, list):
            return [check_query_file(v, what) for v in value]
        return check_query_file(value, what)

    return check
