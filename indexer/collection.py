"""Indexing a record collection: the rows of a manifest (engine/manifest.py) into records in the store.

Each record's parts go through the same steps as files: a file part is hashed, sniffed and decoded by the
decode workers (indexer/extract), a text part is cut into passages, and the batch's models embed them all
(indexer/batch.py: Whisper for recordings, the image tower for pictures and frames, the text spaces for
text). A record is written with all its parts' chunks, each tagged with its field, plus its fused chunk
(early fusion, search/part_vectors.py); a batch of records is one transaction.

Incremental, like folders: a record whose row and files are unchanged costs a stat per file; in a changed
record, a part whose text or file is unchanged keeps its chunks and vectors (no model runs), so a new
label or a corrected description re-embeds only what changed. Ids no longer in the manifest leave the
index at the end of a complete run, unless some row could not be read (its id unknown, it may be one of
them). A part that fails to decode is that record's error; the rest of the record is indexed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from anyseek.engine.errors import AnyseekError, ExtractionError
from anyseek.engine.manifest import Manifest, PartKind, Record, RecordPart, row_location
from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, FileError, IndexReport, Modality, Progress
from anyseek.engine.request import parse_weights
from anyseek.engine.search.part_vectors import RecordFusion, fuse, part_vector
from anyseek.engine.settings import Settings
from anyseek.engine.store.record_rows import RecordWrite, StoredPart, StoredRecord
from anyseek.engine.store.store import ItemWrite
from anyseek.engine.writer import IndexWriter
from anyseek.indexer.batch import EmbedBatch
from anyseek.indexer.extract import Extracted, decode_image_here, extract
from anyseek.indexer.lazy_models import LazyJoint, LazyWindow, ModelLoads
from anyseek.indexer.prepare import Outcome, Prepared, decode_failure, hash_file
from anyseek.indexer.scan import FileEntry
from anyseek.indexer.workers import DecodePool, DecodeTimeout
from anyseek.media.sniff import sniff_file
from anyseek.media.text import split_passages

log = logging.getLogger(__name__)

PARTS_PER_BATCH = 64  # parts decoded and embedded together; their records are committed in one transaction
UNSUPPORTED = "not a file anyseek can read (an image, a recording, a video or a document)"


def text_hash(text: str) -> str:
    return "text:" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(slots=True)
class PartJob:
    """One part of a record on its way: reused as stored, or decoded and embedded now."""

    part: RecordPart
    row: StoredPart  # what is stored for it once done
    chunks: list[EmbeddedChunk] | None = None  # its chunks with vectors, once known
    prepared: Prepared | None = None  # decoded, waiting for the models
    known_failure: bool = False  # failed before, unchanged since: not tried again
    captured_at: float | None = None  # a photo's or video's capture date (EXIF, container)


@dataclass(slots=True)
class RecordJob:
    record: Record
    stored: StoredRecord | None
    row_hash: str
    parts: list[PartJob] = field(default_factory=list)


class RecordRun:
    def __init__(self, writer: IndexWriter, encoders, settings: Settings) -> None:
        self.writer, self.store, self.encoders, self.settings = writer, writer.store, encoders, settings
        self.fusion = RecordFusion(weights=parse_weights(settings.record_weights or ""))

    def run(
        self,
        manifest: Manifest,
        collection: str,
        on_progress: Callable[[Progress], None] | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        started = time.monotonic()
        progress = on_progress or (lambda _p: None)
        report = IndexReport(scanned=len(manifest.records) + len(manifest.errors))
        report.errors += [FileError(p.location, p.message) for p in manifest.errors]
        report.warnings += [FileError(w.location, w.message) for w in manifest.warnings]
        known = self.store.collection_records(collection)
        todo = self._plan(manifest, known, report, retry_failed)
        try:
            self._process(manifest.source, collection, todo, report, progress, retry_failed)
            if not report.interrupted:
                self._delete_removed(manifest, known, report)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            progress(Progress("finishing", len(todo), len(todo), report.failed))
            self.writer.save()
            report.seconds = time.monotonic() - started
        return report

    def _plan(self, manifest: Manifest, known: dict[str, StoredRecord], report, retry: bool) -> list[RecordJob]:
        todo = []
        for record in manifest.records:
            stored = known.get(record.id)
            row_hash = self._row_hash(record)
            failed_parts = stored is not None and any(p.error for p in stored.parts)
            if stored and stored.row_hash == row_hash and not (retry and failed_parts):
                report.unchanged += 1
                self._report_known_failures(manifest.source, record, stored, report)
            else:
                todo.append(RecordJob(record, stored, row_hash))
        return todo

    def _row_hash(self, record: Record) -> str:
        """Everything the row says, its files' size and mtime, and the weights its fused vector used."""
        parts = []
        for part in record.parts:
            if part.kind is PartKind.TEXT:
                parts.append([part.field, "text", part.text])
            else:
                parts.append([part.field, "file", os.fsdecode(part.path), *_stat(part.path)])
        weights = {p.field: self.fusion.weight(p.field) for p in record.parts}
        content = [record.label, record.metadata, parts, weights]
        data = json.dumps(content, sort_keys=True, default=str).encode("utf-8", "surrogatepass")
        return "record:" + hashlib.blake2b(data, digest_size=16).hexdigest()

    @staticmethod
    def _report_known_failures(source: str, record: Record, stored: StoredRecord, report: IndexReport) -> None:
        for part in stored.parts:
            if part.error:
                where = row_location(source, record.row, record.id, part.field)
                report.errors.append(FileError(where, part.error))
                report.failed += 1
                report.known_failed += 1

    # --- one batch of records at a time ------------------------------------------------------------------
    def _process(self, source: str, collection: str, todo, report, progress, retry: bool) -> None:
        loads = ModelLoads()
        joint = LazyJoint(self.encoders, loads)
        window = LazyWindow(self.encoders, self.settings.text_spaces, loads)
        decode = functools.partial(self._decode, joint=joint, window=window)
        pool = DecodePool(self.settings.workers or min(4, os.cpu_count() or 2), self.settings.file_timeout_s)
        try:
            done = 0
            for group in _groups(todo):
                writes = self._batch(group, collection, source, pool, decode, loads, report, retry)
                self.writer.write_records(writes)
                self._count(group, writes, report)
                done += len(group)
                progress(Progress("indexing", len(todo), done, report.failed, f"{source} {group[-1].record.id}"))
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            pool.shutdown()

    def _batch(self, group, collection, source, pool, decode, loads, report, retry) -> list[RecordWrite]:
        reusable = {job.stored.item_id: self.store.part_chunks(job.stored.item_id) for job in group if job.stored}
        futures: dict[Future, PartJob] = {}
        for job in group:
            for ordinal, part in enumerate(job.record.parts):
                stored = job.stored.part(part.field) if job.stored else None
                old = reusable.get(job.stored.item_id, {}).get(part.field, []) if job.stored else []
                part_job = _plan_part(part, stored, old, retry)
                part_job.row = dataclasses.replace(part_job.row, ordinal=ordinal)
                job.parts.append(part_job)
                if part_job.chunks is None and part_job.row.error is None:
                    futures[pool.submit(decode, part_job, stored, old)] = part_job
        self._wait(futures, pool, loads)
        self._embed([p for job in group for p in job.parts if p.prepared is not None])
        return [self._record_write(job, collection, source, report) for job in group]

    @staticmethod
    def _wait(futures: dict[Future, PartJob], pool: DecodePool, loads: ModelLoads) -> None:
        pending, seen = set(futures), 0
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            if loads.loading or loads.finished != seen:
                pool.restart_clocks()  # waiting for a model is not decoding
                seen = loads.finished
            else:
                pool.reap_overdue()
            for future in done:
                try:
                    future.result()
                except DecodeTimeout as exc:
                    futures[future].row = dataclasses.replace(
                        futures[future].row, error=f"decoding took too long: {exc}"
                    )

    def _decode(self, job: PartJob, stored: StoredPart | None, old: list[EmbeddedChunk], joint, window) -> None:
        """In a decode worker: a text part to passages, a file part to chunks and model inputs. Anything a
        file throws is that part's error (as in indexer/prepare.py)."""
        try:
            if job.part.kind is PartKind.TEXT:
                chunks = split_passages(job.part.text or "", window.count_tokens, window.max_tokens)
                job.prepared = _prepared(job, Extracted(Modality.TEXT, chunks))
                return
            self._decode_file(job, stored, old, joint, window)
        except ExtractionError as exc:
            job.row = dataclasses.replace(job.row, error=str(exc))
        except AnyseekError:
            raise  # a model that cannot load stops the run with its own error
        except FileNotFoundError:
            job.row = dataclasses.replace(job.row, error="file disappeared while being indexed")
        except PermissionError:
            job.row = dataclasses.replace(job.row, error="permission denied: cannot read the file")
        except Exception as exc:  # noqa: BLE001 - the file boundary: a malformed file makes decoders raise anything
            job.row = dataclasses.replace(job.row, error=decode_failure(exc))

    def _decode_file(self, job: PartJob, stored: StoredPart | None, old, joint, window) -> None:
        path = os.fsencode(job.part.path)
        if (job.row.size or 0) > self.settings.max_file_bytes:
            raise ExtractionError(f"file is {job.row.size / 2**30:.1f} GB, over the cap (setting max_file_bytes)")
        content_hash = hash_file(path)
        job.row = dataclasses.replace(job.row, content_hash=content_hash)
        if stored and stored.kind == "file" and stored.content_hash == content_hash and not stored.error and old:
            job.row = dataclasses.replace(job.row, modality=stored.modality)
            job.chunks = old  # touched, not changed: its vectors still hold
            return
        sniffed = sniff_file(path)
        if sniffed.modality is None:
            raise ExtractionError(sniffed.problem or UNSUPPORTED)
        images = functools.partial(decode_image_here, joint=joint)
        extracted = extract(path, sniffed, joint, self.settings, window, images)
        job.row = dataclasses.replace(job.row, modality=extracted.modality)
        job.prepared = _prepared(job, extracted)

    def _embed(self, jobs: list[PartJob]) -> None:
        if not jobs:
            return
        batch = EmbedBatch(self.encoders, self.settings)
        for job in jobs:
            batch.add(job.prepared)
        writes, _, _ = batch.embed()  # records are never re-read for OCR alone
        by_key: dict[bytes, ItemWrite] = {write.path: write for write in writes}
        for job in jobs:
            write = by_key.get(job.prepared.entry.path)
            job.prepared = None
            if write is None or write.error:
                job.row = dataclasses.replace(job.row, error=write.error if write else "could not be embedded")
            else:
                job.row = dataclasses.replace(job.row, modality=write.modality or job.row.modality)
                job.chunks, job.captured_at = write.chunks, write.captured_at

    def _record_write(self, job: RecordJob, collection: str, source: str, report: IndexReport) -> RecordWrite:
        record = job.record
        chunks: list[EmbeddedChunk] = []
        errors = []
        for part in job.parts:
            if part.row.error:
                where = row_location(source, record.row, record.id, part.part.field)
                report.errors.append(FileError(where, part.row.error))
                report.failed += 1
                report.known_failed += part.known_failure
                errors.append(f"{part.part.field}: {part.row.error}")
                continue
            for embedded in part.chunks or []:
                chunk = dataclasses.replace(embedded.chunk, ordinal=len(chunks), field=part.part.field, id=None)
                chunks.append(EmbeddedChunk(chunk, embedded.vectors))
        if fused := self._fused(job.parts, len(chunks)):
            chunks.append(fused)
        captured = next((p.captured_at for p in job.parts if p.captured_at is not None), None)
        return RecordWrite(
            collection,
            record.id,
            record.label,
            dict(record.metadata),
            job.row_hash,
            [p.row for p in job.parts],
            chunks,
            captured_at=captured,
            error=None if chunks else "; ".join(errors) or "no part could be indexed",
        )

    def _fused(self, parts: list[PartJob], ordinal: int) -> EmbeddedChunk | None:
        """The record's early-fusion chunk: in each space where every indexed part has a vector (where the
        record is whole: a text space cannot see its picture), or, where none is, in each space it has."""
        by_space: dict = {}
        for part in parts:
            if part.row.error:
                continue
            for embedded in part.chunks or []:
                for space, vector in embedded.vectors.items():
                    by_space.setdefault(space, {}).setdefault(part.part.field, []).append(vector)
        indexed = {p.part.field for p in parts if p.chunks and not p.row.error}
        whole = [space for space, fields in by_space.items() if set(fields) == indexed]
        vectors = {}
        for space in whole or list(by_space):
            fused = fuse({name: part_vector(vs) for name, vs in by_space[space].items()}, self.fusion)
            if fused is not None:
                vectors[space] = fused
        return EmbeddedChunk(Chunk(ChunkKind.RECORD, ordinal), vectors) if vectors else None

    @staticmethod
    def _count(group: list[RecordJob], writes: list[RecordWrite], report: IndexReport) -> None:
        for job, write in zip(group, writes, strict=True):
            report.chunks += sum(1 for c in write.chunks if c.chunk.kind is not ChunkKind.RECORD)
            if write.error:
                continue
            if job.stored is None:
                report.added += 1
            else:
                report.updated += 1

    def _delete_removed(self, manifest: Manifest, known: dict[str, StoredRecord], report: IndexReport) -> None:
        if any(problem.record_id is None for problem in manifest.errors):
            if known:
                report.warnings.append(
                    FileError(
                        manifest.source,
                        "some rows could not be read, so no record was removed from the index this time (a row "
                        "whose id is unknown may be one of them)",
                    )
                )
            return
        named = {r.id for r in manifest.records} | {p.record_id for p in manifest.errors}
        gone = [stored for record_id, stored in known.items() if record_id not in named]
        if gone:
            self.writer.delete_items([stored.item_id for stored in gone])
            report.deleted += sum(1 for stored in gone if stored.status == "ok")


