"""The per-space vector indexes of one index directory, kept in step with the store.

The store is the truth; these files are derived. Opening compares the revision a file records with the
store's: if they differ (a crash between a commit and a save, or another process writing), the set
difference of ids is repaired from the stored vectors, without any model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from anyseek.engine.errors import ConfigError, SchemaError, StorageError
from anyseek.engine.privacy import make_private_dir
from anyseek.engine.records import Space
from anyseek.engine.store.store import Store, VectorChanges
from anyseek.engine.vectors import persist
from anyseek.engine.vectors.base import VectorIndex
from anyseek.engine.vectors.factory import FLAT_UP_TO, backend_class, choose_kind, create_index
from anyseek.engine.vectors.faiss_flat import FaissFlatIndex

log = logging.getLogger(__name__)

VECTOR_DIR = "vectors"


class VectorCatalog:
    def __init__(self, home: Path, store: Store, dims: dict[Space, int], kind: str | None = None) -> None:
        self.directory = home / VECTOR_DIR
        self.store = store
        self.dims = dims
        self.kind = kind
        self._indexes: dict[Space, VectorIndex] = {}
        self._revision: dict[Space, int] = {}
        self._saved_revision: dict[Space, int] = {}

    def file(self, space: Space) -> Path:
        return self.directory / f"{space.value}.faiss"

    def index(self, space: Space, sync: bool = True) -> VectorIndex:
        """The space's index, brought up to the store's current revision; sync=False skips that check (one
        SQLite read) for a caller that has just called refresh(). A first load always syncs."""
        if space not in self._indexes:
            self._indexes[space] = self._load(space)
            self._sync(space)
        elif sync:
            self._sync(space)
        return self._indexes[space]

    def refresh(self) -> None:
        """Follow commits made since the last look (by this process or another)."""
        revision = self.store.revision()
        for space in list(self._indexes):
            self._sync(space, revision)

    def _load(self, space: Space) -> VectorIndex:
        path, dim = self.file(space), self.dims[space]
        if path.exists():
            try:
                header, payload = persist.read(path)
                if header.dim == dim and (self.kind is None or header.kind == self.kind):
                    self._saved_revision[space] = self._revision[space] = header.revision
                    return backend_class(header.kind).from_bytes(dim, payload)
                log.info("rebuilding %s: stored as %s/%d, want %s/%d", path, header.kind, header.dim, self.kind, dim)
            except (SchemaError, ConfigError, ValueError, RuntimeError) as exc:  # ConfigError: unknown kind
                log.warning("rebuilding %s from the store: %s", path, exc)
        self._revision[space] = -1
        return create_index(self.kind or choose_kind(0), dim)

    def _sync(self, space: Space, revision: int | None = None) -> None:
        if revision is None:
            revision = self.store.revision()  # read before the ids, so a concurrent commit is caught next time
        if self._revision.get(space) == revision:
            return
        index = self._indexes[space]
        truth = self.store.chunk_ids(space)
        held = index.ids()
        stale = np.setdiff1d(held, truth, assume_unique=True)
        missing = np.setdiff1d(truth, held, assume_unique=True)
        if len(stale):
            index.remove(stale)
        if len(missing):
            ids, vectors = self.store.vectors(space, missing, self.dims[space])
            index.add(ids, vectors)
        if len(stale) or len(missing):
            log.info("%s index repaired: %d added, %d removed", space.value, len(missing), len(stale))
        self._revision[space] = revision

    def apply(self, changes: VectorChanges) -> None:
        """Mirror the transaction this process just committed (IndexWriter calls this after each write)."""
        revision = self.store.revision()
        for space in self.dims:
            if space not in self._indexes:
                self.index(space)  # first use (a new space's model just loaded): loads and syncs in full
                continue
            index = self._indexes[space]
            if self._revision.get(space) != revision - 1:
                self._sync(space)  # behind by more than this commit: the set difference covers it too
                continue
            if changes.removed:
                index.remove(np.asarray(changes.removed, np.int64))
            if space in changes.added:
                ids, vectors = changes.added[space]
                index.add(ids, vectors)
            self._revision[space] = revision

    def save(self) -> None:
        """Write every index that changed since it was last written. Only the writer calls this."""
        make_private_dir(self.directory)
        for leftover in self.directory.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)  # from a writer killed mid-save; the lock says none is running
        for space in list(self._indexes):
            revision = self._revision[space]
            if self._saved_revision.get(space) == revision and self.file(space).exists():
                continue
            index = self._reshape(space)
            header = persist.VectorFileHeader(kind=index.kind, dim=index.dim, revision=revision, count=len(index))
            try:
                persist.write_atomic(self.file(space), persist.encode(header, index.to_bytes()))
            except OSError as exc:
                raise StorageError(
                    f"cannot save {self.file(space)}: {exc.strerror or exc}. Nothing is lost: the previous file "
                    "is intact and the store holds every vector, so the next run brings the file up to date"
                ) from exc
            self._saved_revision[space] = revision

    def _reshape(self, space: Space) -> VectorIndex:
        """Move a space to the index type its size calls for (exact flat while small, IVF when large, with
        fresh cells once it has outgrown them), rebuilt from the stored vectors. Only when no kind was
        configured; down-switches wait until the space is well under the threshold, so it cannot flap."""
        index = self._indexes[space]
        if self.kind is not None:
            return index
        count = len(index)
        wanted = choose_kind(count, dim=index.dim)
        shrinking = index.kind != FaissFlatIndex.kind and wanted == FaissFlatIndex.kind
        if shrinking and count > FLAT_UP_TO // 2:
            return index
        if wanted == index.kind and not getattr(index, "outgrown", lambda: False)():
            return index
        log.info("rebuilding the %s index as %s for %d vectors", space.value, wanted, count)
        ids, vectors = self.store.vectors(space, index.ids(), self.dims[space])
        rebuilt = create_index(wanted, index.dim)
        rebuilt.add(ids, vectors)
        self._indexes[space] = rebuilt
        return rebuilt

    def load_all(self) -> None:
        for space in self.dims:
            self.index(space)
