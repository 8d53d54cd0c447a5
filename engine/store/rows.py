"""Rows into records: the one place a row's columns become an Item or a Chunk, and the vector blob format."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from anyseek.engine.records import Box, Chunk, ChunkKind, Item, ItemStatus, Modality


def pack_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack_vectors(blobs: Iterable[bytes], dim: int) -> np.ndarray:
    data = b"".join(blobs)
    return np.frombuffer(data, dtype=np.float16).reshape(-1, dim).astype(np.float32)


def roundtrip(vector: np.ndarray) -> np.ndarray:
    """The vector exactly as it will be read back from the store, so a rebuilt index equals a live one."""
    return np.asarray(vector, dtype=np.float16).astype(np.float32)


def item_record(row) -> Item:
    modality = Modality(row.modality) if row.modality else None
    return Item(
        row.id,
        row.path,
        modality,
        row.size,
        row.mtime_ns,
        row.content_hash,
        ItemStatus(row.status),
        row.error,
        row.indexed_at,
        row.captured_at,
        row.ocr,
    )


def chunk_record(row) -> Chunk:
    return Chunk(
        ChunkKind(row.kind),
        row.ordinal,
        row.text,
        row.char_start,
        row.char_end,
        row.start_s,
        row.end_s,
        row.id,
        row.page,
        row.slide,
        row.sheet,
        row.row,
        row.row_end,
        box_record(row),
        row.confidence,
        row.field,
    )


def box_record(row) -> Box | None:
    if row.box_x is None:
        return None
    return Box(row.box_x, row.box_y, row.box_w, row.box_h, row.picture_w, row.picture_h)


def box_columns(box: Box | None) -> dict[str, int | None]:
    """A chunk's box as its row's columns (all None without one)."""
    if box is None:
        return dict.fromkeys(("box_x", "box_y", "box_w", "box_h", "picture_w", "picture_h"))
    return {
        "box_x": box.x,
        "box_y": box.y,
        "box_w": box.w,
        "box_h": box.h,
        "picture_w": box.width,
        "picture_h": box.height,
    }
