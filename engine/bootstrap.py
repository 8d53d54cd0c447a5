"""The one place that builds an Engine's parts: settings, store, models, vector catalog, index writer,
searcher, decoder and indexer.

The Engine (facade.py) is handed its parts and builds none of them, so the layers below it stay apart:
nothing else in engine/ imports the indexer (indexer/) or the concrete decoders (media/), and the engine's
modules are written against the Protocols of engine/contracts.py. tests/test_architecture.py holds this.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import OperationalError

from anyseek.engine import privacy
from anyseek.engine.contracts import Decoder, Encoders, Indexer
from anyseek.engine.encoders import EncoderSet, Fingerprint
from anyseek.engine.errors import IndexNotFoundError, ModelMismatchError, StorageError
from anyseek.engine.index_models import ModelRecorder, resolve_specs, resolve_text_spaces, stored_dims
from anyseek.engine.search.searcher import Searcher
from anyseek.engine.settings import ModelSpecs, Settings, default_home, load_settings
from anyseek.engine.store.database import DB_FILE, is_writable
from anyseek.engine.store.new_folder import NewIndexFolder
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog
from anyseek.engine.writer import IndexWriter
from anyseek.indexer.pipeline import Indexer as FileIndexer
from anyseek.media.decoder import MediaDecoder


@dataclass(frozen=True, slots=True)
class Parts:
    """Everything an Engine works with, wired for one index directory."""

    home: Path
    settings: Settings  # with the index's own text_spaces
    specs: ModelSpecs  # the index's models
    store: Store
    catalog: VectorCatalog
    writer: IndexWriter
    encoders: Encoders
    on_model_load: Callable[[Fingerprint], None]  # what the encoders report each loaded model to
    decoder: Decoder
    searcher: Searcher
    indexer: Indexer
    new_folder: NewIndexFolder | None = None  # what open_index created for a new index (see close)


def open_index(
    path: str | os.PathLike | None,
    *,
    create: bool,
    encoders: Encoders | None,
    config_file: str | os.PathLike | None,
    overrides: dict,
) -> Parts:
    """The parts for the index at `path` (see Engine.open), creating it if `create`."""
    home = Path(path).expanduser() if path else default_home()
    privacy.check_readable(home, DB_FILE)  # another user's index: one clear line, before anything reads it
    settings = load_settings(home, overrides, Path(config_file).expanduser() if config_file else None)
    new_folder = None
    new = not (home / DB_FILE).exists()
    if new:
        if not create:
            raise IndexNotFoundError(f"no index at {home}; create one with `anyseek index FOLDER`")
        new_folder = NewIndexFolder.make(home)
    store = _open_store(home)
    try:
        privacy.secure_on_open(home, writable=not store.read_only, new=new)
        store.initialize()
        if not create and store.get_meta("models") is None:
            # a writer created the file a moment ago and has not loaded a model yet (or its first run
            # could not load one): nothing is searchable, and this reader must not pick the models
            raise IndexNotFoundError(
                f"the index at {home} holds nothing searchable yet (being created, or its first run could "
                f"not load a model); try again in a moment, or run `anyseek index FOLDER`"
            )
        return dataclasses.replace(wire(home, settings, store, encoders), new_folder=new_folder)
    except BaseException:
        store.close()
        raise


def reopen(parts: Parts) -> Parts:
    """Parts on the same index sharing `parts`' loaded models, with their own store connection and vector
    catalog (see Engine.twin)."""
    store = Store(parts.home / DB_FILE)
    try:
        return wire(parts.home, parts.settings, store, parts.encoders)
    except BaseException:
        store.close()
        raise


def wire(home: Path, settings: Settings, store: Store, encoders: Encoders | None = None) -> Parts:
    """Build the parts around an open store: the index's models and text spaces are its own (see
    engine/index_models.py); `encoders` already loaded (shared by several indexes, or tests) must be them."""
    specs = resolve_specs(store, home, settings, encoders.specs if encoders is not None else ModelSpecs())
    settings = settings.model_copy(update={"text_spaces": resolve_text_spaces(store, home, settings)})
    budget = settings.vector_memory_mb * 2**20 or None  # 0: automatic, from the machine's RAM
    catalog = VectorCatalog(
        home, store, stored_dims(store), memory_budget_bytes=budget, recall_target=settings.ann_recall
    )
    recorder = ModelRecorder(store, specs, catalog)
    if encoders is None:
        encoders = EncoderSet(specs, settings, on_load=recorder)
    elif encoders.specs != specs:
        raise ModelMismatchError(f"the given encoders use {encoders.specs}, the index at {home} uses {specs}")
    else:
        encoders.attach(recorder)
    decoder = MediaDecoder(settings.max_image_pixels, settings.max_audio_seconds, settings.jpeg_draft)
    writer = IndexWriter(store, catalog)
    return Parts(
        home=home,
        settings=settings,
        specs=specs,
        store=store,
        catalog=catalog,
        writer=writer,
        encoders=encoders,
        on_model_load=recorder,
        decoder=decoder,
        searcher=Searcher(store, catalog, encoders, settings, decoder),
        indexer=FileIndexer(writer, encoders, settings, home),
    )


def _open_store(home: Path) -> Store:
    """A database this process cannot write (a read-only share, a mounted backup) opens for reading."""
    path = home / DB_FILE
    store = Store(path, read_only=path.exists() and not is_writable(path))
    if not store.read_only:
        try:
            with store.engine.connect():
                pass
        except OperationalError as exc:
            store.close()
            raise StorageError(f"cannot open the index at {home}: {exc.orig}") from None
    return store
