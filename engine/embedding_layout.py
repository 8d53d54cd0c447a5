"""clip-retrieval's embedding folder layout, read and written as a stream of row batches.

    DIR/img_emb/img_emb_N.npy        (rows, dim) float16 or float32: image-tower (joint space) vectors
    DIR/text_emb/text_emb_N.npy      (rows, dim): text-tower vectors of the captions (also the joint space)
    DIR/metadata/metadata_N.parquet  one row per array row: `image_path`, `caption` (other columns ignored)

A shard N is the three files with the same suffix N (clip-retrieval zero-pads it: `img_emb_007.npy`), read
in numeric order. Either array folder may be absent; the metadata is not. `anyseek import-embeddings`
and `export-embeddings` (engine/embeddings_io.py) and the Ray driver's shards use this module alone, so the
format is defined once. Reading holds one batch at a time (arrays memory-mapped, parquet read in row
batches); writing holds one shard. Each file is written to a temporary name and renamed into place, metadata
last, so a reader never sees a half-written shard: a shard counts only once its metadata file exists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anyseek.engine.errors import EmbeddingLayoutError

IMAGE, TEXT, META = "img_emb", "text_emb", "metadata"
DTYPES = (np.dtype(np.float16), np.dtype(np.float32))
SHARD_ROWS = 100_000  # rows per written shard: 100 MB of float16 vectors at 512 dimensions, per array
BATCH_ROWS = 4096  # rows per batch read: the memory a reader holds is this many rows, not a shard
_SUFFIX = re.compile(r"^metadata_(\d+)\.parquet$")


@dataclass(frozen=True, slots=True)
class EmbeddingBatch:
    """Consecutive rows of one shard: `image_paths[i]`, `captions[i]` (None where absent) and row i of each
    array present (None when the folder has no such array)."""

    shard: str  # the shard's suffix as written (`007`)
    first_row: int  # the index of the batch's first row within its shard
    image_paths: list[str]
    captions: list[str | None]
    image_vectors: np.ndarray | None
    text_vectors: np.ndarray | None

    def __len__(self) -> int:
        return len(self.image_paths)


@dataclass(frozen=True, slots=True)
class LayoutInfo:
    """What a folder holds, read from the headers only."""

    shards: tuple[str, ...]
    rows: int
    dim: int
    has_image: bool
    has_text: bool


def shard_path(folder: Path, kind: str, shard: str) -> Path:
    extension = "parquet" if kind == META else "npy"
    return Path(folder) / kind / f"{kind}_{shard}.{extension}"


def shards(folder: str | os.PathLike) -> tuple[str, ...]:
    """The shard suffixes found in `folder`'s metadata, in numeric order."""
    meta = Path(folder) / META
    if not meta.is_dir():
        raise EmbeddingLayoutError(f"{folder} has no {META}/ folder: not a clip-retrieval embedding folder")
    found = [m.group(1) for m in (_SUFFIX.match(p.name) for p in meta.iterdir()) if m]
    if not found:
        raise EmbeddingLayoutError(f"{meta} holds no metadata_N.parquet file")
    return tuple(sorted(found, key=int))


def inspect(folder: str | os.PathLike) -> LayoutInfo:
    """Check every shard's arrays against its metadata (dtype, shape, row counts, one dimension) without
    reading vectors, so a bad folder is refused before anything is imported."""
    folder = Path(folder)
    found = shards(folder)
    kinds = [kind for kind in (IMAGE, TEXT) if (folder / kind).is_dir()]
    if not kinds:
        raise EmbeddingLayoutError(f"{folder} has neither {IMAGE}/ nor {TEXT}/: no vectors to import")
    rows, dims = 0, set()
    for shard in found:
        count = _metadata_rows(shard_path(folder, META, shard))
        for kind in kinds:
            array = _open_array(shard_path(folder, kind, shard))
            if array.shape[0] != count:
                raise EmbeddingLayoutError(
                    f"{shard_path(folder, kind, shard)}: {array.shape[0]} rows, but its metadata has {count}"
                )
            dims.add(array.shape[1])
        rows += count
    if len(dims) > 1:
        raise EmbeddingLayoutError(f"{folder}: the arrays have several dimensions ({sorted(dims)}); expected one")
    return LayoutInfo(found, rows, dims.pop(), IMAGE in kinds, TEXT in kinds)


def read_batches(folder: str | os.PathLike, batch_rows: int = BATCH_ROWS) -> Iterator[EmbeddingBatch]:
    """Every row of every shard, `batch_rows` at a time, vectors as float32 (call `inspect` first: this
    checks each batch's alignment only)."""
    folder = Path(folder)
    kinds = {kind: (folder / kind).is_dir() for kind in (IMAGE, TEXT)}
    for shard in shards(folder):
        arrays = {kind: _open_array(shard_path(folder, kind, shard)) for kind, present in kinds.items() if present}
        start = 0
        for paths, captions in _metadata_batches(shard_path(folder, META, shard), batch_rows):
            stop = start + len(paths)
            vectors = {kind: np.asarray(array[start:stop], dtype=np.float32) for kind, array in arrays.items()}
            for kind, block in vectors.items():
                if len(block) != len(paths):
                    raise EmbeddingLayoutError(
                        f"{shard_path(folder, kind, shard)}: fewer rows than its metadata (row {start + len(block)})"
                    )
            yield EmbeddingBatch(shard, start, paths, captions, vectors.get(IMAGE), vectors.get(TEXT))
            start = stop


