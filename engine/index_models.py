"""The models of an index: chosen once, recorded in the index's metadata, and checked on every load.

An index holds vectors from particular models; searching it with other ones would compare unrelated
vectors. So the models (and the spaces text goes into) are stored with the index the first time they load,
and a later open takes the stored ones, refuses conflicting requests, and refuses a model whose vectors
changed shape.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from anyseek.engine.encoders.base import Fingerprint
from anyseek.engine.errors import ModelMismatchError
from anyseek.engine.records import Space
from anyseek.engine.settings import (
    DEFAULT_TEXT_SPACES,
    MODEL_FIELDS,
    ModelSpecs,
    Settings,
    TextSpaces,
    normalize_text_spaces,
)
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog

SPACE_OF_ROLE = {"joint": Space.JOINT, "text": Space.TEXT}


def canonical_model(name: str) -> str:
    """A model given as a local path is stored absolute, so the index works from any directory."""
    path = Path(name).expanduser()
    return str(path.resolve()) if name and path.exists() else name


def stored_dims(store: Store) -> dict[Space, int]:
    """The vector size of each space whose model has written to the index."""
    fingerprints = store.get_meta("fingerprints", {})
    return {SPACE_OF_ROLE[r]: int(f["dim"]) for r, f in fingerprints.items() if r in SPACE_OF_ROLE}


def resolve_specs(store: Store, home: Path, settings: Settings, unrecorded: ModelSpecs) -> ModelSpecs:
    """The index's models where it has recorded them, else the requested ones, else `unrecorded` (the
    given encoders' models, or the defaults). A model is recorded once it has loaded (see ModelRecorder):
    a first run that could not load the default model (offline) leaves the index free to be retried with
    another, and a reader opening an index whose writer has loaded only some models so far takes its own
    for the others."""
    stored = store.get_meta("models") or {}
    requested = {name: canonical_model(value) for name, value in settings.requested_models().items()}
    for name, value in requested.items():
        if name in stored and stored[name] != value:
            raise ModelMismatchError(
                f"the index at {home} was built with {name}={stored.get(name)!r}, not {value!r}; "
                f"leave {name} unset to use the index's model, or build a new index with "
                f"`anyseek --index NEW_DIR index ...` (or delete {home} to rebuild it)"
            )
    recorded = {name: value for name, value in stored.items() if name in MODEL_FIELDS}
    return dataclasses.replace(unrecorded, **{**requested, **recorded})


def resolve_text_spaces(store: Store, home: Path, settings: Settings) -> TextSpaces:
    """Stored with the index like the models: passages embedded in one set of spaces cannot be searched
    as if they were in another. Indexes from before the setting existed hold text in both spaces. The
    metadata keeps the written form ("joint,text"), as it always has."""
    written = store.get_meta("text_spaces")
    stored = normalize_text_spaces(written) if written is not None else None
    requested = settings.text_spaces
    if stored is None:
        if store.counts()["vectors"]:
            stored = DEFAULT_TEXT_SPACES
        else:
            stored = requested or DEFAULT_TEXT_SPACES
            store.set_meta("text_spaces", str(stored))
    if requested and requested != stored:
        raise ModelMismatchError(
            f"the index at {home} holds text in text_spaces={str(stored)!r}, not {str(requested)!r}; "
            f"leave text_spaces unset to use the index's, or build a new index with "
            f"`anyseek --index NEW_DIR index ...`"
        )
    return stored


class ModelRecorder:
    """What every model reports to as it loads (EncoderSet.attach): the first load of a role records its
    fingerprint and model names in the index; a later one must give vectors of the same size."""

    def __init__(self, store: Store, specs: ModelSpecs, catalog: VectorCatalog) -> None:
        self.store, self.specs, self.catalog = store, specs, catalog

    def __call__(self, fingerprint: Fingerprint) -> None:
        fingerprints = self.store.get_meta("fingerprints", {})
        known = fingerprints.get(fingerprint.role)
        if known and (known["model"], known["dim"]) != (fingerprint.model, fingerprint.dim):
            raise ModelMismatchError(
                f"the {fingerprint.role} model now gives {fingerprint.dim}-d vectors but the index holds "
                f"{known['dim']}-d vectors from {known['model']}; rebuild the index in a new directory"
            )
        if known != fingerprint.as_dict():
            fingerprints[fingerprint.role] = fingerprint.as_dict()
            self.store.set_meta("fingerprints", fingerprints)
        self._record_model(fingerprint.role)
        if space := SPACE_OF_ROLE.get(fingerprint.role):
            self.catalog.dims[space] = fingerprint.dim

    def _record_model(self, role: str) -> None:
        stored = self.store.get_meta("models") or {}
        fields = {name: getattr(self.specs, name) for name in MODEL_FIELDS if name.startswith(f"{role}_")}
        if any(name not in stored for name in fields):
            self.store.set_meta("models", {**stored, **fields})
