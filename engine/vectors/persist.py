"""Atomic, self-describing files for vector indexes.

One file per space holds a small JSON header (backend kind, dimension, the store revision it reflects)
and the backend's payload. It is written to a temporary file, fsynced, renamed over the old one and the
directory fsynced, so a crash or a full disk leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from anyseek.engine import faults
from anyseek.engine.errors import SchemaError
from anyseek.engine.privacy import open_private

Buffer = bytes | bytearray | memoryview  # what an index's to_bytes gives: bytes, or a view of its buffer
MAGIC = b"ANYSEEK-VECTORS\x00"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class VectorFileHeader:
    kind: str
    dim: int
    revision: int
    count: int
    format_version: int = FORMAT_VERSION
    info: dict | None = None  # what status shows: search settings, measured recall, RAM, side files


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: Buffer | Sequence[Buffer]) -> None:
    """`data`: the bytes, or their parts in order (a large index's header and payload are written one after
    the other, never joined into one more copy of the payload)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    parts = [data] if isinstance(data, bytes | bytearray | memoryview) else data
    try:
        with open(tmp, "wb", opener=open_private) as fh:  # owner-only from the start
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())
        faults.checkpoint("vectors.save")  # new file complete, old one still in place
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def encode(header: VectorFileHeader, payload: Buffer) -> bytes:
    return b"".join(encode_parts(header, payload))


def encode_parts(header: VectorFileHeader, payload: Buffer) -> list[Buffer]:
    """The file as its two parts: the header, then the payload as it is (no copy of it)."""
    head = json.dumps(_asdict(header)).encode()
    return [MAGIC + struct.pack("<Q", len(head)) + head, payload]


def _asdict(header: VectorFileHeader) -> dict:
    return {name: getattr(header, name) for name in header.__slots__}


def read(path: Path) -> tuple[VectorFileHeader, bytes]:
    data = path.read_bytes()
    header, start = _parse_header(path, data)
    return header, data[start:]


def read_header(path: Path) -> VectorFileHeader:
    """The header alone, without reading the payload (status on a large index)."""
    with open(path, "rb") as fh:
        head = fh.read(len(MAGIC) + 8)
        if len(head) == len(MAGIC) + 8:
            head += fh.read(struct.unpack_from("<Q", head, len(MAGIC))[0])
    return _parse_header(path, head)[0]


def _parse_header(path: Path, data: bytes) -> tuple[VectorFileHeader, int]:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        raise SchemaError(f"{path} is not an anyseek vector file; delete it and it is rebuilt from the store")
    (length,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    try:
        header = VectorFileHeader(**json.loads(data[start : start + length]))
    except (ValueError, TypeError):
        raise SchemaError(f"{path} has a damaged header; delete it and it is rebuilt from the store") from None
    if header.format_version > FORMAT_VERSION:
        raise SchemaError(f"{path} was written by a newer anyseek (format {header.format_version})")
    return header, start + length
