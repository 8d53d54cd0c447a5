"""Embeddings in and out (issue 24, section 1): search by vector, `import-embeddings` of a clip-retrieval
folder and `export-embeddings`, with the demo joint model, real FAISS and SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from anyseek.engine.errors import EmbeddingLayoutError, QueryError
from anyseek.engine.records import Space
from tests.embedding_fixtures import DEMO_MODEL, DEMO_SETTINGS, demo_encoders, make_folder, write_folder
from tests.server_helpers import API, client_for

# the demo model's vectors are float16 when imported: a vector's own row comes back at cosine ~1, not 1
SAME = 0.995


@pytest.fixture(scope="module")
def demo():
    return demo_encoders()


@pytest.fixture(scope="module")
def rows(demo, tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("clip-retrieval"), demo)


@pytest.fixture()
def open_demo(tmp_path, demo):
    from anyseek.engine import Engine

    opened = []

    def _open(name: str = "index"):
        eng = Engine.open(tmp_path / name, encoders=demo, **DEMO_SETTINGS)
        opened.append(eng)
        return eng

    yield _open
    for eng in opened:
        eng.close()


@pytest.fixture(scope="module")
def imported(rows, demo, tmp_path_factory):
    from anyseek.engine import Engine

    eng = Engine.open(tmp_path_factory.mktemp("imported"), encoders=demo, **DEMO_SETTINGS)
    report = eng.import_embeddings(rows.folder, batch_rows=3)
    yield eng, report
    eng.close()


def names(hits) -> list[str]:
    return [Path(hit.path).stem for hit in hits]


def test_import_makes_one_item_per_row_with_its_caption(imported, rows):
    eng, report = imported
    assert (report.rows, report.added, report.dim, report.with_image, report.with_text) == (6, 6, 128, True, True)
    assert eng.status().items == {"image": 6}
    hit = eng.search(vector=rows.text[1], k=1)[0]
    assert hit.path == rows.paths[1] and hit.snippet == rows.captions[1]


@pytest.mark.parametrize("row", range(6))
def test_search_by_vector_finds_its_own_row_first(imported, rows, row):
    eng, _ = imported
    hit = eng.search(vector=rows.image[row], k=3)[0]
    assert hit.path == rows.paths[row] and hit.similarity > SAME and hit.score > 0.9


def test_a_vector_is_normalised_and_scored_as_a_query_of_its_space(imported, rows):
    eng, _ = imported
    plain = eng.search(vector=rows.image[2], k=4)
    scaled = eng.search(vector=(7.5 * rows.image[2]).tolist(), k=4)
    assert names(plain)[0] == names(scaled)[0] and set(names(plain)) == set(names(scaled))  # near-ties may swap
    assert sorted(h.score for h in plain) == pytest.approx(sorted(h.score for h in scaled), abs=1e-4)
    as_image = eng.search(image=rows.paths[2], k=4)
    assert names(as_image)[0] == names(plain)[0]
    assert plain[0].score == pytest.approx(as_image[0].score, abs=0.02)  # the same null, the same scale
    assert all(h.score < 0.5 for h in plain[1:])  # the other pictures are unrelated: low, as for an image query


def test_text_and_image_queries_find_imported_pictures(imported, rows):
    eng, _ = imported
    for row, caption in enumerate(rows.captions):
        assert eng.search(text=caption, k=1, modalities="image")[0].path == rows.paths[row]
        assert eng.search(image=rows.paths[row], k=1)[0].path == rows.paths[row]


def test_vector_search_with_filters(imported, rows):
    eng, _ = imported
    cool = str(Path(rows.paths[1]).parent)
    hits = eng.search(vector=rows.image[0], k=6, path=cool)
    assert hits and all(hit.path.startswith(cool + os.sep) for hit in hits)
    assert rows.paths[0] not in [hit.path for hit in hits]
    assert not eng.search(vector=rows.image[0], k=6, modalities="audio").hits
    assert not eng.search(vector=rows.image[0], k=6, after="2020-01-01").hits  # imported rows have no date
    combined = eng.search(vector=rows.image[3], text=rows.captions[3], k=1)
    assert combined[0].path == rows.paths[3]


def test_a_filtered_search_follows_the_index_as_it_changes(open_demo, rows):
    """The ids a filter allows are kept between searches (search/allowed.py) until the index changes."""
    eng = open_demo()
    eng.import_embeddings(rows.folder)
    cool = str(Path(rows.paths[1]).parent)
    before = [hit.path for hit in eng.search(vector=rows.image[1], k=20, path=cool, modalities="image")]
    assert before and before[0] == rows.paths[1]
    assert eng.remove([rows.paths[1]]) == 1
    after = [hit.path for hit in eng.search(vector=rows.image[1], k=20, path=cool, modalities="image")]
    assert rows.paths[1] not in after and set(after) == set(before) - {rows.paths[1]}
    eng.import_embeddings(rows.folder)  # the row comes back: the same filter finds it again
    again = [hit.path for hit in eng.search(vector=rows.image[1], k=20, path=cool, modalities="image")]
    assert again[0] == rows.paths[1]


def test_a_wrong_vector_is_one_line(imported):
    eng, _ = imported
    cases = {
        "has 5 dimensions; the joint space of this index has 128": dict(vector=np.ones(5)),
        "holds no vectors in the text space": dict(vector=np.ones(384), space="text"),
        "all zeros": dict(vector=np.zeros(128)),
        "not a finite number": dict(vector=[float("nan")] * 128),
        "space must be one of": dict(vector=np.ones(128), space="audio"),
        "needs a dense mode": dict(vector=np.ones(128), mode="lexical"),
    }
    for expected, options in cases.items():
        with pytest.raises(QueryError) as caught:
            eng.search(**options)
        assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_text_space_vector_answers_like_the_text_query(docs_index):
    vector = docs_index.encoders.for_text_query("text").encode_texts(["tomatoes need sun and water"])[0]
    by_vector = docs_index.search(vector=vector, space=Space.TEXT, k=3)
    by_text = docs_index.search(text="tomatoes need sun and water", k=3, mode="dense", spaces=[Space.TEXT])
    assert names(by_vector)[0] == "garden" == names(by_text)[0]
    assert by_vector[0].similarity == pytest.approx(by_text[0].similarity, abs=1e-3)


def test_http_search_by_vector(imported, rows):
    eng, _ = imported
    with client_for(eng) as client:
        found = client.post(f"{API}/search", json={"vector": rows.image[4].tolist(), "space": "joint", "k": 2})
        assert found.status_code == 200, found.text
        assert found.json()["hits"][0]["path"] == rows.paths[4]
        wrong = client.post(f"{API}/search", json={"vector": [0.5, 0.5]})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "bad_query" and "2 dimensions" in wrong.json()["error"]["message"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]["SearchRequest"]["properties"]
        assert {"vector", "space"} <= set(schema)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float16_and_float32_import_alike(rows, open_demo, tmp_path, dtype):
    folder = tmp_path / "emb"
    write_folder(folder, rows, dtype, [slice(0, 6)])
    eng = open_demo()
    assert eng.import_embeddings(folder).added == 6
    for row in (0, 5):
        assert eng.search(vector=rows.image[row], k=1)[0].path == rows.paths[row]


def test_a_folder_of_another_dimension_is_refused_and_nothing_imported(rows, open_engine, tmp_path):
    eng = open_engine()  # the tests' random ViT-S-32: 384 dimensions, not the demo model's 128
    with pytest.raises(EmbeddingLayoutError) as caught:
        eng.import_embeddings(rows.folder)
    message = str(caught.value)
    assert "128 dimensions" in message and "the model that made them" in message and "\n" not in message
    assert eng.status().items == {}


def test_reimport_writes_only_what_changed_and_drops_rows_gone(rows, open_demo, tmp_path):
    folder = tmp_path / "emb"
    write_folder(folder, rows, np.float16, [slice(0, 3), slice(3, 6)])
    eng = open_demo()
    eng.import_embeddings(folder)
    again = eng.import_embeddings(folder)
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 6, 0)
    captions = list(rows.captions)
    captions[4] = "a pink heart drawn on a lighthouse"
    keep = [0, 1, 3, 4, 5]  # row 2 is gone
    subset = type(rows)(
        folder, [rows.paths[i] for i in keep], [captions[i] for i in keep], rows.image[keep], rows.text[keep]
    )
    write_folder(folder, subset, np.float16, [slice(0, 2), slice(2, 5)])
    changed = eng.import_embeddings(folder)
    assert (changed.added, changed.updated, changed.unchanged, changed.removed) == (0, 1, 4, 1)
    assert eng.status().items == {"image": 5}
    assert rows.paths[2] not in [hit.path for hit in eng.search(vector=rows.image[2], k=5)]
    assert eng.search("lighthouse", k=1, mode="lexical")[0].path == rows.paths[4]


def test_another_folder_does_not_remove_the_first_ones_items(rows, open_demo, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_folder(first, rows, np.float16, [slice(0, 3)])
    write_folder(second, rows, np.float16, [slice(3, 6)])
    eng = open_demo()
    eng.import_embeddings(first)
    assert eng.import_embeddings(second).removed == 0
    assert eng.status().items == {"image": 6}


def test_a_bad_vector_stops_the_import_naming_its_row_and_keeps_what_was_committed(rows, open_demo, tmp_path):
    folder = tmp_path / "emb"
    bad = type(rows)(folder, rows.paths, rows.captions, rows.image.copy(), rows.text)
    bad.image[4, 7] = np.nan
    write_folder(folder, bad, np.float32, [slice(0, 3), slice(3, 6)])
    eng = open_demo()
    with pytest.raises(EmbeddingLayoutError, match=r"shard 01 row 1: its vector holds a value that is not a finite"):
        eng.import_embeddings(folder, batch_rows=2)
    assert eng.status().items == {"image": 3}  # the first shard's batches are in


def test_export_then_import_gives_the_same_answers(imported, rows, open_demo, tmp_path):
    eng, _ = imported
    out = tmp_path / "out"
    report = eng.export_embeddings(out, shard_rows=4)
    assert (report.rows, report.shards, report.with_text, report.left_out) == (6, 2, True, 0)
    assert np.load(out / "img_emb" / "img_emb_1.npy").dtype == np.float16
    metadata = pq.read_table(out / "metadata" / "metadata_0.parquet").to_pydict()
    assert metadata["image_path"] == rows.paths[:4] and metadata["caption"] == rows.captions[:4]
    fresh = open_demo("fresh")
    assert fresh.import_embeddings(out).added == 6
    for vector in (*rows.image, *rows.text):
        before = eng.search(vector=vector, k=4)
        after = fresh.search(vector=vector, k=4)
        assert names(before) == names(after) or names(before)[:2] == names(after)[:2]
        assert [h.similarity for h in before] == pytest.approx([h.similarity for h in after], abs=1e-3)
    with pytest.raises(EmbeddingLayoutError, match="already holds an embedding folder"):
        eng.export_embeddings(out)


def test_an_indexed_folder_exports_its_pictures_and_round_trips(indexed, encoders, open_engine, tmp_path):
    eng, _ = indexed
    out = tmp_path / "out"
    report = eng.export_embeddings(out)
    counts = eng.status().items
    assert report.rows == counts["image"] and report.left_out == sum(counts.values()) - counts["image"]
    assert not report.with_text and not (out / "text_emb").exists()
    fresh = open_engine(tmp_path / "fresh")
    assert fresh.import_embeddings(out).added == report.rows
    for vector in np.load(out / "img_emb" / "img_emb_0.npy"):
        before = [h.path for h in eng.search(vector=vector, k=3, modalities="image")]
        after = [h.path for h in fresh.search(vector=vector, k=3)]
        assert before[0] == after[0] and len(set(before) & set(after)) >= 2


def test_a_killed_import_is_completed_by_the_next_run(rows, demo, tmp_path):
    index = tmp_path / "index"
    command = [
        *(sys.executable, "-m", "anyseek", "--index", str(index), "import-embeddings", str(rows.folder)),
        *("--joint-model", str(DEMO_MODEL), "--device", "cpu", "--batch-rows", "2"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = subprocess.run(
        command, env={**env, "ANYSEEK_CRASH_AT": "store.committed:2"}, capture_output=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    with sqlite3.connect(index / "anyseek.db") as db:
        assert db.execute("SELECT count(*) FROM items").fetchone() == (4,)  # two batches of two committed
    done = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from anyseek.engine import Engine

    with Engine.open(index, create=False, encoders=demo) as eng:
        assert eng.status().items == {"image": 6}
        with sqlite3.connect(index / "anyseek.db") as db:
            stored = sorted(row[0] for row in db.execute("SELECT chunk_id FROM vectors WHERE space = 'joint'"))
        assert sorted(eng.catalog.index(Space.JOINT).ids().tolist()) == stored
        for row in range(6):
            assert eng.search(vector=rows.image[row], k=1)[0].path == rows.paths[row]


def test_metadata_with_other_columns_and_no_caption(rows, open_demo, tmp_path):
    folder = tmp_path / "emb"
    write_folder(folder, rows, np.float16, [slice(0, 6)])
    pq.write_table(
        pa.table({"image_path": rows.paths, "similarity": [0.3] * 6}), folder / "metadata/metadata_00.parquet"
    )
    eng = open_demo()
    assert eng.import_embeddings(folder).added == 6
    assert eng.search(vector=rows.image[1], k=1)[0].snippet is None
