"""The per-space vector indexes of one index directory, kept in step with the store.

The store is the truth; these files are derived. Opening compares the revision a file records with the
store's: if they differ (a crash between a commit and a save, or another process writing), the set
difference of ids is repaired from the stored vectors, without any model.

Each space's kind follows its size and the memory budget (factory.choose_kind); a change of kind, or an
index that has outgrown its training, is rebuilt from the store when the writer saves (rebuild.py: in
batches, trained on a spread sample, tuned to the recall target on held-out vectors). The re-ranking kinds
keep float16 rows (and on-disk lists) in side files `vectors/<space>.<generation>.*`, named by the index
file; after each save the writer deletes the side files the saved index no longer names.
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
from anyseek.engine.vectors.factory import (
    FLAT_UP_TO,
    bytes_per_vector,
    choose_kind,
    create_index,
    default_memory_budget,
    load_index,
)
from anyseek.engine.vectors.faiss_flat import FaissFlatIndex
from anyseek.engine.vectors.rebuild import BATCH, rebuild

log = logging.getLogger(__name__)

VECTOR_DIR = "vectors"


class VectorCatalog:
    def __init__(
        self,
        home: Path,
        store: Store,
        dims: dict[Space, int],
        kind: str | None = None,
        memory_budget_bytes: int | None = None,
        recall_target: float = 0.95,
    ) -> None:
        """`kind` forces one index type (no automatic choice, no rebuilds); `memory_budget_bytes` is what
        all spaces' indexes may hold in RAM (None: a share of the machine's); `recall_target` is the
        recall@10 that rebuilt approximate indexes are tuned to."""
        self.directory = home / VECTOR_DIR
        self.store = store
        self.dims = dims
        self.kind = kind
        self.memory_budget = default_memory_budget() if memory_budget_bytes is None else memory_budget_bytes
        self.recall_target = recall_target
        self._writing = False  # set by load_all: only the writer builds side files
        self._indexes: dict[Space, VectorIndex] = {}
        self._revision: dict[Space, int] = {}
        self._saved_revision: dict[Space, int] = {}

    def file(self, space: Space) -> Path:
        return self.directory / f"{space.value}.faiss"

    def storage(self, space: Space) -> Path:
        """The prefix of a space's side files (float16 rows, on-disk lists)."""
        return self.directory / space.value

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
        for attempt in (1, 2):  # a second time if the writer replaced the file (and its side files) meanwhile
            try:
                seen = path.stat()
                header, payload = persist.read(path)
                if header.dim == dim and (self.kind is None or header.kind == self.kind):
                    index = load_index(header.kind, dim, payload, self.storage(space))
                    self._saved_revision[space] = self._revision[space] = header.revision
                    return index
                log.info("rebuilding %s: stored as %s/%d, want %s/%d", path, header.kind, header.dim, self.kind, dim)
                break
            except FileNotFoundError:
                break
            except (SchemaError, ConfigError, ValueError, RuntimeError) as exc:  # ConfigError: unknown kind
                if attempt == 1 and _replaced(path, seen):
                    continue
                log.warning("rebuilding %s from the store: %s", path, exc)
                break
        return self._build(space)

    def _build(self, space: Space) -> VectorIndex:
        """A space with no usable index file, in the kind its size calls for. The writer builds it from the
        store at once (rebuild.py: trained on a spread sample, tuned, rows flushed as they come); a reader,
        which never writes, gets it filled by _sync in its own RAM, untuned until the writer saves one."""
        revision = self.store.revision()  # before the ids, so a concurrent commit is caught by the next sync
        ids = self.store.chunk_ids(space)
        kind = self.kind or choose_kind(len(ids), self._budget(space, len(ids)), self.dims[space])
        index = create_index(kind, self.dims[space], self.storage(space))
        self._revision[space] = -1
        if self._writing and index.approximate and len(ids) >= getattr(index, "train_at", 0):
            index = rebuild(index, self.store, space, self.dims[space], np.sort(ids), self.recall_target)
            self._revision[space] = revision
        return index

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
        for start in range(0, len(missing), BATCH):
            ids, vectors = self.store.vectors(space, missing[start : start + BATCH], self.dims[space])
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
            try:
                payload = index.to_bytes()  # a kind with side files makes them durable first
                header = persist.VectorFileHeader(
                    kind=index.kind, dim=index.dim, revision=revision, count=len(index), info=_info(index)
                )
                persist.write_atomic(self.file(space), persist.encode_parts(header, payload))
            except OSError as exc:
                raise StorageError(
                    f"cannot save {self.file(space)}: {exc.strerror or exc}. Nothing is lost: the previous file "
                    "is intact and the store holds every vector, so the next run brings the file up to date"
                ) from exc
            self._saved_revision[space] = revision
            self._remove_unnamed_files(space, index)

    def _remove_unnamed_files(self, space: Space, index: VectorIndex) -> None:
        """Side files of earlier generations (a rebuild's predecessor, or a crashed run's)."""
        named = {path.name for path in getattr(index, "files", list)()} | {self.file(space).name}
        for path in self.directory.glob(f"{space.value}.*"):
            if path.name not in named:
                path.unlink(missing_ok=True)

    def _budget(self, space: Space, count: int) -> int:
        """This space's share of the memory budget: in proportion to its full-vector size."""
        sizes = {s: len(i) * self.dims[s] for s, i in self._indexes.items() if s != space}
        mine = count * self.dims[space]
        total = mine + sum(sizes.values())
        return int(self.memory_budget * (mine / total if total else 1.0))

    def _reshape(self, space: Space) -> VectorIndex:
        """Move a space to the index type its size calls for (exact flat while small, IVF when large, IVF-PQ
        with re-ranking when full vectors pass the memory budget), rebuilt from the stored vectors; also an
        approximate index that has outgrown its cells or was never tuned. Only when no kind was configured;
        down-switches wait until the space is well under the threshold, so it cannot flap."""
        index = self._indexes[space]
        if self.kind is not None:
            return index
        count = len(index)
        wanted = choose_kind(count, self._budget(space, count), index.dim)
        shrinking = index.kind != FaissFlatIndex.kind and wanted == FaissFlatIndex.kind
        if shrinking and count > FLAT_UP_TO // 2:
            return index
        # trained but never tuned: filled by a repair or by commits rather than by a rebuild
        untuned = getattr(index, "trained", False) and getattr(index, "recall", 0.0) is None
        if wanted == index.kind and not untuned and not getattr(index, "outgrown", lambda: False)():
            return index
        log.info("rebuilding the %s index as %s for %d vectors", space.value, wanted, count)
        rebuilt = create_index(wanted, index.dim, self.storage(space))
        rebuilt = rebuild(rebuilt, self.store, space, index.dim, np.sort(index.ids()), self.recall_target)
        self._indexes[space] = rebuilt
        return rebuilt

    def load_all(self) -> None:
        """Load every space: the writer does this before it writes (and may then build side files)."""
        self._writing = True
        for space in self.dims:
            self.index(space)

    def describe(self) -> dict[str, dict[str, object]]:
        """Per space, from its saved index file: kind, vectors, bytes per vector in RAM and on disk, and the
        recall@10 measured when it was last built (None where not measured; 1.0 for exact kinds)."""
        out: dict[str, dict[str, object]] = {}
        for space in sorted(self.dims):
            try:
                header = persist.read_header(self.file(space))
            except (OSError, SchemaError):
                continue
            info = dict(header.info or {})
            count = max(header.count, 1)
            files = [self.file(space), *(self.directory / name for name in info.pop("files", []))]
            disk = sum(path.stat().st_size for path in files if path.exists())
            ram = info.pop("ram_bytes", header.count * bytes_per_vector(header.kind, header.dim))
            out[space.value] = {
                "kind": header.kind,
                "vectors": header.count,
                "ram_bytes_per_vector": round(ram / count, 1),
                "disk_bytes_per_vector": round(disk / count, 1),
                **info,
            }
        return out


def _replaced(path: Path, seen) -> bool:
    try:
        now = path.stat()
    except OSError:
        return False
    return (now.st_ino, now.st_mtime_ns) != (seen.st_ino, seen.st_mtime_ns)


def _info(index: VectorIndex) -> dict[str, object]:
    """What status reports of a saved index: its search settings, measured recall, RAM and side files."""
    info: dict[str, object] = {"recall": getattr(index, "recall", None) if index.approximate else 1.0}
    for knob in ("nprobe", "refine", "nlist"):
        value = getattr(index, f"effective_{knob}", None) or getattr(index, knob, None)
        if value is not None:
            info[knob] = value
    resident = getattr(index, "resident_bytes", None)
    info["ram_bytes"] = resident() if resident else len(index) * bytes_per_vector(index.kind, index.dim)
    info["files"] = [path.name for path in getattr(index, "files", list)()]
    return info