def _stat(path) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


def _plan_part(part: RecordPart, stored: StoredPart | None, old: list[EmbeddedChunk], retry: bool) -> PartJob:
    """What a part needs: nothing (unchanged, or a known failure), or decoding and embedding."""
    if part.kind is PartKind.TEXT:
        digest = text_hash(part.text or "")
        row = StoredPart(part.field, 0, "text", digest, modality=Modality.TEXT)
        if stored and stored.kind == "text" and stored.content_hash == digest and not stored.error and old:
            return PartJob(part, row, chunks=old)
        return PartJob(part, row)
    size, mtime = _stat(part.path)
    path = os.fsencode(part.path)
    row = StoredPart(part.field, 0, "file", "", path, size, mtime)
    if size < 0:
        return PartJob(part, dataclasses.replace(row, error="file disappeared before it could be indexed"))
    same_file = stored and stored.kind == "file" and (stored.path, stored.size, stored.mtime_ns) == (path, size, mtime)
    if same_file and stored.error and not retry:
        failed = dataclasses.replace(row, error=stored.error, content_hash=stored.content_hash)
        return PartJob(part, failed, known_failure=True)
    if same_file and not stored.error and old:
        return PartJob(part, dataclasses.replace(row, content_hash=stored.content_hash, modality=stored.modality), old)
    return PartJob(part, row)


def _prepared(job: PartJob, extracted: Extracted) -> Prepared:
    """A part as the embedding batch takes a file: keyed by its record's and field's names (unique in a batch)."""
    key = f"{id(job)}\x00{job.part.field}".encode("utf-8", "surrogatepass")
    entry = FileEntry(key, job.row.size or 0, job.row.mtime_ns or 0)
    return Prepared(entry, Outcome.EXTRACTED, content_hash=job.row.content_hash, extracted=extracted)


def _groups(todo: list[RecordJob]):
    group: list[RecordJob] = []
    parts = 0
    for job in todo:
        group.append(job)
        parts += len(job.record.parts)
        if parts >= PARTS_PER_BATCH:
            yield group
            group, parts = [], 0
    if group:
        yield group
