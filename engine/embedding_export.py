"""`anyseek export-embeddings DIR`: the index's pictures in clip-retrieval's layout (engine/embedding_layout.py).

One row per searchable picture (an item with an image chunk and its joint vector), in item order:
- `img_emb`: the picture's joint vector, float16 as stored (so an export imported again is exact);
- `metadata`: `image_path` (the stored path as the file system spells it) and `caption` (the item's
  passage, which only an imported caption gives a picture; else empty);
- `text_emb`: the caption's joint vector, written only when the index holds any caption vector at all;
  a row without one is all zeros, which an import reads as "no caption vector".
Documents, recordings and videos have no row in this layout (it holds one picture per row); the report
counts what was left out. Shards of SHARD_ROWS rows; memory holds one shard.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anyseek.engine import embedding_layout as layout
from anyseek.engine.errors import EmbeddingLayoutError
from anyseek.engine.records import ItemStatus, Space
from anyseek.engine.store import embedding_rows
from anyseek.engine.store.store import Store
from anyseek.engine.wire import Record


@dataclass(slots=True)
class EmbeddingExportReport(Record):
    folder: str = ""
    rows: int = 0
    shards: int = 0
    dim: int = 0
    with_text: bool = False
    left_out: int = 0  # searchable items that are not pictures (documents, recordings, videos)


def export_embeddings(
    store: Store, dims: dict[Space, int], folder: str | os.PathLike, shard_rows: int
) -> EmbeddingExportReport:
    folder = Path(folder).expanduser().resolve()
    if Space.JOINT not in dims:
        raise EmbeddingLayoutError("the index holds no joint-space vectors yet: nothing to export")
    if (folder / layout.META).is_dir() and any((folder / layout.META).iterdir()):
        raise EmbeddingLayoutError(f"{folder} already holds an embedding folder; export into a new or empty folder")
    dim = dims[Space.JOINT]
    with_text = embedding_rows.has_caption_vectors(store.engine)
    report = EmbeddingExportReport(str(folder), dim=dim, with_text=with_text)
    zeros = np.zeros(dim, np.float16).tobytes()
    with layout.LayoutWriter(folder, shard_rows) as writer:
        for page in embedding_rows.picture_pages(store.engine):
            page = list({row.item_id: row for row in reversed(page)}.values())[::-1]  # one row per item
            image = np.frombuffer(b"".join(row.image_vector for row in page), np.float16).reshape(-1, dim)
            text = None
            if with_text:
                blobs = [row.caption_vector or zeros for row in page]
                text = np.frombuffer(b"".join(blobs), np.float16).reshape(-1, dim)
            writer.add([os.fsdecode(row.path) for row in page], [row.caption for row in page], image, text)
    report.rows, report.shards = writer.rows, writer.next_shard
    report.left_out = store.counts()["status"].get(ItemStatus.OK, 0) - report.rows
    return report
