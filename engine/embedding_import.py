"""`anyseek import-embeddings DIR`: a clip-retrieval embedding folder (engine/embedding_layout.py) as items.

Each metadata row becomes one item whose path is its `image_path`, kept as written (a relative path or a
URL stays as it is, so an export gives it back unchanged):
- its `img_emb` row is the joint vector of the item's picture (an image chunk);
- its `caption` is the item's text: a passage in the lexical index (words find it) whose joint vector is
  the `text_emb` row. clip-retrieval's text_emb is the CLIP text tower's embedding of that caption, so it
  belongs to the joint space, beside the picture, and nowhere else. No model runs: the text space
  (MiniLM) gets no vector for captions, so a text query reaches them by their words and through a joint
  vector, not through MiniLM;
- a row whose text_emb is all zeros (an export of an item without a caption vector) has none.

Incremental by path: each row's content hash covers its path, vectors and caption, so a re-import writes
only the rows that changed, and after a complete pass removes the items an earlier import of the same
folder made that it no longer lists (the hash carries the folder's tag). Crash-safe like indexing: each
batch is one transaction through the index writer, and removal happens only once every row is in, so a
killed import leaves what it committed and the next run completes it. Memory: one batch of vectors, and
the set of paths seen (for the removal), never all vectors.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anyseek.engine import embedding_layout as layout
from anyseek.engine.errors import EmbeddingLayoutError
from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, Modality, Progress, Space
from anyseek.engine.store import embedding_rows
from anyseek.engine.store.writes import ItemWrite
from anyseek.engine.wire import Record
from anyseek.engine.writer import IndexWriter

log = logging.getLogger(__name__)

HASH_PREFIX = "embeddings:"  # content hashes of imported rows: embeddings:<folder tag>:<row digest>
MIN_NORM = 1e-6


@dataclass(slots=True)
class EmbeddingImportReport(Record):
    """What one import did. A path listed twice is one item (the later row wins): `duplicates` counts the
    repeats, which are in none of added, updated and unchanged."""

    folder: str = ""
    rows: int = 0
    dim: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    duplicates: int = 0
    with_image: bool = False
    with_text: bool = False


class EmbeddingImporter:
    def __init__(self, writer: IndexWriter, joint_dim: int, joint_model: str, text_in_joint: bool) -> None:
        """`text_in_joint`: whether the index keeps text in the joint space (its text_spaces); if not,
        captions are words only."""
        self.writer, self.store = writer, writer.store
        self.joint_dim, self.joint_model, self.text_in_joint = joint_dim, joint_model, text_in_joint
        self.folder = Path()

    def run(
        self,
        folder: str | os.PathLike,
        batch_rows: int = layout.BATCH_ROWS,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> EmbeddingImportReport:
        folder = self.folder = Path(folder).expanduser().resolve()
        info = layout.inspect(folder)
        if info.dim != self.joint_dim:
            raise EmbeddingLayoutError(
                f"{folder}: the vectors have {info.dim} dimensions, but this index's joint model "
                f"({self.joint_model}) makes {self.joint_dim}; import into an index of the model that made them"
            )
        report = EmbeddingImportReport(
            str(folder), info.rows, info.dim, with_image=info.has_image, with_text=info.has_text
        )
        tag = f"{HASH_PREFIX}{hashlib.sha1(os.fsencode(folder)).hexdigest()[:12]}:"
        seen: set[bytes] = set()
        for batch in layout.read_batches(folder, batch_rows):
            self._write_batch(batch, tag, seen, report)
            if on_progress:
                on_progress(Progress("importing", info.rows, len(seen), 0))
        gone = [
            item_id for item_id, path in embedding_rows.ids_with_hash_prefix(self.store.engine, tag) if path not in seen
        ]
        if gone:
            self.writer.delete_items(gone)
        report.removed = len(gone)
        self.writer.save()
        return report

    def _write_batch(self, batch: layout.EmbeddingBatch, tag: str, seen: set[bytes], report) -> None:
        paths = [os.fsencode(p) for p in batch.image_paths]
        stored = embedding_rows.hashes_of(self.store.engine, paths)
        where = f"{self.folder}: shard {batch.shard} row {{}}"
        images, texts = (
            _units(a, len(batch), where, batch.first_row) for a in (batch.image_vectors, batch.text_vectors)
        )
        halves = [None if a is None else a.astype(np.float16) for a in (batch.image_vectors, batch.text_vectors)]
        writes: dict[bytes, ItemWrite] = {}
        for row, path in enumerate(paths):
            digest = tag + _row_digest(
                batch.image_paths[row], [h[row] if h is not None else None for h in halves], batch.captions[row]
            )
            repeated = path in seen
            seen.add(path)
            if repeated:
                report.duplicates += 1
            elif stored.get(path) == digest:
                report.unchanged += 1
                continue
            elif path in stored:
                report.updated += 1
            else:
                report.added += 1
            writes[path] = self._item(path, digest, images[row], texts[row], batch.captions[row])
        if writes:
            self.writer.write_items(list(writes.values()))

    def _item(self, path: bytes, digest: str, image, text, caption: str | None) -> ItemWrite:
        chunks = []
        if image is not None:
            chunks.append(EmbeddedChunk(Chunk(ChunkKind.IMAGE, 0), {Space.JOINT: image}))
        if caption and caption.strip():
            vectors = {Space.JOINT: text} if text is not None and self.text_in_joint else {}
            passage = Chunk(ChunkKind.PASSAGE, 1, text=caption, char_start=0, char_end=len(caption))
            chunks.append(EmbeddedChunk(passage, vectors))
        size, mtime_ns = _local_file(path)
        return ItemWrite(path, size, mtime_ns, digest, Modality.IMAGE, chunks)


def _row_digest(path: str, halves: list[np.ndarray | None], caption: str | None) -> str:
    """What a row holds, as stored (float16): equal digests, nothing to write."""
    digest = hashlib.sha1(os.fsencode(path))
    for half in halves:
        digest.update(b"-" if half is None else half.tobytes())
    digest.update((caption or "").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _units(array: np.ndarray | None, count: int, where: str, first_row: int) -> list[np.ndarray | None]:
    """Each row at unit length (the store's vectors are; clip-retrieval's usually are already), None for
    an all-zero row (no vector) or for every row when there is no array."""
    if array is None:
        return [None] * count
    norms = np.linalg.norm(array, axis=1)
    bad = np.flatnonzero(~np.isfinite(norms))
    if len(bad):
        row = where.format(first_row + int(bad[0]))
        raise EmbeddingLayoutError(f"{row}: its vector holds a value that is not a finite number (NaN or infinity)")
    units = (array / np.maximum(norms, MIN_NORM)[:, None]).astype(np.float32)
    return [unit if norm > MIN_NORM else None for unit, norm in zip(units, norms.tolist())]


def _local_file(path: bytes) -> tuple[int, int]:
    """The size and mtime of the picture where the path names a file here: then its thumbnail shows, and an
    `anyseek index` of its folder sees it unchanged and keeps the imported vectors (the same model made
    them, as the import requires). Elsewhere (another machine's path, a URL): 0, 0."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return 0, 0
    return info.st_size, info.st_mtime_ns


def import_folder(engine, folder, batch_rows: int, on_progress) -> EmbeddingImportReport:
    """Engine.import_embeddings, under the writer lock: the joint model's dimension (loading the model only
    when the index has no joint vector yet), then the import, logged in the runs table like an index run."""
    dims = engine.catalog.dims
    if Space.JOINT not in dims:
        engine.encoders.for_image_query()  # loading it records its dimension (index_models.ModelRecorder)
    importer = EmbeddingImporter(
        engine.writer, dims[Space.JOINT], engine.specs.joint_model, Space.JOINT in engine.settings.text_spaces
    )
    run_id = engine.store.start_run("import-embeddings")
    status, report, reason = "failed", EmbeddingImportReport(), None
    try:
        report = importer.run(folder, batch_rows, on_progress)
        status = "completed"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except EmbeddingLayoutError as exc:
        reason = str(exc)
        raise
    finally:
        engine.store.finish_run(run_id, status, report.to_dict(), reason)
    return report
