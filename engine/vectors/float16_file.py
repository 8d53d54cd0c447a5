"""The exact vectors of one space as float16 rows on disk, for re-ranking: the compressed indexes
(faiss_refine) keep only codes in RAM and read their top candidates' rows from here.

Files, per space and generation (a random token): `<space>.<generation>.f16` (a 64-byte header: magic,
dimension, generation; then one row of `dim` float16 per vector) and `<space>.<generation>.ids` (one int64
chunk id per row). Both are derived from the store and append-only. Which prefix of them is valid is
recorded in the space's index file (`<space>.faiss`, saved atomically by persist.write_atomic): the
generation and the count of committed rows, written only after these files are fsynced. So:
- a crash while appending leaves rows past the committed count; nothing reads them, and the next flush
  writes over them;
- a rebuild writes a new generation beside the old one; the atomic rename of the index file switches to it,
  and only then is the old generation deleted (a reader holding it open keeps reading it);
- a missing or short file, or another header, is a ValueError, on which the catalog rebuilds from the store.

Rows are read with positioned reads (os.pread), not through a memory map. Both are served by the page
cache, but a mapped page that a query touched counts in the searching process's resident memory until the
kernel reclaims it, so a long-running server's RSS would creep towards the file's size; a pread copies only
the candidates' rows. Without a path (tests, benchmarks of the backend alone) the rows live in RAM and
travel in the index's byte form.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import numpy as np

from anyseek.engine import faults

MAGIC = b"ANYSEEK-F16ROWS\x00"
HEADER_BYTES = 64


class Growing:
    """An array that grows by doubling, so adding a million rows in indexer-sized batches stays linear."""

    def __init__(self, dtype, width: int = 0) -> None:
        self.width = width
        self._data = np.empty((16, width) if width else 16, dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        needed = self.size + len(values)
        if needed > len(self._data):
            grown = np.empty((max(needed, 2 * len(self._data)), *self._data.shape[1:]), self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    def view(self) -> np.ndarray:
        return self._data[: self.size]

    def clear(self) -> None:
        self.__init__(self._data.dtype, self.width)


class Float16File:
    def __init__(self, dim: int, prefix: Path | None = None, generation: str | None = None) -> None:
        self.dim = dim
        self.prefix = prefix  # vectors/<space>; None: rows in RAM only
        self.generation = generation or secrets.token_hex(6)
        self.committed = 0  # rows durable in the file
        self._ids = Growing(np.int64)  # the chunk id of every row, committed and pending
        self._pending = Growing(np.float16, dim)  # rows not in the file yet (all of them without a path)
        self._fd: int | None = None
        self._sorted = True  # ids ascending (chunk ids arrive in order): lookups need no extra index
        self._order: np.ndarray | None = None  # argsort of the ids when they are not ascending

    # --- files ------------------------------------------------------------------------------------
    @property
    def row_path(self) -> Path:
        assert self.prefix is not None
        return self.prefix.with_name(f"{self.prefix.name}.{self.generation}.f16")

    @property
    def ids_path(self) -> Path:
        assert self.prefix is not None
        return self.prefix.with_name(f"{self.prefix.name}.{self.generation}.ids")

    def files(self) -> list[Path]:
        return [self.row_path, self.ids_path] if self.prefix is not None else []

    def _header(self) -> bytes:
        meta = json.dumps({"dim": self.dim, "generation": self.generation}).encode()
        return (MAGIC + meta).ljust(HEADER_BYTES, b"\x00")

    @classmethod
    def open(cls, dim: int, prefix: Path, generation: str, committed: int) -> Float16File:
        """The committed rows of an existing generation; ValueError when the files do not hold them."""
        out = cls(dim, prefix, generation)
        try:
            with open(out.row_path, "rb") as fh:
                head = fh.read(HEADER_BYTES)
            size = out.row_path.stat().st_size
            ids = np.fromfile(out.ids_path, np.int64, count=committed)
        except OSError as exc:
            raise ValueError(f"vector file missing or unreadable: {exc}") from None
        if head != out._header():
            raise ValueError(f"{out.row_path} belongs to another index (dimension or generation differ)")
        if size < HEADER_BYTES + committed * out.row_bytes or len(ids) < committed:
            raise ValueError(f"{out.row_path} holds fewer than the {committed} rows its index recorded")
        out._ids.extend(ids)
        out.committed = committed
        out._sorted = bool(np.all(ids[1:] > ids[:-1]))
        out._fd = os.open(out.row_path, os.O_RDONLY)  # now: a rebuild may delete the name, not this file
        return out

    @property
    def row_bytes(self) -> int:
        return 2 * self.dim

    def flush(self) -> None:
        """Append the pending rows to the files and fsync them (the writer, before saving the index file).
        Rows past the committed count, left by a crash, are written over and cut off."""
        if self.prefix is None or (self._pending.size == 0 and self.row_path.exists()):
            return
        rows, ids = self._pending.view(), self._ids.view()[self.committed :]
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        for path, start, data in (
            (self.row_path, HEADER_BYTES + self.committed * self.row_bytes, rows),
            (self.ids_path, 8 * self.committed, ids),
        ):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if path == self.row_path:
                    os.pwrite(fd, self._header(), 0)
                _pwrite_all(fd, np.ascontiguousarray(data).tobytes(), start)
                faults.checkpoint("vectors.rows")  # rows appended, not yet committed by an index file
                os.ftruncate(fd, start + data.nbytes)
                os.fsync(fd)
            finally:
                os.close(fd)
        self.committed += len(rows)
        self._pending.clear()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    # --- rows -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._ids.size

    def append(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Store rows for these ids; returns their row numbers."""
        first = len(self)
        if len(ids):
            if self._sorted and (first and ids[0] <= self._ids.view()[-1] or np.any(ids[1:] <= ids[:-1])):
                self._sorted = False
            self._order = None
            self._ids.extend(ids)
            self._pending.extend(vectors.astype(np.float16))
        return np.arange(first, first + len(ids), dtype=np.int64)

    def ids(self) -> np.ndarray:
        return self._ids.view()

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """The row of each id (the last one, where a removed id came back), or -1 where it has none."""
        column = self._ids.view()
        if not len(column) or not len(ids):
            return np.full(len(ids), -1, np.int64)
        if self._sorted:
            rows = np.searchsorted(column, ids, side="right") - 1
        else:
            if self._order is None:
                self._order = np.argsort(column, kind="stable")
            pos = np.searchsorted(column, ids, side="right", sorter=self._order) - 1
            rows = self._order[np.maximum(pos, 0)]
            rows[pos < 0] = -1
        found = (rows >= 0) & (column[np.maximum(rows, 0)] == ids)
        return np.where(found, rows, -1).astype(np.int64)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """These rows as float32, in the order given."""
        rows = np.asarray(rows, np.int64)
        out = np.empty((len(rows), self.dim), np.float16)
        in_file = rows < self.committed
        if in_file.any():
            out[in_file] = self._read_file(rows[in_file])
        if (~in_file).any():
            out[~in_file] = self._pending.view()[rows[~in_file] - self.committed]
        return out.astype(np.float32)

    def _read_file(self, rows: np.ndarray) -> np.ndarray:
        """One pread per run of nearby rows (sorted first): rows less than a page apart are read together
        with what lies between, which costs less than another system call."""
        if self._fd is None:  # rows this process flushed itself
            self._fd = os.open(self.row_path, os.O_RDONLY)
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        out = np.empty((len(rows), self.dim), np.float16)
        breaks = np.flatnonzero(np.diff(wanted) > max(1, 4096 // self.row_bytes)) + 1
        for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(wanted)]):
            first, count = int(wanted[start]), int(wanted[stop - 1] - wanted[start] + 1)
            raw = os.pread(self._fd, count * self.row_bytes, HEADER_BYTES + first * self.row_bytes)
            block = np.frombuffer(raw, np.float16).reshape(count, self.dim)
            out[order[start:stop]] = block[wanted[start:stop] - first]
        return out

    def blocks(self, size: int = 65_536):
        """(first row, float32 block) over every row, for exact scans."""
        for start in range(0, len(self), size):
            yield start, self.read(np.arange(start, min(start + size, len(self))))

    # --- byte form without a path -----------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        if self.prefix is None:
            return {"row_ids": self._ids.view(), "rows": self._pending.view()}
        return {}

    def state(self) -> dict[str, object]:
        return {"generation": self.generation, "committed": self.committed, "in_memory": self.prefix is None}

    @classmethod
    def restore(cls, dim: int, prefix: Path | None, state: dict, arrays) -> Float16File:
        if state.get("in_memory", True):
            out = cls(dim, None, state.get("generation"))
            out.append(np.asarray(arrays["row_ids"], np.int64), np.asarray(arrays["rows"], np.float16))
            return out
        if prefix is None:
            raise ValueError("this index keeps its vectors in files; open it with the directory that holds them")
        return cls.open(dim, prefix, state["generation"], int(state["committed"]))


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
