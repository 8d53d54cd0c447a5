"""The indexing run: scan -> plan -> decode workers -> batched encoders -> one writer.

Decoding runs in a thread pool (PIL, PyAV and hashing release the GIL) with a bounded number of files
in flight, so memory stays flat while the models in the main thread are never starved. Each batch of
files is committed in one transaction as soon as it is embedded, so an interrupted run keeps its work
and the next run resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

from anyseek.engine.errors import RootUnavailableError
from anyseek.engine.records import FileError, IndexReport, Item, Progress, display_path
from anyseek.engine.settings import Settings
from anyseek.engine.store.store import ItemWrite, Store
from anyseek.engine.vectors.catalog import VectorCatalog
from anyseek.indexer.batch import EmbedBatch
from anyseek.indexer.prepare import MoveClaims, Outcome, Prepared, Preparer
from anyseek.indexer.scan import FileEntry, ScanResult, normalize_root, scan
from anyseek.indexer.workers import DecodePool, DecodeTimeout

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


# Decode threads yield to the models when both share the CPU (see DecodePool); on a GPU the CPU is the
# decoders' own. bench/images.py measured it: see README, Benchmarks.
DECODE_NICE = 10


def check_roots(roots: list[bytes], scanned: ScanResult, known: dict[bytes, Item], prune: bool) -> None:
    """Refuse, before any write, a run that would read a missing or unmounted root as "all deleted":
    embeddings are the expensive part of an index, and a typo or an unplugged drive must not cost them."""
    for root in roots:
        shown = display_path(root)
        if reason := scanned.unavailable(root):
            raise RootUnavailableError(
                f"cannot read {shown}: {reason}; nothing was changed (a typo, or a drive that is not mounted? "
                f"to forget what the index holds there, use `anyseek remove {shown}`)"
            )
        if prune or not scanned.lists_nothing_under(root):
            continue
        held = sum(1 for item in _under(known, root) if item.status == "ok")
        if held:
            raise RootUnavailableError(
                f"{shown} lists no files but the index holds {held} item(s) under it; nothing was changed "
                f"(a drive that is not mounted? if the files really are gone, run again with --prune)"
            )


def _under(known: dict[bytes, Item], root: bytes) -> list[Item]:
    prefix = root.rstrip(b"/") + b"/"
    return [item for path, item in known.items() if path == root or path.startswith(prefix)]


class ModelLoads:
    """Counts model loads under way in the decode workers: a file's decode timer must not run while the
    worker that holds it waits for a model to load (seconds to a minute, once per run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loading = 0
        self.finished = 0

    def resolve(self, get):
        with self._lock:
            self.loading += 1
        try:
            return get()
        finally:
            with self._lock:
                self.loading -= 1
                self.finished += 1


class LazyJoint:
    """The joint model as the decode workers see it, loaded on first real use: a run whose files all fail
    to decode (or need no model) never pays for loading one. The input size comes from the model's config
    when it can, since a JPEG is decoded at reduced scale before the model is needed."""

    def __init__(self, encoders, loads: ModelLoads) -> None:
        self._encoders, self._loads = encoders, loads
        self._image_size: int | None = None
        self._model = None

    @property
    def image_size(self) -> int:
        if self._image_size is None:
            from anyseek.engine.encoders.joint import configured_image_size

            try:
                self._image_size = configured_image_size(self._encoders.specs.joint_model)
            except (OSError, ValueError, KeyError):
                self._image_size = None
            self._image_size = self._image_size or self._get().image_size
        return self._image_size

    def _get(self):
        if self._model is None:
            self._model = self._loads.resolve(lambda: self._encoders.joint)
        return self._model

    def __getattr__(self, name: str):
        return getattr(self._get(), name)


class LazyWindow:
    """The passage window's model, loaded when the first text needs cutting."""

    def __init__(self, encoders, text_spaces: str, loads: ModelLoads) -> None:
        self._encoders, self._text_spaces, self._loads = encoders, text_spaces, loads
        self._model = None

    def __getattr__(self, name: str):
        if self._model is None:
            self._model = self._loads.resolve(lambda: self._encoders.document_window(self._text_spaces))
        return getattr(self._model, name)


def decoder_versions() -> str:
    """What decides whether a file decodes: a failure recorded under other versions is tried again."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("anyseek", "pillow", "av"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} ?")
    return ", ".join(parts)


class Indexer:
    def __init__(self, store: Store, catalog: VectorCatalog, encoders, settings: Settings, home: Path) -> None:
        self.store, self.catalog, self.encoders, self.settings = store, catalog, encoders, settings
        self.home = home

    def run(
        self,
        paths: list[Path | str],
        on_progress: ProgressCallback | None = None,
        prune: bool = False,
        retry_failed: bool = False,
    ) -> IndexReport:
        """`prune`: a root that exists but lists no files really is empty, so what the index holds under it
        goes. Without it such a root is taken for an unmounted drive and the run refuses to change anything.
        `retry_failed`: decode again the files that failed before although they have not changed (they are
        retried anyway when anyseek or its decoders changed since)."""
        started = time.monotonic()
        report = IndexReport()
        progress = on_progress or (lambda _p: None)
        roots = [normalize_root(p) for p in paths]
        progress(Progress("scanning", 0, 0, 0))
        scanned = scan(roots, skip=[os.fsencode(self.home.resolve())])
        known = self.store.items_under(roots)
        check_roots(roots, scanned, known, prune)
        versions = decoder_versions()
        retry = retry_failed or self.store.get_meta("decoders") != versions
        todo, missing = self._plan(scanned, known, report, retry)
        claims = MoveClaims(missing)
        try:
            self._process(todo, claims, report, progress)
            if not report.interrupted:
                self._delete_missing([item for item in missing if item.id not in claims.claimed], report)
                self.store.set_meta("decoders", versions)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            progress(Progress("finishing", report.scanned, report.scanned, report.failed))
            self.catalog.save()
            report.seconds = time.monotonic() - started
        return report

    def _plan(self, scanned: ScanResult, known: dict[bytes, Item], report: IndexReport, retry: bool):
        report.scanned = len(scanned.files)
        report.problems = [FileError(display_path(p.path), p.reason, p.path) for p in scanned.problems if not p.is_file]
        self._record_scan_errors(scanned, known, report)
        seen = {entry.path for entry in scanned.files} | {p.path for p in scanned.problems}
        todo: list[tuple[FileEntry, Item | None]] = []
        for entry in scanned.files:
            previous = known.get(entry.path)
            unchanged = previous and previous.size == entry.size and previous.mtime_ns == entry.mtime_ns
            if unchanged and previous.status != "error":
                report.unchanged += 1
            elif unchanged and not retry:
                # failed before and unchanged since: it would fail again, so it costs nothing this time
                report.known_failed += 1
                report.failed += 1
                report.errors.append(FileError(display_path(entry.path), previous.error or "", entry.path))
            else:
                todo.append((entry, previous))
        shielded = tuple(d.rstrip(b"/") + b"/" for d in scanned.unreadable_dirs)
        missing = [item for path, item in known.items() if path not in seen and not path.startswith(shielded)]
        return todo, missing

    def _record_scan_errors(self, scanned: ScanResult, known: dict[bytes, Item], report: IndexReport) -> None:
        writes = [ItemWrite(p.path, 0, 0, "", None, error=p.reason) for p in scanned.problems if p.is_file]
        if writes:
            self.catalog.apply(self.store.write_items(writes))
            report.failed += len(writes)
            report.errors += [FileError(display_path(w.path), w.error or "", w.path) for w in writes]

    def _process(self, todo, claims: MoveClaims, report: IndexReport, progress: ProgressCallback) -> None:
        if not todo:
            return
        loads = ModelLoads()
        window = LazyWindow(self.encoders, self.settings.text_spaces, loads)
        prepare = Preparer(self.store, LazyJoint(self.encoders, loads), self.settings, claims, window)
        batch = EmbedBatch(self.encoders, self.settings)
        nice = DECODE_NICE if self.encoders.device == "cpu" else 0
        pool = DecodePool(self.settings.workers, self.settings.file_timeout_s, nice)
        jobs = iter(todo)
        in_flight: dict[Future, tuple[FileEntry, Item | None]] = {}
        last_save, done, loads_seen = time.monotonic(), 0, 0
        try:
            while True:
                while len(in_flight) < self.settings.queue_size and (job := next(jobs, None)):
                    in_flight[pool.submit(prepare, *job)] = job
                if not in_flight:
                    break
                wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                if loads.loading or loads.finished != loads_seen:
                    pool.restart_clocks()  # waiting for a model is not decoding
                    loads_seen = loads.finished
                else:
                    pool.reap_overdue()
                for future in [f for f in in_flight if f.done()]:
                    prepared = self._outcome(future, *in_flight.pop(future))
                    self._handle(prepared, batch, report)
                    done += 1
                    progress(Progress("indexing", len(todo), done, report.failed, display_path(prepared.entry.path)))
                if batch.ready() or (batch and not in_flight):
                    self._commit(batch, report)
                if time.monotonic() - last_save > self.settings.save_interval_s:
                    self.catalog.save()
                    last_save = time.monotonic()
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            pool.shutdown()
        if batch and not report.interrupted:
            self._commit(batch, report)

    @staticmethod
    def _outcome(future: Future, entry: FileEntry, previous: Item | None) -> Prepared:
        try:
            return future.result()
        except DecodeTimeout as exc:
            return Prepared(entry, Outcome.FAILED, previous, error=f"decoding took too long: {exc}")

    def _handle(self, prepared: Prepared, batch: EmbedBatch, report: IndexReport) -> None:
        entry, outcome = prepared.entry, prepared.outcome
        if outcome is Outcome.TOUCHED:
            self.store.touch_item(prepared.previous.id, entry.size, entry.mtime_ns)
            report.unchanged += 1
        elif outcome is Outcome.MOVED:
            self.catalog.apply(self.store.move_item(prepared.source.id, entry.path, entry.size, entry.mtime_ns))
            report.moved += 1
        elif outcome is Outcome.COPIED:
            write = ItemWrite(entry.path, entry.size, entry.mtime_ns, prepared.content_hash, None)
            self.catalog.apply(self.store.copy_item(prepared.source, write))
            report.copied += 1
        elif outcome is Outcome.IGNORED:
            batch.add_plain(
                ItemWrite(entry.path, entry.size, entry.mtime_ns, prepared.content_hash, None, ignored=True)
            )
            report.ignored += 1
        elif outcome is Outcome.FAILED:
            batch.add_plain(
                ItemWrite(entry.path, entry.size, entry.mtime_ns, prepared.content_hash, None, error=prepared.error)
            )
        else:
            batch.add(prepared)

    def _commit(self, batch: EmbedBatch, report: IndexReport) -> None:
        writes, replaced = batch.embed()
        changes = self.store.write_items(writes)
        self.catalog.apply(changes)
        for write in writes:
            if write.error:
                report.failed += 1
                report.errors.append(FileError(display_path(write.path), write.error, write.path))
            elif not write.ignored:
                report.chunks += len(write.chunks)
                if write.path in replaced:
                    report.updated += 1
                else:
                    report.added += 1

    def _delete_missing(self, missing: list[Item], report: IndexReport) -> None:
        gone = [item.id for item in missing]
        if gone:
            self.catalog.apply(self.store.delete_items(gone))
            report.deleted += sum(1 for item in missing if item.status == "ok")
