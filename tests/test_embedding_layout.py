"""engine/embedding_layout.py: clip-retrieval's folder layout, written and read back as row batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anyseek.engine import embedding_layout as layout
from anyseek.engine.errors import EmbeddingLayoutError


def _rows(count: int, dim: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    paths = [f"/data/{i:05d}.jpg" for i in range(count)]
    captions = [f"caption {i}" if i % 3 else None for i in range(count)]
    return paths, captions, rng.standard_normal((count, dim)).astype(np.float32), rng.standard_normal((count, dim))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_written_shards_read_back_in_order_in_small_batches(tmp_path, dtype):
    paths, captions, image, text = _rows(25)
    with layout.LayoutWriter(tmp_path, shard_rows=10, dtype=dtype) as writer:
        writer.add(paths[:7], captions[:7], image[:7], text[:7])
        writer.add(paths[7:], captions[7:], image[7:], text[7:])
    assert writer.rows == 25
    assert layout.shards(tmp_path) == ("0", "1", "2")
    assert np.load(layout.shard_path(tmp_path, layout.IMAGE, "1")).dtype == np.dtype(dtype)
    info = layout.inspect(tmp_path)
    assert (info.rows, info.dim, info.has_image, info.has_text) == (25, 8, True, True)
    batches = list(layout.read_batches(tmp_path, batch_rows=4))
    assert max(len(b) for b in batches) == 4
    assert [p for b in batches for p in b.image_paths] == paths
    assert [c for b in batches for c in b.captions] == captions
    read_image = np.concatenate([b.image_vectors for b in batches])
    read_text = np.concatenate([b.text_vectors for b in batches])
    tolerance = 1e-2 if dtype is np.float16 else 1e-6
    assert read_image.dtype == np.float32
    np.testing.assert_allclose(read_image, image, atol=tolerance, rtol=tolerance)
    np.testing.assert_allclose(read_text, text, atol=tolerance, rtol=tolerance)
    assert {(b.shard, b.first_row) for b in batches} >= {("0", 0), ("0", 4), ("1", 0), ("2", 4)}


def test_zero_padded_shards_sort_numerically_and_text_alone_is_enough(tmp_path):
    paths, captions, _image, text = _rows(6)
    for shard, rows in (("10", slice(3, 6)), ("02", slice(0, 3))):
        layout.write_shard(tmp_path, shard, paths[rows], captions[rows], text_vectors=text[rows])
    assert layout.shards(tmp_path) == ("02", "10")
    info = layout.inspect(tmp_path)
    assert (info.has_image, info.has_text, info.rows) == (False, True, 6)
    batches = list(layout.read_batches(tmp_path))
    assert [p for b in batches for p in b.image_paths] == paths
    assert all(b.image_vectors is None for b in batches)


def test_metadata_without_caption_and_with_other_columns(tmp_path):
    layout.write_shard(tmp_path, 0, ["a.jpg", "b.jpg"], ["x", "y"], np.ones((2, 4), np.float32))
    pq.write_table(
        pa.table({"url": ["u1", "u2"], "image_path": ["a.jpg", "b.jpg"]}), tmp_path / "metadata/metadata_0.parquet"
    )
    (batch,) = layout.read_batches(tmp_path)
    assert batch.image_paths == ["a.jpg", "b.jpg"] and batch.captions == [None, None]


def _broken(tmp_path, breaks: str):
    layout.write_shard(tmp_path, 0, ["a.jpg", "b.jpg"], ["x", "y"], np.ones((2, 4), np.float32), np.ones((2, 4)))
    if breaks == "rows":
        np.save(tmp_path / "img_emb/img_emb_0.npy", np.ones((3, 4), np.float32))
    elif breaks == "dtype":
        np.save(tmp_path / "img_emb/img_emb_0.npy", np.ones((2, 4), np.int64))
    elif breaks == "dims":
        np.save(tmp_path / "text_emb/text_emb_0.npy", np.ones((2, 5), np.float32))
    elif breaks == "missing array":
        (tmp_path / "text_emb/text_emb_0.npy").unlink()
    elif breaks == "no image_path":
        pq.write_table(pa.table({"caption": ["x", "y"]}), tmp_path / "metadata/metadata_0.parquet")
    elif breaks == "not parquet":
        (tmp_path / "metadata/metadata_0.parquet").write_bytes(b"not parquet")
    elif breaks == "no metadata":
        (tmp_path / "metadata/metadata_0.parquet").unlink()


@pytest.mark.parametrize(
    ("breaks", "named"),
    [
        ("rows", "img_emb_0.npy: 3 rows"),
        ("dtype", "dtype int64"),
        ("dims", "several dimensions"),
        ("missing array", "text_emb_0.npy is missing"),
        ("no image_path", "no image_path column"),
        ("not parquet", "metadata_0.parquet: not a readable parquet"),
        ("no metadata", "no metadata_N.parquet"),
    ],
)
def test_a_bad_folder_is_one_line_naming_the_file(tmp_path, breaks, named):
    _broken(tmp_path, breaks)
    with pytest.raises(EmbeddingLayoutError) as caught:
        layout.inspect(tmp_path)
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_a_shard_without_metadata_is_not_read_and_no_temporary_file_stays(tmp_path):
    layout.write_shard(tmp_path, 0, ["a.jpg"], [None], np.ones((1, 4), np.float32))
    np.save(tmp_path / "img_emb/img_emb_1.npy", np.ones((1, 4), np.float32))  # a writer killed before metadata
    assert layout.shards(tmp_path) == ("0",)
    assert not list(tmp_path.rglob("*.tmp"))
