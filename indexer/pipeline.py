"""The indexing run: scan -> plan -> decode workers -> batched encoders -> one writer.

Decoding runs in a thread pool (PIL, PyAV and hashing release the GIL) with a bounded number of files
in flight, so memory stays flat while the models in the main thread are never starved. Each batch of
files is committed in one transaction as soon as it is embedded, so an interrupted run keeps its work
and the next run resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

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


class Indexer:
    def __init__(self, store: Store, catalog: VectorCatalog, encoders, settings: Settings, home: Path) -> None:
        self.store, self.catalog, self.encoders, self.settings = store, catalog, encoders, settings
        self.home = home

    def run(self, paths: list[Path | str], on_progress: ProgressCallback | None = None) -> IndexReport:
        started = time.monotonic()
        report = IndexReport()
        progress = on_progress or (lambda _p: None)
        roots = [normalize_root(p) for p in paths]
        progress(Progress("scanning", 0, 0, 0))
        scanned = scan(roots, skip=[os.fsencode(self.home.resolve())])
        known = self.store.items_under(roots)
        todo, missing = self._plan(scanned, known, report)
        claims = MoveClaims(missing)
        try:
            self._process(todo, claims, report, progress)
            if not report.interrupted:
                self._delete_missing([item for item in missing if item.id not in claims.claimed], report)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            progress(Progress("finishing", report.scanned, report.scanned, report.failed))
            self.catalog.save()
            report.seconds = time.monotonic() - started
        return report

    def _plan(self, scanned: ScanResult, known: dict[bytes, Item], report: IndexReport):
        report.scanned = len(scanned.files)
        report.problems = [FileError(display_path(p.path), p.reason) for p in scanned.problems if not p.is_file]
        self._record_scan_errors(scanned, known, report)
        seen = {entry.path for entry in scanned.files} | {p.path for p in scanned.problems}
        todo: list[tuple[FileEntry, Item | None]] = []
        for entry in scanned.files:
            previous = known.get(entry.path)
            unchanged = previous and previous.size == entry.size and previous.mtime_ns == entry.mtime_ns
            if unchanged and previous.status != "error":
                report.unchanged += 1
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
            report.errors += [FileError(display_path(w.path), w.error or "") for w in writes]

    def _process(self, todo, claims: MoveClaims, report: IndexReport, progress: ProgressCallback) -> None:
        if not todo:
            return
        window = self.encoders.document_window(self.settings.text_spaces)
        prepare = Preparer(self.store, self.encoders.joint, self.settings, claims, window)
        batch = EmbedBatch(self.encoders, self.settings)
        nice = DECODE_NICE if self.encoders.device == "cpu" else 0
        pool = DecodePool(self.settings.workers, self.settings.file_timeout_s, nice)
        jobs = iter(todo)
        in_flight: dict[Future, tuple[FileEntry, Item | None]] = {}
        last_save, done = time.monotonic(), 0
        try:
            while True:
                while len(in_flight) < self.settings.queue_size and (job := next(jobs, None)):
                    in_flight[pool.submit(prepare, *job)] = job
                if not in_flight:
                    break
                wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
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
                report.errors.append(FileError(display_path(write.path), write.error))
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
