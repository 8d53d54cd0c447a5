"""The Engine's index_records (kept beside engine/facade.py, which holds the folder runs, so that each stays
one screenful per concern): a record manifest's rows mirrored into the index, see indexer/collection.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from anyseek.engine.manifest import DEFAULT_LABEL_FIELD, read_manifest
from anyseek.engine.records import IndexReport, Progress
from anyseek.engine.store.items import normalize_root

DEFAULT_COLLECTION = "records"  # the collection of records given as dicts, when no name is given


class RecordIndexing:
    def index_records(
        self,
        records: str | os.PathLike | Iterable[Mapping[str, object]],
        on_progress: Callable[[Progress], None] | None = None,
        *,
        label_field: str = DEFAULT_LABEL_FIELD,
        collection: str | None = None,
        base: str | os.PathLike | None = None,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Index a record collection: a JSONL or CSV manifest, or an iterable of dicts, one record per row
        with a unique `id` (see engine/manifest.py and docs/record-collections.md). A string naming an existing file
        (relative to the manifest's folder, or to `base` for dicts) is a file part, any other string a text
        part; numbers, booleans and null are metadata; `label_field` is the record's class. Incremental and
        crash-safe like `index`: changed rows and part files are embedded again, ids no longer present
        leave the index. A collection is the manifest's path, or `collection` (default "records" for
        dicts). Broken rows are in the report's errors, doubtful values in its warnings."""
        manifest = read_manifest(records, label_field=label_field, base=base)
        if collection is None:
            is_file = isinstance(records, (str, os.PathLike))
            collection = os.fsdecode(normalize_root(records)) if is_file else DEFAULT_COLLECTION
        indexer = self._parts.indexer  # type: ignore[attr-defined]
        run = lambda: indexer.run_records(manifest, collection, on_progress, retry_failed=retry_failed)  # noqa: E731
        return self._write_run("index-records", run)  # type: ignore[attr-defined]
