"""The JSON form of the records, declared once, with each record's fields.

A record's fields travel as JSON under their own names. A field that travels otherwise says so in its
`wire(...)` metadata: another key, a conversion each way, left out while empty, rounded for people, or not
sent at all. From that one declaration come a record's `to_dict` (the CLI's --json, the HTTP answers),
its `from_dict` (the CLI reading a server's answer) and the server's response models and OpenAPI schema
(server/models.py). A field added to a record reaches all of them with no other edit.

Standard library only: the CLI imports this to talk to a server, and must start in milliseconds.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple


class Wire:
    """How one field travels as JSON, where it does not travel as itself. A plain class, not a dataclass:
    this module is imported by every CLI start, and a dataclass costs about a millisecond to create."""

    __slots__ = ("key", "out", "back", "json_type", "sparse", "digits", "skip", "flatten", "ge", "le", "doc")

    def __init__(
        self,
        *,
        key: str | None = None,  # the JSON key, where it is not the field's name
        out: Callable[[Any], Any] | None = None,  # the field's value -> its JSON value
        back: Callable[[Any, dict], Any] | None = None,  # (JSON value or None, the whole object) -> the value
        json_type: Any = None,  # the JSON value's type (for the schema), where `out` changes it
        sparse: bool = False,  # left out while empty; a schema gives it its empty value as default
        digits: int | None = None,  # rounded to this many digits for people (to_dict), exact for programs
        skip: bool = False,  # not sent (a PIL image; what only the indexer needs); from_dict gives its default
        flatten: bool = False,  # a record whose fields join this one's (ItemInfo's item)
        ge: float | None = None,  # a number's bounds: checked where the record is made, stated in the schema
        le: float | None = None,
        doc: str | None = None,  # what it means, for the schema's readers
    ) -> None:
        self.key, self.out, self.back, self.json_type = key, out, back, json_type
        self.sparse, self.digits, self.skip, self.flatten = sparse, digits, skip, flatten
        self.ge, self.le, self.doc = ge, le, doc


PLAIN = Wire()


def wire(**spec: Any) -> dict[str, Wire]:
    """Field metadata: `field(default=None, metadata=wire(key="item_id"))`."""
    return {"wire": Wire(**spec)}


def spec_of(field: dataclasses.Field) -> Wire:
    return field.metadata.get("wire", PLAIN)


def to_json(record: Any, *, exact: bool = False) -> dict[str, Any]:
    """The record as JSON values. `exact`: scores at full precision, for a program that reads them back
    (the HTTP API: the CLI then prints exactly what the engine computed); else rounded for people."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(record):
        spec = spec_of(field)
        if spec.skip:
            continue
        value = getattr(record, field.name)
        if spec.flatten:
            out.update(to_json(value, exact=exact))
            continue
        if spec.out is not None:
            value = spec.out(value)
        if spec.sparse and _empty(value):
            continue
        value = plain(value, exact)
        if spec.digits is not None and value is not None and not exact:
            value = round(value, spec.digits)
        out[spec.key or field.name] = value
    return out


def plain(value: Any, exact: bool = False) -> Any:
    """A value as JSON holds it: enums by value, records as objects, tuples as lists."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value, exact=exact)
    if isinstance(value, list | tuple):
        return [plain(item, exact) for item in value]
    if isinstance(value, dict):
        return {plain(key): plain(item, exact) for key, item in value.items()}
    return value


def from_json(kind: type, data: dict[str, Any]) -> Any:
    """The record of type `kind` that `to_json` wrote (exact or not): the inverse, with every field's
    declared conversion undone and nested records rebuilt. Keys it does not know are ignored (a newer
    server may send more); a key that is missing takes the field's default."""
    hints = type_hints(kind)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(kind):
        spec = spec_of(field)
        if spec.skip or not field.init:
            continue
        if spec.flatten:
            values[field.name] = from_json(hints[field.name], data)
            continue
        key = spec.key or field.name
        if spec.back is not None:
            values[field.name] = spec.back(data.get(key), data)
        elif key in data:
            values[field.name] = decode(hints[field.name], data[key])
    return kind(**values)


def decode(hint: Any, value: Any) -> Any:
    """A JSON value as the Python type `hint` names (records, enums, tuples of them, optionals)."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return decode(next(arg for arg in args if arg is not type(None)), value)
    if origin is tuple:
        return tuple(decode(args[0], item) for item in value)
    if origin is list:
        return [decode(args[0], item) for item in value]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    return value


class JsonField(NamedTuple):
    """One key of a record's JSON form, for a schema: its Python type and its default."""

    key: str
    hint: Any
    default: Any  # a JSON value, or MISSING: then `factory` makes it, or there is no default
    spec: Wire
    factory: Callable[[], Any] | None = None


def json_fields(kind: type) -> Iterator[JsonField]:
    hints = type_hints(kind)
    for field in dataclasses.fields(kind):
        spec = spec_of(field)
        if spec.skip:
            continue
        if spec.flatten:
            yield from json_fields(hints[field.name])
            continue
        hint = spec.json_type if spec.json_type is not None else hints[field.name]
        default, factory = field.default, None
        if spec.sparse:
            default = [] if typing.get_origin(hint) in (tuple, list) else None
        elif default is not dataclasses.MISSING:
            default = plain(spec.out(default) if spec.out else default)
        elif field.default_factory is not dataclasses.MISSING:
            factory = functools.partial(_made, field.default_factory, spec)
        yield JsonField(spec.key or field.name, hint, default, spec, factory)


@functools.cache
def type_hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _made(factory: Callable[[], Any], spec: Wire) -> Any:
    value = factory()
    return plain(spec.out(value) if spec.out else value)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, tuple | list | dict | bytes | str) and not value)


class Record:
    """The JSON methods of a record (mixed into the frozen, slotted dataclasses of engine/records.py)."""

    __slots__ = ()

    def to_dict(self, *, exact: bool = False) -> dict[str, Any]:
        return to_json(self, exact=exact)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        return from_json(cls, data)

    def as_dict(self) -> dict[str, Any]:
        """Deprecated (0.2): `to_dict`, the one name every record uses."""
        warnings.warn(f"{type(self).__name__}.as_dict() is deprecated; use to_dict()", DeprecationWarning, 2)
        return self.to_dict()
