"""Inverted lists in a file, served by FAISS's OnDiskInvertedLists through a read-only memory map: an IVF
index whose codes do not fit in RAM keeps only its coarse quantizer resident, and the kernel pages in the
lists a query probes.

The file is FAISS's on-disk layout (per list: its codes, then its int64 ids) written here in one sequential
pass, list by list, from any number of source lists (the lists already on disk and those added in RAM since),
so writing it needs memory for one list, not for the index. Where each list starts is a small table that
the index keeps in its own atomically saved file; the lists file gets a fresh name each time and is never
changed after it is written, so a reader that mapped it is never disturbed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from anyseek.engine.vectors.faiss_flat import _faiss


def list_entries(invlists, number: int, code_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The codes (uint8, size x code_size) and ids of one list."""
    faiss = _faiss()
    size = invlists.list_size(number)
    if not size:
        return np.empty((0, code_size), np.uint8), np.empty(0, np.int64)
    codes = faiss.rev_swig_ptr(invlists.get_codes(number), size * code_size).reshape(size, code_size).copy()
    ids = faiss.rev_swig_ptr(invlists.get_ids(number), size).copy()
    return codes, ids.astype(np.int64)


def write_lists(
    path: Path, sources: Sequence, nlist: int, code_size: int, keep: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Write the union of `sources`' lists (entries whose ids `keep` accepts) to a new file, fsynced.
    Returns the table of (size, offset) per list."""
    table = np.zeros((nlist, 2), np.int64)
    offset = 0
    with open(path, "wb") as fh:
        for number in range(nlist):
            parts = [list_entries(source, number, code_size) for source in sources]
            codes = np.concatenate([c for c, _ in parts])
            ids = np.concatenate([i for _, i in parts])
            mask = keep(ids)
            codes, ids = codes[mask], ids[mask]
            table[number] = (len(ids), offset)
            fh.write(codes.tobytes())
            fh.write(ids.tobytes())
            offset += len(ids) * (code_size + 8)
        if offset == 0:
            fh.write(b"\x00" * 8)  # mmap refuses an empty file
        fh.flush()
        os.fsync(fh.fileno())
    return table


def open_lists(path: Path, table: np.ndarray, code_size: int):
    """The lists of `path` as a read-only, memory-mapped OnDiskInvertedLists; ValueError when the file
    does not hold what the table says."""
    faiss = _faiss()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(f"inverted lists file missing: {exc}") from None
    ends = table[:, 1] + table[:, 0] * (code_size + 8)
    if len(table) and int(ends.max()) > size:
        raise ValueError(f"{path} is shorter than its index recorded")
    lists = faiss.OnDiskInvertedLists()
    lists.nlist, lists.code_size = len(table), code_size
    lists.filename, lists.read_only = str(path), True
    for count, offset in table.tolist():
        entry = faiss.OnDiskOneList()
        entry.size = entry.capacity = count
        entry.offset = offset
        lists.lists.push_back(entry)
    lists.totsize = size
    lists.do_mmap()
    return lists
