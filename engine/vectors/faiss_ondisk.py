"""IVF-PQ with exact re-ranking whose inverted lists live on disk: for a space whose codes do not fit
the memory budget. RAM holds the coarse quantizer, a chunk id and a flag per row, and the codes added since
the lists file was last written (the delta); the lists (codes and row ids) are memory-mapped from
`<space>.<token>.ivfdata` (ondisk.py), the float16 rows are read from the vector file as for
ivf-pq-refine.

The lists file is written whole and never changed: new vectors go to the delta in RAM, searched beside it;
once the delta reaches `SEAL_ROWS` (or at the end of a rebuild) the writer's flush writes the lists and the
delta into a new file (dropping removed rows), switches to it, and the index file saved next records it.
A rebuild of 10M vectors thus holds at most SEAL_ROWS codes in RAM at a time.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from anyseek.engine.vectors.faiss_flat import _faiss
from anyseek.engine.vectors.faiss_refine import FaissIvfPqRefineIndex
from anyseek.engine.vectors.ondisk import open_lists, write_lists

SEAL_ROWS = 1_000_000  # 64 MB of 512-d codes


class FaissIvfPqDiskIndex(FaissIvfPqRefineIndex):
    kind = "ivf-pq-disk"

    def __init__(
        self,
        dim: int,
        nprobe: int = 0,
        refine: int = 0,
        train_at: int = 0,
        nlist: int = 0,
        recall: float | None = None,
        storage: Path | None = None,
    ) -> None:
        super().__init__(dim, nprobe, refine, train_at, nlist, recall, storage)
        self._template = None  # the trained, empty index (quantizer and PQ), serialized
        self._delta = None  # codes added since the lists file was written
        self._lists_file: str | None = None
        self._lists_table: np.ndarray | None = None
        self._committed_lists: str | None = None  # the lists file the saved index file names

    def _install(self, index) -> None:
        faiss = _faiss()
        self._template = faiss.serialize_index(index)
        self._index = index  # empty lists in RAM until the first seal puts them on disk
        self._delta = faiss.deserialize_index(self._template)

    def _codes_target(self):
        return self._delta

    def _candidates(self, queries: np.ndarray, pool: int, nprobe: int, selector=None) -> np.ndarray:
        params = _faiss().SearchParametersIVF(nprobe=nprobe)
        if selector is not None:
            params.sel = selector
        scores, rows = self._index.search(queries, pool, params=params)
        if not self._delta.ntotal:
            return rows
        more_scores, more_rows = self._delta.search(queries, pool, params=params)
        scores, rows = np.hstack([scores, more_scores]), np.hstack([rows, more_rows])
        order = np.argsort(-scores, axis=1, kind="stable")[:, :pool]
        return np.take_along_axis(rows, order, axis=1)

    def flush(self, complete: bool = False) -> None:
        """Rows to the vector file; the delta into a new lists file once it is large (or `complete`)."""
        self.rows.flush()
        if self.trained and self.storage is not None and self._delta.ntotal:
            if complete or self._delta.ntotal >= SEAL_ROWS:
                self._seal()

    def _seal(self) -> None:
        faiss = _faiss()
        name = f"{self.storage.name}.{secrets.token_hex(6)}.ivfdata"
        dead = self._dead.view()
        sources = [self._index.invlists, self._delta.invlists]
        table = write_lists(self._lists_path(name), sources, self.nlist, self._index.code_size, lambda r: ~dead[r])
        self._attach_lists(name, table)
        self._delta = faiss.deserialize_index(self._template)
        superseded, self._lists_file = self._lists_file, name
        if superseded and superseded != self._committed_lists:  # written by this run, named by no saved file
            self._lists_path(superseded).unlink(missing_ok=True)

    def _lists_path(self, name: str) -> Path:
        if self.storage is None:
            raise ValueError("this index keeps its lists in a file; open it with the directory that holds them")
        return self.storage.with_name(name)

    def _attach_lists(self, name: str, table: np.ndarray) -> None:
        lists = open_lists(self._lists_path(name), table, self._index.code_size)
        self._index.replace_invlists(lists, True)
        lists.this.disown()  # the index owns (and unmaps) it now
        self._index.ntotal = int(table[:, 0].sum())
        self._lists_table = table

    def outgrown(self) -> bool:
        return super().outgrown() or (self.trained and self._delta.ntotal > max(SEAL_ROWS, len(self) // 4))

    def _in_ram_lists(self) -> bool:
        return False

    def _extra_resident_bytes(self) -> int:
        return int(self._delta.ntotal) * (self._delta.code_size + 8) if self._delta is not None else 0

    def files(self) -> list[Path]:
        lists = [self._lists_path(self._lists_file)] if self._lists_file else []
        return super().files() + lists

    # --- persistence ------------------------------------------------------------------------------
    def _index_state(self, arrays: dict) -> dict:
        arrays["index"] = self._template
        arrays["delta"] = _faiss().serialize_index(self._delta)
        if self._lists_file:
            arrays["lists"] = self._lists_table
        self._committed_lists = self._lists_file
        return {"lists_file": self._lists_file}

    def _restore_index(self, index, state: dict, arrays: dict) -> None:
        faiss = _faiss()
        self._template, self._index = arrays["index"], index
        try:
            self._delta = faiss.deserialize_index(arrays["delta"])
        except (KeyError, RuntimeError) as exc:
            raise ValueError(f"damaged {self.kind} index payload: {exc}") from None
        if name := state.get("lists_file"):
            self._attach_lists(name, arrays["lists"])
            self._lists_file = self._committed_lists = name
        held = int(self._index.ntotal + self._delta.ntotal)
        if not len(self.rows) - self._dead_count <= held <= len(self.rows):
            raise ValueError(f"{self.kind} index holds {held} codes for {len(self.rows)} rows")
