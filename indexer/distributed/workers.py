"""What runs on the Ray workers: a task that decodes a shard of files, an actor that embeds it.

Both call the very steps of a run in one process: the task runs the pipeline's Preparer (hash, sniff,
extract) and the actor its EmbedBatch (transcribe, embed). Neither has the index's database: the driver
plans the run, checks moves and duplicates against SQLite when the shard comes back, and writes
(driver.py). This module imports no Ray, so its steps are tested in-process like the rest.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from anyseek.engine.encoders import EncoderSet
from anyseek.engine.encoders.base import Fingerprint
from anyseek.engine.records import Item, ItemStatus
from anyseek.engine.settings import ModelSpecs, Settings
from anyseek.engine.store.store import ItemWrite
from anyseek.indexer.batch import EmbedBatch, TextRewrite
from anyseek.indexer.extract import decode_image_here
from anyseek.indexer.extract.ocr import PictureReader
from anyseek.indexer.lazy_models import LazyJoint, LazyOcr, LazyWindow, ModelLoads
from anyseek.indexer.prepare import Outcome, Prepared, Preparer
from anyseek.media import file_warnings

# For tests only: while the file this names exists, a decode task kills its own worker process, as a crash
# would. An empty file is taken (removed) by the first task that sees it, so Ray's retry succeeds; a file
# that names a path crashes every task whose shard holds that path (a file that kills its decoder).
CRASH_HOOK = "ANYSEEK_TEST_RAY_CRASH_FILE"

# Stands for an indexed item of the same content: the worker knows the hash is indexed, the driver finds the
# item (a move it claims, or a duplicate it copies; driver.resolve_known).
KNOWN = Item(-1, b"", None, 0, 0, "", ItemStatus.OK, None, 0.0)


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """Everything a worker needs for one run, sent once (ray.put) and shared by its tasks."""

    specs: ModelSpecs
    settings: Settings
    reader_name: str | None  # the run's OCR reader (None: OCR off)
    missing: frozenset[str]  # content hashes of the items gone from their path (moves to claim)
    indexed: frozenset[str]  # content hashes of every indexed file (duplicates to copy)


class KnownHashes:
    """The Preparer's store and move claims, as a worker sees them: a snapshot of hashes. A file whose content
    is already indexed is not decoded; the driver decides what it is (a move or a copy)."""

    def __init__(self, context: WorkerContext) -> None:
        self.missing, self.indexed = context.missing, context.indexed

    def claim(self, content_hash: str) -> Item | None:
        return KNOWN if content_hash in self.missing else None

    def items_with_hash(self, content_hash: str) -> list[Item]:
        return [KNOWN] if content_hash in self.indexed else []


@functools.cache
def _encoders(specs: ModelSpecs, settings_json: str) -> EncoderSet:
    """One set of models per worker process, loaded on first use and kept for the next task."""
    return EncoderSet(specs, Settings.model_validate_json(settings_json))


def worker_encoders(specs: ModelSpecs, settings: Settings) -> EncoderSet:
    return _encoders(specs, settings.model_dump_json())


def _crash_if_asked(jobs: list[tuple]) -> None:
    marker = os.environ.get(CRASH_HOOK)
    if not marker or not os.path.exists(marker):
        return
    with open(marker, "rb") as fh:
        culprit = fh.read()
    if culprit:
        if any(entry.path == culprit for entry, _, _ in jobs):
            os._exit(3)
        return
    try:
        os.remove(marker)
    except FileNotFoundError:
        return  # another task took it
    os._exit(3)


def decode_shard(context: WorkerContext, jobs: list[tuple]) -> list[Prepared]:
    """Each (entry, previous, again) job decoded as the pipeline's decode threads do; a file's failure is
    its Prepared's error."""
    _crash_if_asked(jobs)
    file_warnings.install()
    encoders, settings = worker_encoders(context.specs, context.settings), context.settings
    loads = ModelLoads()
    joint = LazyJoint(encoders, loads)
    reader = None
    if context.reader_name:
        reader = PictureReader(LazyOcr(encoders, loads).get, context.reader_name, settings.ocr_timeout_s)
    known = KnownHashes(context)
    window = LazyWindow(encoders, settings.text_spaces, loads)
    images = functools.partial(decode_image_here, joint=joint)
    prepare = Preparer(known, joint, settings, known, window, images, reader)
    return [prepare(*job) for job in jobs]


@dataclass(slots=True)
class Shard:
    """A shard's files embedded: every file's Prepared (its pixels and samples dropped once embedded), the
    writes, updated paths and re-read pictures that EmbedBatch.embed made, and the models that made them."""

    prepared: list[Prepared]
    writes: list[ItemWrite] = field(default_factory=list)
    replaced: set[bytes] = field(default_factory=set)
    rereads: list[TextRewrite] = field(default_factory=list)
    models: list[Fingerprint] = field(default_factory=list)


class Embedder:
    """The embedding actor: the index's models, loaded once, on its GPU or its CPUs."""

    def __init__(self, specs: ModelSpecs, settings: Settings) -> None:
        self.encoders, self.settings = worker_encoders(specs, settings), settings

    def embed(self, prepared: list[Prepared]) -> Shard:
        batch = EmbedBatch(self.encoders, self.settings)
        for item in prepared:
            if item.outcome in (Outcome.EXTRACTED, Outcome.REREAD) and item.extracted is not None:
                batch.add(item)
        shard = Shard(prepared)
        if batch:
            shard.writes, shard.replaced, shard.rereads = batch.embed()
        shard.models = self.encoders.loaded()
        return shard
