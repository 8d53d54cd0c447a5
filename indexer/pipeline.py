"""The indexing run: scan -> plan -> decode workers -> batched encoders -> one writer.

Decoding runs in a thread pool (PIL, PyAV and hashing release the GIL), with images handed on to worker
processes where that is faster (decode_procs.py) and JPEGs left to their batch to decode on the GPU where
the model runs on one (gpu_jpeg.py). A bounded number of files is in flight, so memory stays flat while
the models in the main thread are never starved. Each batch of files is committed in one transaction as
soon as it is embedded, so an interrupted run keeps its work and the next run resumes where it stopped.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

from anyseek.engine.classify.parts import RecordVectors
from anyseek.engine.encoders.ocr import reader_name
from anyseek.engine.manifest import Manifest
from anyseek.engine.records import FileError, IndexReport, Item, ItemStatus, Progress, display_path
from anyseek.engine.settings import Settings
from anyseek.engine.store.items import normalize_root
from anyseek.engine.store.store import ItemWrite
from anyseek.engine.writer import IndexWriter
from anyseek.indexer.batch import EmbedBatch
from anyseek.indexer.collection import RecordRun
from anyseek.indexer.companions import media_to_redo, pair_subtitles, role_changed
from anyseek.indexer.copies import RunCopies
from anyseek.indexer.decode_procs import ProcessDecoder, ProcessImages
from anyseek.indexer.extract import decode_image_here
from anyseek.indexer.extract.ocr import PictureReader
from anyseek.indexer.extract.pictures import reading_needed
from anyseek.indexer.gpu_jpeg import DeferredJpegs
from anyseek.indexer.lazy_models import LazyJoint, LazyOcr, LazyWindow, ModelLoads
from anyseek.indexer.prepare import MoveClaims, Outcome, Prepared, Preparer
from anyseek.indexer.record_embedding import embed_records
from anyseek.indexer.scan import FileEntry, ScanResult, check_roots, scan
from anyseek.indexer.workers import STOP_WAIT_S, DecodePool, DecodeTimeout, plan_decoding
from anyseek.media import file_warnings
from anyseek.media.sniff import kind_hint

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


# Decode threads yield to the models when both share the CPU (see DecodePool); on a GPU the CPU is the
# decoders' own. bench/images.py measured it: see README, Benchmarks.
DECODE_NICE = 10


def plan_by_kind(entries) -> dict[str, tuple[int, int]]:
    """(files, bytes) per kind of what a run will decode: a folder of long documents takes longer per file
    than one of photos, so a progress estimate goes by each kind's own rate (cli/progress.py)."""
    planned: dict[str, tuple[int, int]] = {}
    for entry in entries:
        files, size = planned.get(kind := kind_hint(entry.path), (0, 0))
        planned[kind] = (files + 1, size + entry.size)
    return planned


def decoder_versions(reader: str | None = None) -> str:
    """What decides whether a file decodes: a failure recorded under other versions is tried again (the OCR
    reader too: a scanned PDF that had no text for one may have some for another)."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for package in ("anyseek", "pillow", "av"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} ?")
    if reader:
        parts.append(f"ocr {reader}")
    return ", ".join(parts)


def _unclaimed(missing: list[Item], claimed: set[int]) -> list[Item]:
    """The missing items that no moved file claimed; a moved mailbox's messages moved with it."""
    moved = {item.path for item in missing if item.id in claimed}
    return [item for item in missing if item.id not in claimed and os.path.dirname(item.path) not in moved]


