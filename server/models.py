"""The HTTP API's models, derived from the engine's records: a record's JSON form (engine/wire.py) is its
schema. So the OpenAPI document, the server's answers and the CLI's reading of them (`Hit.from_dict`)
come from one declaration and cannot drift apart; a field added to a record appears in all three."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model

from anyseek.engine.wire import json_fields

# name -> (type, default); `...` as default: required
Extra = dict[str, tuple[Any, Any]]


@functools.cache
def model_of(record: type) -> type[BaseModel]:
    """The model of a record's JSON form, named as the record (one schema component per record)."""
    return derive(record, record.__name__)


def derive(
    record: type,
    name: str,
    *,
    head: Extra | None = None,
    tail: Extra | None = None,
    exclude: frozenset[str] = frozenset(),
    replace: Extra | None = None,
    limits: dict[str, dict[str, Any]] | None = None,
    defaults: dict[str, Any] | None = None,
    base: type[BaseModel] | None = None,
) -> type[BaseModel]:
    """A model of the record's JSON form. What only the HTTP API adds is given here: `head` keys before
    the record's and `tail` keys after them (links, timings), keys it does not send (`exclude`) or types
    otherwise (`replace`), and for a request body its own `limits` (constraints on top of the record's
    bounds) and `defaults`."""
    fields: dict[str, Any] = dict(head or {})
    for found in json_fields(record):
        if found.key in exclude:
            continue
        if replace and found.key in replace:
            fields[found.key] = replace[found.key]
            continue
        bounds = {k: v for k, v in (("ge", found.spec.ge), ("le", found.spec.le)) if v is not None}
        hint = constrained(json_type(found.hint), bounds | (limits or {}).get(found.key, {}))
        default = (defaults or {}).get(found.key, found.default)
        if default is dataclasses.MISSING and found.factory is not None:
            default = Field(default_factory=found.factory, description=found.spec.doc)
        elif default is dataclasses.MISSING:
            default = Field(..., description=found.spec.doc)
        else:  # a JSON value (wire.json_fields): validated, so an enum's default is the enum, as a given value is
            default = Field(default, description=found.spec.doc, validate_default=True)
        fields[found.key] = (hint, default)
    fields.update(tail or {})
    return create_model(name, __base__=base, **fields)


def constrained(hint: Any, constraints: dict[str, Any]) -> Any:
    """`hint` with the constraints on its value (on the value's type of an optional: None stays None)."""
    if not constraints:
        return hint
    if typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in typing.get_args(hint):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return typing.Union[(*(Annotated[arg, Field(**constraints)] for arg in inner), None)]  # noqa: UP007
    return Annotated[hint, Field(**constraints)]


def json_type(hint: Any) -> Any:
    """The type a pydantic model gives a record field's JSON value: records become their models, tuples
    lists, `object` anything."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return typing.Union[tuple(json_type(arg) for arg in args)]  # noqa: UP007 - built from a tuple
    if origin in (tuple, list):
        return list[json_type(args[0])]
    if origin is dict:
        return dict[args[0], json_type(args[1])]
    if hint is object:
        return Any
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return model_of(hint)
    return hint
