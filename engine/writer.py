"""The index writer: the one owner of the store and the vector catalog, for the one process that writes.

SQLite is the truth and the vector indexes are derived from it (engine/vectors/catalog.py). Each store
write returns the vector changes its transaction made; the writer hands them to the catalog in the same
call, so no caller can commit a write and forget to mirror it. Readers never need one: the catalog
follows other processes' commits by itself (VectorCatalog.refresh).

It lives above engine/store/ and engine/vectors/ rather than in either, because the catalog already
reads the store: the writer joins the two without a cycle between them.
"""

from __future__ import annotations

from anyseek.engine.records import EmbeddedChunk, Item
from anyseek.engine.store.record_rows import RecordWrite
from anyseek.engine.store.store import ItemWrite, Store
from anyseek.engine.vectors.catalog import VectorCatalog


class IndexWriter:
    def __init__(self, store: Store, catalog: VectorCatalog) -> None:
        self.store, self.catalog = store, catalog

    def load(self) -> None:
        """Bring every vector index up to the store before writing (a crash may have left them behind)."""
        self.catalog.load_all()

    def save(self) -> None:
        """Write the vector indexes that changed. Not needed for safety (the store holds every vector), but
        a reopen then has nothing to repair."""
        self.catalog.save()

    def write_items(self, writes: list[ItemWrite]) -> None:
        """Insert or replace files with their chunks and vectors (one transaction)."""
        self.catalog.apply(self.store.write_items(writes))

    def write_records(self, writes: list[RecordWrite]) -> None:
        """Insert or replace records with their parts, chunks and vectors (one transaction)."""
        self.catalog.apply(self.store.write_records(writes))

    def delete_items(self, item_ids: list[int]) -> None:
        self.catalog.apply(self.store.delete_items(item_ids))

    def move_item(self, item_id: int, path: bytes, size: int, mtime_ns: int) -> None:
        """A renamed file keeps its chunks and vectors; whatever held the new path goes."""
        self.catalog.apply(self.store.move_item(item_id, path, size, mtime_ns))

    def copy_item(self, source: Item, write: ItemWrite) -> None:
        """A duplicate of an indexed file reuses its chunks and vectors."""
        self.catalog.apply(self.store.copy_item(source, write))

    def replace_ocr(self, item_id: int, chunks: list[EmbeddedChunk], reader: str | None) -> None:
        """An unchanged picture's text, read again: its OCR chunks replaced, its other chunks kept."""
        self.catalog.apply(self.store.replace_ocr(item_id, chunks, reader))

    def touch_item(self, item_id: int, size: int, mtime_ns: int) -> None:
        """An unchanged file with a new mtime: no chunk or vector changes."""
        self.store.touch_item(item_id, size, mtime_ns)
