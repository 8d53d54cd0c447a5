"""`anyseek import-embeddings` throughput: a clip-retrieval folder of synthetic 512-d vectors into a fresh
index, against reading the same folder alone (the floor: memory-mapped arrays, parquet row batches).

    .venv/bin/python -m bench.import_embeddings [--count 200000] [--no-captions] [--keep] [--out FILE]

Figures:
- rows/s and vectors/s of the import (each row: its picture's vector, and with captions its caption's
  vector and words), the FAISS build and save included, model loading not (the joint model, ViT-B-32 with
  random weights for its 512 dimensions, is loaded before the clock starts);
- the same folder read alone, in the same process just before, so the ratio shows what the index costs;
- a re-import with nothing changed (incremental: it compares digests, writes nothing);
- the importing process's resident memory above its baseline (VmRSS sampled every 50 ms): bounded by a
  batch, not by the folder;
- p50 of a search by vector afterwards.
The folder is generated once per size under .cache/bench/import-embeddings (float16, shards of 100k rows,
as clip-retrieval writes); the index is deleted unless --keep.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench.common import DEVICE, Result, cache_dir, embedding_like_blocks, load_joint, log, percentiles

DIM = 512
QUERIES = 100


def make_folder(count: int, captions: bool) -> Path:
    from anyseek.engine import embedding_layout as layout

    folder = cache_dir("import-embeddings") / f"rows-{count}-{'captions' if captions else 'images'}"
    if (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    log(f"import-embeddings: writing {count:,} rows to {folder}")
    texts = embedding_like_blocks(count, DIM, seed=1) if captions else None
    with layout.LayoutWriter(folder) as writer:
        start = 0
        for block in embedding_like_blocks(count, DIM, seed=0):
            rows = range(start, start + len(block))
            paths = [f"/photos/{i // 1000:04d}/{i:07d}.jpg" for i in rows]
            words = [f"picture {i} of topic {i % 997}" for i in rows] if captions else [None] * len(block)
            writer.add(paths, words, block, next(texts) if texts else None)
            start += len(block)
    (folder / "done").touch()
    return folder


class PeakMemory:
    """This process's VmRSS sampled in a thread: the peak above the value when it started."""

    def __init__(self) -> None:
        self.base = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def above_mb(self) -> float:
        return self.peak - self.base


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def read_alone(folder: Path) -> tuple[float, int]:
    from anyseek.engine import embedding_layout as layout

    start, rows = time.perf_counter(), 0
    layout.inspect(folder)
    for batch in layout.read_batches(folder):
        rows += len(batch)
    return time.perf_counter() - start, rows


def run(count: int = 200_000, captions: bool = True, keep: bool = False) -> Result:
    from anyseek.engine import Engine

    folder = make_folder(count, captions)
    encoders, models = load_joint("ViT-B-32")
    encoders.for_image_query()  # loaded before the clock: model loading is not importing
    result = Result("import-embeddings")
    read_s, rows = read_alone(folder)
    home = Path(tempfile.mkdtemp(dir=cache_dir("work")))
    try:
        with Engine.open(home, encoders=encoders, **models, device=DEVICE) as eng:
            with PeakMemory() as memory:
                start = time.perf_counter()
                report = eng.import_embeddings(folder)
                import_s = time.perf_counter() - start
            log(f"import-embeddings: {report.added:,} rows in {import_s:.1f}s")
            start = time.perf_counter()
            again = eng.import_embeddings(folder)
            again_s = time.perf_counter() - start
            if again.unchanged != rows:
                raise RuntimeError(f"a re-import was not a no-op: {again.to_dict()}")
            queries = next(embedding_like_blocks(QUERIES, DIM, seed=2))
            latency = []
            for query in queries:
                start = time.perf_counter()
                eng.search(vector=query, k=10)
                latency.append(time.perf_counter() - start)
            kinds = {space: info.get("kind") for space, info in eng.status().vector_indexes.items()}
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
    vectors = rows * (2 if captions else 1)
    search = percentiles(latency)
    result.figures = {
        "rows": rows,
        "vectors": vectors,
        "dim": DIM,
        "captions": captions,
        "read_alone_s": read_s,
        "import_s": import_s,
        "reimport_s": again_s,
        "rows_per_s": rows / import_s,
        "vectors_per_s": vectors / import_s,
        "peak_rss_above_base_mb": memory.above_mb,
        "search_by_vector": search,
        "vector_indexes": kinds,
    }
    result.row(f"read {rows:,} rows alone (floor)", f"{read_s:.1f} s ({rows / read_s:,.0f} rows/s)")
    result.row(
        f"import {rows:,} rows ({vectors:,} vectors, {DIM}-d)",
        f"{import_s:.1f} s ({rows / import_s:,.0f} rows/s, {vectors / import_s:,.0f} vectors/s)",
    )
    result.row("import / read alone", f"{import_s / read_s:.1f}x")
    result.row("re-import, nothing changed", f"{again_s:.1f} s ({rows / again_s:,.0f} rows/s)")
    result.row("memory above baseline while importing", f"{memory.above_mb:.0f} MB")
    result.row("search by vector afterwards, p50", f"{search['p50_ms']:.1f} ms")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--no-captions", action="store_true", help="img_emb and image_path only")
    parser.add_argument("--keep", action="store_true", help="keep the index under .cache/bench/work")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    from bench.run import print_alone

    result = run(count=args.count, captions=not args.no_captions, keep=args.keep)
    print_alone(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