class Indexer:
    def __init__(self, writer: IndexWriter, encoders, settings: Settings, home: Path) -> None:
        """Every write goes through `writer` (store and vector indexes in one call); reads go to its store."""
        self.writer, self.store, self.encoders, self.settings = writer, writer.store, encoders, settings
        self.home = home
        self.reader_name: str | None = None  # the OCR reader of the current run (None: OCR off)

    def run(
        self,
        paths: list[Path | str],
        on_progress: ProgressCallback | None = None,
        prune: bool = False,
        retry_failed: bool = False,
        ray: str | None = None,
    ) -> IndexReport:
        """`prune`: a root that exists but lists no files really is empty, so what the index holds under it
        goes. Without it such a root is taken for an unmounted drive and the run refuses to change anything.
        `retry_failed`: decode again the files that failed before although they have not changed (they are
        retried anyway when anyseek or its decoders changed since).
        `ray`: decode and embed on a Ray cluster, "local" or its address (indexer/distributed/); the plan
        and every write stay here, so the index is the same as a run in this process would make."""
        started = time.monotonic()
        report = IndexReport()
        progress = on_progress or (lambda _p: None)
        roots = [normalize_root(p) for p in paths]
        progress(Progress("scanning", 0, 0, 0))
        file_warnings.install()
        scanned = scan(roots, skip=[os.fsencode(self.home.resolve())])
        known = self.store.items_under(roots)
        check_roots(roots, scanned, known, prune)
        self.reader_name = reader_name(self.settings.ocr)
        versions = decoder_versions(self.reader_name)
        retry = retry_failed or self.store.get_meta("decoders") != versions
        todo, missing = self._plan(scanned, known, report, retry, retry_failed)
        claims = MoveClaims(missing)
        try:
            if ray and todo:
                # Ray is an optional extra, imported only here
                from anyseek.indexer.distributed.driver import RayIndexing

                planned = plan_by_kind(entry for entry, _, _ in todo)
                RayIndexing(self, ray).process(todo, planned, claims, report, progress)
            else:
                self._process(todo, claims, report, progress)
            if not report.interrupted:
                self._delete_missing(_unclaimed(missing, claims.claimed), report)
                self.store.set_meta("decoders", versions)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            progress(Progress("finishing", report.scanned, report.scanned, report.failed))
            self.writer.save()
            report.seconds = time.monotonic() - started
        return report

    def run_records(
        self,
        manifest: Manifest,
        collection: str,
        on_progress: ProgressCallback | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Mirror a record collection (a manifest's rows) into the index: see indexer/collection.py."""
        return RecordRun(self.writer, self.encoders, self.settings).run(manifest, collection, on_progress, retry_failed)

    def embed_records(
        self, manifest: Manifest, on_progress: ProgressCallback | None = None
    ) -> tuple[list[RecordVectors], IndexReport]:
        """The records embedded as run_records would, written nowhere (classify, align): record_embedding.py."""
        return embed_records(manifest, self.store, self.encoders, self.settings, on_progress)

    def _plan(self, scanned: ScanResult, known: dict[bytes, Item], report: IndexReport, retry: bool, retry_ocr: bool):
        report.scanned = len(scanned.files)
        report.problems = [FileError(display_path(p.path), p.reason, p.path) for p in scanned.problems if not p.is_file]
        self._record_scan_errors(scanned, known, report)
        seen = {entry.path for entry in scanned.files} | {p.path for p in scanned.problems}
        files = pair_subtitles(scanned.files)
        redo = media_to_redo(files, known, seen)
        todo: list[tuple[FileEntry, Item | None, str | None]] = []
        for entry in files:
            previous = known.get(entry.path)
            unchanged = previous and previous.size == entry.size and previous.mtime_ns == entry.mtime_ns
            unchanged = unchanged and entry.path not in redo and not role_changed(entry, previous)
            # a file of no known type is looked at again by new decoders: they may read it now (a README
            # was ignored before text was recognised by content)
            unchanged = unchanged and not (retry and previous.status == ItemStatus.IGNORED)
            again = reading_needed(previous, self.reader_name, retry_ocr) if unchanged else None
            if again:  # its pictures are for another OCR reader (pictures.reading_needed)
                todo.append((entry, previous, again))
            elif unchanged and previous.status != ItemStatus.ERROR:
                report.unchanged += 1
            elif unchanged and not retry:
                # failed before and unchanged since: it would fail again, so it costs nothing this time
                report.known_failed += 1
                report.failed += 1
                report.errors.append(FileError(display_path(entry.path), previous.error or "", entry.path))
            else:
                todo.append((entry, previous, None))
        shielded = tuple(d.rstrip(b"/") + b"/" for d in scanned.unreadable_dirs)
        missing = [
            item
            for path, item in known.items()
            # a mailbox's messages (`box.mbox/3`) stay while their mailbox file does; it replaces them when read
            if path not in seen and not path.startswith(shielded) and os.path.dirname(path) not in seen
        ]
        return todo, missing

    def _record_scan_errors(self, scanned: ScanResult, known: dict[bytes, Item], report: IndexReport) -> None:
        writes = [ItemWrite(p.path, 0, 0, "", None, error=p.reason) for p in scanned.problems if p.is_file]
        if writes:
            self.writer.write_items(writes)
            report.failed += len(writes)
            report.errors += [FileError(display_path(w.path), w.error or "", w.path) for w in writes]

    def _process(self, todo, claims: MoveClaims, report: IndexReport, progress: ProgressCallback) -> None:
        if not todo:
            return
        planned = plan_by_kind(entry for entry, _, _ in todo)
        progress(Progress("indexing", len(todo), 0, report.failed, planned=planned))  # scanning is over
        loads = ModelLoads()
        window = LazyWindow(self.encoders, self.settings.text_spaces, loads)
        joint = LazyJoint(self.encoders, loads)
        batch = EmbedBatch(self.encoders, self.settings)
        on_gpu = self.encoders.device != "cpu"
        nice = 0 if on_gpu else DECODE_NICE
        kind, workers = plan_decoding(self.settings.decode_workers_kind, self.settings.workers, on_gpu)
        log.info("decoding in %d %s", workers, kind)
        pool = DecodePool(workers, self.settings.file_timeout_s, nice)
        processes = ProcessDecoder(workers, self.settings.file_timeout_s, nice) if kind == "processes" else None
        images = ProcessImages(processes, joint) if processes else functools.partial(decode_image_here, joint=joint)
        if self.settings.jpeg_decode == "device" or (self.settings.jpeg_decode == "auto" and on_gpu):
            images = DeferredJpegs(images)  # JPEGs decode in their batch, on the model's device
        reader = None
        if self.reader_name:
            ocr = LazyOcr(self.encoders, loads)
            reader = PictureReader(ocr.get, self.reader_name, self.settings.ocr_timeout_s)
        prepare = Preparer(self.store, joint, self.settings, claims, window, images, reader)
        copies = RunCopies()
        jobs = iter(todo)
        in_flight: dict[Future, tuple[FileEntry, Item | None, str | None]] = {}
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
                    if not copies.wait_for_original(prepared):
                        self.handle(prepared, batch, report)
                    done += 1
                    entry = prepared.entry
                    kind = kind_hint(entry.path)
                    progress(
                        Progress(
                            "indexing",
                            len(todo),
                            done,
                            report.failed,
                            display_path(entry.path),
                            kind,
                            entry.size,
                            planned,
                        )
                    )
                if batch.ready() or (batch and not in_flight):
                    self._commit(batch, report)
                if not batch:  # every original is committed: its copies can reuse its vectors
                    for prepared in copies.released(self.store):
                        self.handle(prepared, batch, report)
                if time.monotonic() - last_save > self.settings.save_interval_s:
                    self.writer.save()
                    last_save = time.monotonic()
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            pool.shutdown(wait_s=STOP_WAIT_S)
            if processes:
                processes.close()
        if batch and not report.interrupted:
            self._commit(batch, report)

    @staticmethod
    def _outcome(future: Future, entry: FileEntry, previous: Item | None, again: str | None) -> Prepared:
        try:
            return future.result()
        except DecodeTimeout as exc:
            error = f"decoding took too long: {exc}"
            if again == "pictures":  # an indexed file being read again stays indexed
                return Prepared(entry, Outcome.REREAD, previous, error=f"its pictures could not be read again: {error}")
            return Prepared(entry, Outcome.FAILED, previous, error=error)

    def handle(self, prepared: Prepared, batch: EmbedBatch, report: IndexReport) -> None:
        entry, outcome = prepared.entry, prepared.outcome
        said = list(prepared.warnings) + (prepared.extracted.warnings if prepared.extracted else [])
        said += [prepared.error] if outcome is Outcome.REREAD and prepared.error else []  # it stays indexed
        if outcome is not Outcome.FAILED:  # a failed file's error says enough
            report.warnings += [FileError(display_path(entry.path), warning, entry.path) for warning in said]
        if outcome is Outcome.REREAD:
            report.reread += 1
            if prepared.extracted is not None:
                batch.add(prepared)
        elif outcome is Outcome.TOUCHED:
            self.writer.touch_item(prepared.previous.id, entry.size, entry.mtime_ns)
            report.unchanged += 1
        elif outcome is Outcome.MOVED:
            self.writer.move_item(prepared.source.id, entry.path, entry.size, entry.mtime_ns)
            report.moved += 1
        elif outcome is Outcome.COPIED:
            write = ItemWrite(entry.path, entry.size, entry.mtime_ns, prepared.content_hash, None)
            self.writer.copy_item(prepared.source, write)
            report.copied += 1
        elif outcome is Outcome.ATTACHED:
            batch.add_plain(
                ItemWrite(entry.path, entry.size, entry.mtime_ns, prepared.content_hash, None, attached=True)
            )
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
        self.record(*batch.embed(), report)

    def record(self, writes: list[ItemWrite], replaced: set[bytes], rereads, report: IndexReport) -> None:
        """Commit embedded files (EmbedBatch.embed's three results) and count them in the report."""
        self.writer.write_items(writes)
        for reread in rereads:  # each its own transaction: the item and its new text together
            self.writer.replace_ocr(reread.item_id, reread.chunks, reread.ocr)
            report.chunks += len(reread.chunks)
        for write in writes:
            if write.error:
                report.failed += 1
                report.errors.append(FileError(display_path(write.path), write.error, write.path))
            elif write.member:
                report.chunks += len(write.chunks)  # a mailbox's message: its mailbox file is the one counted
            elif not write.ignored and not write.attached:
                report.chunks += len(write.chunks)
                if write.path in replaced:
                    report.updated += 1
                else:
                    report.added += 1

    def _delete_missing(self, missing: list[Item], report: IndexReport) -> None:
        gone = [item.id for item in missing]
        if gone:
            self.writer.delete_items(gone)
            report.deleted += sum(1 for item in missing if item.status == ItemStatus.OK)
