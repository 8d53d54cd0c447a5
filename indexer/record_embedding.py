"""Records embedded exactly as indexing embeds them, and written nowhere: what classify and align measure.

A manifest given to `anyseek classify` or `anyseek align` is not added to the index (classifying new tickets
must not make them search results, nor few-shot examples). Its records still go through the very steps of
`index --records` (indexer/collection.py: decode workers, passages, Whisper, the image tower, the text
spaces), so a record is measured by the same vectors that search would give it. The run is handed a writer
that keeps the records' writes in memory instead of committing them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from anyseek.engine.classify.parts import RecordVectors, record_vectors
from anyseek.engine.manifest import Manifest, PartKind, Record
from anyseek.engine.records import ChunkKind, EmbeddedChunk, IndexReport, Progress
from anyseek.engine.settings import Settings
from anyseek.engine.store.record_rows import RecordWrite
from anyseek.engine.store.store import Store
from anyseek.indexer.collection import RecordRun

# No manifest's collection is named this (theirs are absolute paths or names given in Python), so the run
# finds nothing stored to reuse or to delete.
UNSTORED = "\x00unstored"
SUMMARY_CHARS = 60


class _KeptWrites:
    """The part of IndexWriter a record run uses, keeping the writes instead of committing them."""

    def __init__(self, store: Store) -> None:
        self.store = store  # read only: nothing stored is reused under UNSTORED
        self.writes: list[RecordWrite] = []

    def write_records(self, writes: list[RecordWrite]) -> None:
        self.writes.extend(writes)

    def save(self) -> None:
        pass

    def delete_items(self, item_ids: list[int]) -> None:
        raise AssertionError("an unstored run deletes nothing")  # pragma: no cover - UNSTORED holds nothing


def embed_records(
    manifest: Manifest,
    store: Store,
    encoders,
    settings: Settings,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[list[RecordVectors], IndexReport]:
    """Each record's parts embedded into their spaces; the report holds the rows left out and the parts that
    could not be read (one line each), as `index --records` reports them."""
    kept = _KeptWrites(store)
    report = RecordRun(kept, encoders, settings).run(manifest, UNSTORED, on_progress)  # type: ignore[arg-type]
    by_id = {record.id: record for record in manifest.records}
    out = []
    for write in kept.writes:
        record = by_id[write.record_id]
        chunks: dict[str, list[EmbeddedChunk]] = {part.field: [] for part in record.parts}
        for embedded in write.chunks:
            if embedded.chunk.kind is not ChunkKind.RECORD and embedded.chunk.field in chunks:
                chunks[embedded.chunk.field].append(embedded)
        errors = [f"{part.field}: {part.error}" for part in write.parts if part.error]
        out.append(
            record_vectors(record.id, record.label, chunks, row=record.row, summary=summary(record), errors=errors)
        )
    return out, report


def summary(record: Record) -> str:
    """The record in a few words: each part's text or file name."""
    shown = []
    for part in record.parts:
        if part.kind is PartKind.FILE and part.path is not None:
            shown.append(os.path.basename(part.path))
        else:
            text = " ".join((part.text or "").split())
            shown.append(repr(text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"))
    return ", ".join(shown)