def write_shard(
    folder: str | os.PathLike,
    shard: int | str,
    image_paths: Sequence[str],
    captions: Sequence[str | None],
    image_vectors: np.ndarray | None = None,
    text_vectors: np.ndarray | None = None,
    dtype: np.dtype | type = np.float16,
) -> None:
    """Write one shard (float16 like clip-retrieval by default). Arrays first, metadata last, each renamed
    into place, so a shard whose metadata exists is whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder, shard = Path(folder), str(shard)
    count = len(image_paths)
    if len(captions) != count:
        raise ValueError(f"{len(captions)} captions for {count} paths")
    for kind, array in ((IMAGE, image_vectors), (TEXT, text_vectors)):
        if array is None:
            continue
        if array.ndim != 2 or array.shape[0] != count:
            raise ValueError(f"{kind}: shape {array.shape} for {count} rows")
        target = shard_path(folder, kind, shard)
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, lambda f, a=array: np.save(f, np.ascontiguousarray(a, dtype=dtype)))
    table = pa.table(
        {"image_path": pa.array(list(image_paths), pa.string()), "caption": pa.array(list(captions), pa.string())}
    )
    target = shard_path(folder, META, shard)
    target.parent.mkdir(parents=True, exist_ok=True)
    _replace(target, lambda f: pq.write_table(table, f))


class LayoutWriter:
    """Rows appended in batches, written as shards of `shard_rows` rows numbered from `first_shard`; holds
    at most one shard. Use as a context manager (or call `close`) to write the last, partial shard."""

    def __init__(self, folder: str | os.PathLike, shard_rows: int = SHARD_ROWS, first_shard: int = 0, dtype=np.float16):
        self.folder, self.shard_rows, self.next_shard, self.dtype = Path(folder), shard_rows, first_shard, dtype
        self.rows = 0
        self._paths: list[str] = []
        self._captions: list[str | None] = []
        self._vectors: dict[str, list[np.ndarray]] = {IMAGE: [], TEXT: []}

    def add(self, image_paths, captions, image_vectors=None, text_vectors=None) -> None:
        taken = 0
        while taken < len(image_paths):
            room = min(self.shard_rows - len(self._paths), len(image_paths) - taken)
            end = taken + room
            self._paths += image_paths[taken:end]
            self._captions += captions[taken:end]
            for kind, array in ((IMAGE, image_vectors), (TEXT, text_vectors)):
                if array is not None:
                    self._vectors[kind].append(np.asarray(array[taken:end], dtype=self.dtype))
            taken = end
            if len(self._paths) >= self.shard_rows:
                self.flush()

    def flush(self) -> None:
        if not self._paths:
            return
        arrays = {kind: np.concatenate(blocks) if blocks else None for kind, blocks in self._vectors.items()}
        write_shard(self.folder, self.next_shard, self._paths, self._captions, arrays[IMAGE], arrays[TEXT], self.dtype)
        self.rows += len(self._paths)
        self.next_shard += 1
        self._paths, self._captions, self._vectors = [], [], {IMAGE: [], TEXT: []}

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> LayoutWriter:
        return self

    def __exit__(self, kind, *_exc) -> None:
        if kind is None:
            self.close()


def _open_array(path: Path) -> np.ndarray:
    if not path.is_file():
        raise EmbeddingLayoutError(f"{path} is missing: each metadata shard needs its array")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EmbeddingLayoutError(f"{path}: not a readable .npy array ({exc})") from None
    if array.ndim != 2:
        raise EmbeddingLayoutError(f"{path}: shape {array.shape}; expected (rows, dimension)")
    if array.dtype not in DTYPES:
        raise EmbeddingLayoutError(f"{path}: dtype {array.dtype}; expected float16 or float32")
    return array


def _parquet(path: Path):
    import pyarrow.lib
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except (OSError, pyarrow.lib.ArrowException) as exc:
        raise EmbeddingLayoutError(f"{path}: not a readable parquet file ({exc})") from None
    names = reader.schema_arrow.names
    if "image_path" not in names:
        raise EmbeddingLayoutError(f"{path}: no image_path column (it has {', '.join(names) or 'none'})")
    return reader, [name for name in ("image_path", "caption") if name in names]


def _metadata_rows(path: Path) -> int:
    return _parquet(path)[0].metadata.num_rows


def _metadata_batches(path: Path, batch_rows: int) -> Iterator[tuple[list[str], list[str | None]]]:
    reader, columns = _parquet(path)
    row = 0
    for batch in reader.iter_batches(batch_size=batch_rows, columns=columns):
        paths = batch.column(0).to_pylist()
        for offset, value in enumerate(paths):
            if not value:
                raise EmbeddingLayoutError(f"{path}: row {row + offset} has no image_path")
        captions = batch.column(1).to_pylist() if len(columns) > 1 else [None] * len(paths)
        yield [str(p) for p in paths], [None if c is None else str(c) for c in captions]
        row += len(paths)


def _replace(target: Path, write) -> None:
    """Write through `write(file)` to a temporary name beside `target`, fsync, and rename into place."""
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, target)
