"""The `text_spaces` setting's type: which embedding spaces hold an index's text chunks (passages, speech).

A set of `Space` that is written "joint,text" (its names sorted, comma-separated) wherever it is text: TOML,
the environment, the CLI, JSON and the index's metadata. Like a StrEnum member it also compares equal to
that written form, which was the setting's type before it became a set, so `settings.text_spaces == "text"`
keeps meaning what it meant.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from anyseek.engine.errors import ConfigError
from anyseek.engine.records import Space


class TextSpaces(frozenset):
    """frozenset[Space]; non-empty. Build one with `normalize_text_spaces` (or pydantic, from a string)."""

    expected = "'joint,text', 'text' or 'joint'"  # what a setting of this type must be, for error messages

    def __str__(self) -> str:
        return ",".join(sorted(space.value for space in self))

    def __repr__(self) -> str:
        return f"TextSpaces({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        return frozenset.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = frozenset.__hash__

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: Any):
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(_validate, serialization=core_schema.to_string_ser_schema())


def normalize_text_spaces(value: str | Iterable[str]) -> TextSpaces:
    """ "text, joint" or {Space.TEXT, Space.JOINT} -> TextSpaces; anything but a non-empty subset of the two
    spaces is refused."""
    names = value.split(",") if isinstance(value, str) else [str(name) for name in value]
    cleaned = {name.strip() for name in names if name.strip()}
    known = {space.value for space in Space}
    if not cleaned or cleaned - known:
        raise ConfigError(f"text_spaces must be {TextSpaces.expected}, got {_written(value)!r}")
    return TextSpaces(Space(name) for name in cleaned)


def _written(value: str | Iterable[str]) -> str:
    return value if isinstance(value, str) else ",".join(sorted(str(name) for name in value))


def _validate(value: Any) -> TextSpaces:
    if isinstance(value, TextSpaces):
        return value
    if not isinstance(value, str | set | frozenset | list | tuple):
        raise ValueError(f"must be {TextSpaces.expected}")
    try:
        return normalize_text_spaces(value)
    except ConfigError:
        raise ValueError(f"must be {TextSpaces.expected}") from None
