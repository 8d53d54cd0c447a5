"""The Engine's embedding import and export (engine/facade.py mixes them in, as it does duplicates and
classify): clip-retrieval's folder layout (engine/embedding_layout.py) in and out."""

from __future__ import annotations

import os
from collections.abc import Callable

from anyseek.engine import embedding_import
from anyseek.engine.embedding_export import EmbeddingExportReport, export_embeddings
from anyseek.engine.embedding_import import EmbeddingImportReport
from anyseek.engine.embedding_layout import BATCH_ROWS, SHARD_ROWS
from anyseek.engine.records import Progress
from anyseek.engine.store.lock import WriterLock


class EmbeddingMethods:
    def import_embeddings(
        self,
        folder: str | os.PathLike,
        *,
        batch_rows: int = BATCH_ROWS,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> EmbeddingImportReport:
        """Each row of a clip-retrieval embedding folder as an item (engine/embedding_import.py): incremental
        by path, crash-safe, `batch_rows` rows in memory at a time. The vectors must come from the index's
        joint model; a folder of another dimension raises EmbeddingLayoutError before anything is written."""
        self._check_writable()  # type: ignore[attr-defined]
        with WriterLock(self.home):  # type: ignore[attr-defined]
            self.writer.load()  # type: ignore[attr-defined]
            self._learn_dims()  # type: ignore[attr-defined]
            return embedding_import.import_folder(self, folder, batch_rows, on_progress)

    def export_embeddings(self, folder: str | os.PathLike, *, shard_rows: int = SHARD_ROWS) -> EmbeddingExportReport:
        """The index's pictures as a clip-retrieval embedding folder (engine/embedding_export.py), in a new or
        empty folder."""
        self._learn_dims()  # type: ignore[attr-defined]
        return export_embeddings(self.store, self.catalog.dims, folder, shard_rows)  # type: ignore[attr-defined]
