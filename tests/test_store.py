"""The SQLite store (source of truth), the vector catalog that follows it, and the writer lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from anyseek.engine.errors import IndexLockedError, SchemaError
from anyseek.engine.records import Modality, Space
from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.lock import WriterLock
from anyseek.engine.store.migrations import SCHEMA_VERSION
from anyseek.engine.store.store import ItemWrite, Store
from anyseek.engine.vectors import persist
from anyseek.engine.vectors.catalog import VectorCatalog
from anyseek.engine.vectors.factory import BACKENDS
from tests.helpers import clustered_unit_vectors, passage_write

DIM = 8
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def vectors():
    return clustered_unit_vectors(64, DIM, seed=3)


def chunk_ids_of(store: Store, path: bytes) -> list[int]:
    item = store.find_item(path=path)
    contexts = store.chunk_contexts(store.chunk_ids(Space.JOINT))
    return sorted(cid for cid, ctx in contexts.items() if ctx.item.id == item.id)


def joint_vectors(store: Store, ids) -> dict[int, np.ndarray]:
    found, vecs = store.vectors(Space.JOINT, np.asarray(ids, np.int64), DIM)
    return dict(zip(found.tolist(), vecs))


# --- schema ------------------------------------------------------------------------------------------


def test_initialize_creates_the_schema_at_the_current_version(store):
    with sqlite3.connect(store.path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert {"items", "chunks", "vectors", "meta", "runs"} <= tables
    assert version == SCHEMA_VERSION


def test_initialize_twice_keeps_the_data(store, vectors):
    store.write_items([passage_write(b"/a/doc.txt", vectors[:2])])
    store.initialize()
    assert store.find_item(path=b"/a/doc.txt") is not None


def test_a_database_from_a_newer_anyseek_is_refused_with_advice_to_upgrade(tmp_path):
    path = tmp_path / DB_FILE
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer = Store(path)
    with pytest.raises(SchemaError, match="upgrade anyseek"):
        newer.initialize()
    newer.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1, "left untouched"


def test_the_database_runs_in_wal_mode(store):
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with sqlite3.connect(store.path) as conn:  # persistent: any other reader sees WAL too
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- items, chunks, vectors ----------------------------------------------------------------------------


def test_non_utf8_paths_round_trip_exactly(store, vectors):
    raw = b"/media/caf\xe9/\xff\xfe photo.jpg"
    store.write_items([ItemWrite(raw, 10, 5, "hash", Modality.IMAGE)])
    under = store.items_under([b"/media"])
    assert list(under) == [raw]
    assert under[raw].path == raw
    found = store.find_item(path=raw)
    assert found is not None and found.path == raw
    assert store.find_item(item_id=found.id).path == raw
    assert store.find_item(path=b"/media/caf\xc3\xa9/\xff\xfe photo.jpg") is None, "bytes, not decoded text"


def test_write_items_stores_the_outcome_of_each_file(store, vectors):
    store.write_items(
        [
            passage_write(b"/m/ok.txt", vectors[:2]),
            ItemWrite(b"/m/bad.jpg", 3, 4, "h2", None, error="not an image"),
            ItemWrite(b"/m/blob.bin", 5, 6, "h3", None, ignored=True),
        ]
    )
    items = store.items_under([b"/m"])
    assert {p: i.status for p, i in items.items()} == {
        b"/m/ok.txt": "ok",
        b"/m/bad.jpg": "error",
        b"/m/blob.bin": "ignored",
    }
    assert items[b"/m/bad.jpg"].error == "not an image"
    assert [e.path for e in store.errors()] == [b"/m/bad.jpg"]


def test_rewriting_a_path_replaces_its_chunks_and_vectors(store, vectors):
    first = store.write_items([passage_write(b"/a/doc.txt", vectors[:3])])
    old_ids = sorted(first.added[Space.JOINT][0].tolist())
    second = store.write_items([passage_write(b"/a/doc.txt", vectors[3:5])])
    new_ids = sorted(second.added[Space.JOINT][0].tolist())
    assert sorted(second.removed) == old_ids
    assert min(new_ids) > max(old_ids), "chunk ids are never reused"
    assert sorted(store.chunk_ids(Space.JOINT).tolist()) == new_ids
    assert chunk_ids_of(store, b"/a/doc.txt") == new_ids
    assert len(store.items_under([b"/a"])) == 1


def test_one_batch_mixes_new_replaced_and_repeated_paths(store, vectors):
    store.write_items([passage_write(b"/a/old.txt", vectors[:2])])
    old_ids = chunk_ids_of(store, b"/a/old.txt")
    changes = store.write_items(
        [
            passage_write(b"/a/new.txt", vectors[2:5]),
            passage_write(b"/a/old.txt", vectors[5:6]),
            passage_write(b"/a/twice.txt", vectors[6:8]),
            passage_write(b"/a/twice.txt", vectors[8:9]),  # the later write of a path wins
        ]
    )
    assert sorted(changes.removed) == old_ids
    counts = {path: len(chunk_ids_of(store, path)) for path in (b"/a/new.txt", b"/a/old.txt", b"/a/twice.txt")}
    assert counts == {b"/a/new.txt": 3, b"/a/old.txt": 1, b"/a/twice.txt": 1}
    (twice,) = chunk_ids_of(store, b"/a/twice.txt")
    assert np.allclose(joint_vectors(store, [twice])[twice], vectors[8], atol=1e-3)
    assert len(changes.added[Space.JOINT][0]) == 5 == len(store.chunk_ids(Space.JOINT))


def test_chunk_ids_are_never_reused_after_the_newest_item_is_deleted(store, vectors):
    store.write_items([passage_write(b"/a/one.txt", vectors[:2])])
    last = store.write_items([passage_write(b"/a/two.txt", vectors[2:4])])
    highest = int(last.added[Space.JOINT][0].max())
    store.delete_items([store.find_item(path=b"/a/two.txt").id])  # frees the highest ids
    again = store.write_items([passage_write(b"/a/three.txt", vectors[4:6])])
    assert again.added[Space.JOINT][0].min() > highest


def test_delete_items_removes_their_chunks_and_vectors(store, vectors):
    store.write_items([passage_write(b"/a/x.txt", vectors[:3]), passage_write(b"/a/y.txt", vectors[3:5])])
    doomed = chunk_ids_of(store, b"/a/x.txt")
    kept = chunk_ids_of(store, b"/a/y.txt")
    changes = store.delete_items([store.find_item(path=b"/a/x.txt").id])
    assert sorted(changes.removed) == doomed
    assert store.find_item(path=b"/a/x.txt") is None
    assert sorted(store.chunk_ids(Space.JOINT).tolist()) == kept
    assert store.chunk_contexts(doomed) == {}
    assert store.counts()["chunks"] == {"passage": 2}


def test_move_item_keeps_chunk_ids_and_vectors(store, vectors):
    store.write_items([passage_write(b"/a/old name.txt", vectors[:2])])
    item = store.find_item(path=b"/a/old name.txt")
    ids = chunk_ids_of(store, b"/a/old name.txt")
    before = joint_vectors(store, ids)
    changes = store.move_item(item.id, b"/b/new name.txt", 100, 99)
    assert changes.removed == [] and changes.added == {}
    assert store.find_item(path=b"/a/old name.txt") is None
    moved = store.find_item(path=b"/b/new name.txt")
    assert moved.id == item.id and moved.mtime_ns == 99
    assert chunk_ids_of(store, b"/b/new name.txt") == ids
    after = joint_vectors(store, ids)
    for cid in ids:
        np.testing.assert_array_equal(after[cid], before[cid])


def test_moving_onto_an_indexed_path_drops_what_was_there(store, vectors):
    store.write_items([passage_write(b"/a/src.txt", vectors[:2]), passage_write(b"/a/dst.txt", vectors[2:5])])
    overwritten = chunk_ids_of(store, b"/a/dst.txt")
    source = store.find_item(path=b"/a/src.txt")
    changes = store.move_item(source.id, b"/a/dst.txt", 1, 1)
    assert sorted(changes.removed) == overwritten
    assert store.find_item(path=b"/a/dst.txt").id == source.id
    assert len(store.chunk_ids(Space.JOINT)) == 2


def test_copy_item_duplicates_chunks_with_the_same_vectors_under_new_ids(store, vectors):
    store.write_items([passage_write(b"/a/orig.txt", vectors[:3], content_hash="same")])
    source = store.find_item(path=b"/a/orig.txt")
    source_ids = chunk_ids_of(store, b"/a/orig.txt")
    changes = store.copy_item(source, ItemWrite(b"/b/copy.txt", 100, 7, "same", None))
    copy_ids = chunk_ids_of(store, b"/b/copy.txt")
    assert len(copy_ids) == 3 and not set(copy_ids) & set(source_ids)
    assert sorted(changes.added[Space.JOINT][0].tolist()) == copy_ids
    assert store.find_item(path=b"/b/copy.txt").modality is Modality.TEXT
    originals, copies = joint_vectors(store, source_ids), joint_vectors(store, copy_ids)
    for src, dup in zip(source_ids, copy_ids):  # ordinal order is kept, so pairs line up
        np.testing.assert_array_equal(copies[dup], originals[src])
    contexts = store.chunk_contexts(copy_ids)
    assert [contexts[c].chunk.text for c in copy_ids] == ["passage 0", "passage 1", "passage 2"]
    assert chunk_ids_of(store, b"/a/orig.txt") == source_ids, "the original is untouched"


def test_vectors_are_stored_as_float16_and_read_back_within_1e_3(store, vectors):
    changes = store.write_items([passage_write(b"/a/doc.txt", vectors[:10])])
    ids = changes.added[Space.JOINT][0]
    found, stored = store.vectors(Space.JOINT, ids, DIM)
    by_id = dict(zip(found.tolist(), stored))
    for cid, original in zip(ids.tolist(), vectors[:10]):
        assert by_id[cid].dtype == np.float32
        np.testing.assert_allclose(by_id[cid], original, atol=1e-3)
    with sqlite3.connect(store.path) as conn:
        sizes = {row[0] for row in conn.execute("SELECT length(data) FROM vectors")}
    assert sizes == {DIM * 2}, "two bytes per dimension"
    for cid, announced in zip(ids.tolist(), changes.added[Space.JOINT][1]):
        np.testing.assert_array_equal(announced, by_id[cid], err_msg="a live index gets what a rebuild reads")


def test_revision_increases_on_every_vector_changing_transaction(store, vectors):
    seen = [store.revision()]
    store.write_items([passage_write(b"/a/x.txt", vectors[:2])])
    seen.append(store.revision())
    item = store.find_item(path=b"/a/x.txt")
    store.move_item(item.id, b"/a/y.txt", 1, 2)
    seen.append(store.revision())
    store.copy_item(store.find_item(path=b"/a/y.txt"), ItemWrite(b"/a/z.txt", 1, 2, "h", None))
    seen.append(store.revision())
    store.delete_items([item.id])
    seen.append(store.revision())
    assert seen == sorted(set(seen)), f"strictly increasing: {seen}"


def test_items_under_matches_whole_folder_names_only(store):
    paths = [b"/a", b"/a/x.jpg", b"/a/deep/y.jpg", b"/ab/x.jpg", b"/a-b/z.jpg", b"/b/a/x.jpg"]
    store.write_items([ItemWrite(p, 1, 1, "h", Modality.IMAGE) for p in paths])
    assert sorted(store.items_under([b"/a"])) == [b"/a", b"/a/deep/y.jpg", b"/a/x.jpg"]
    assert sorted(store.items_under([b"/a/"])) == [b"/a", b"/a/deep/y.jpg", b"/a/x.jpg"]
    assert sorted(store.items_under([b"/ab", b"/b"])) == [b"/ab/x.jpg", b"/b/a/x.jpg"]
    assert len(store.items_under([b"/"])) == len(paths)
    assert store.items_under([b"/a/x"]) == {}


# --- vector catalog ------------------------------------------------------------------------------------


@pytest.fixture(params=[None, *sorted(BACKENDS)])
def catalog_kind(request):
    return request.param


def open_catalog(tmp_path, store, kind):
    return VectorCatalog(tmp_path, store, {Space.JOINT: DIM}, kind=kind)


def assert_index_equals_store(catalog, store):
    held = catalog.index(Space.JOINT).ids()
    assert len(held) == len(set(held.tolist())), "no duplicate ids"
    assert sorted(held.tolist()) == sorted(store.chunk_ids(Space.JOINT).tolist())


def test_an_unsaved_catalog_is_repaired_from_the_store_on_reopen(tmp_path, store, vectors, catalog_kind):
    catalog = open_catalog(tmp_path, store, catalog_kind)
    catalog.load_all()
    catalog.save()
    catalog.apply(store.write_items([passage_write(b"/a/x.txt", vectors[:4])]))  # committed, never saved
    catalog.apply(store.write_items([passage_write(b"/a/y.txt", vectors[4:6])]))
    reopened = open_catalog(tmp_path, store, catalog_kind)
    assert_index_equals_store(reopened, store)
    (scores, ids), *_ = reopened.index(Space.JOINT).search(vectors[5], 1)
    assert ids.tolist() == chunk_ids_of(store, b"/a/y.txt")[1:2] and scores[0] == pytest.approx(1.0, abs=1e-3)


def test_stale_ids_are_removed_when_the_store_deleted_more_since_the_save(tmp_path, store, vectors, catalog_kind):
    catalog = open_catalog(tmp_path, store, catalog_kind)
    catalog.apply(
        store.write_items([passage_write(b"/a/x.txt", vectors[:4]), passage_write(b"/a/y.txt", vectors[4:6])])
    )
    catalog.save()
    stale = chunk_ids_of(store, b"/a/x.txt")
    store.delete_items([store.find_item(path=b"/a/x.txt").id])  # e.g. another process, or a crash before save
    reopened = open_catalog(tmp_path, store, catalog_kind)
    assert_index_equals_store(reopened, store)
    for query in vectors[:4]:
        (_, ids), *_ = reopened.index(Space.JOINT).search(query, 10)
        assert not set(ids.tolist()) & set(stale)


def test_a_saved_catalog_reopens_at_the_stores_revision(tmp_path, store, vectors, catalog_kind):
    catalog = open_catalog(tmp_path, store, catalog_kind)
    catalog.apply(store.write_items([passage_write(b"/a/x.txt", vectors[:4])]))
    catalog.save()
    header, _ = persist.read(catalog.file(Space.JOINT))
    assert header.revision == store.revision() and header.count == 4
    assert header.kind == (catalog_kind or "flat")
    assert_index_equals_store(open_catalog(tmp_path, store, catalog_kind), store)


@pytest.mark.parametrize("damage", ["garbage", "truncated-payload", "unknown-kind", "other-dimension"])
def test_a_damaged_index_file_is_rebuilt_from_the_store(tmp_path, store, vectors, catalog_kind, damage):
    catalog = open_catalog(tmp_path, store, catalog_kind)
    catalog.apply(store.write_items([passage_write(b"/a/x.txt", vectors[:5])]))
    catalog.save()
    path = catalog.file(Space.JOINT)
    header, payload = persist.read(path)
    if damage == "garbage":
        path.write_bytes(os.urandom(4096))
    elif damage == "truncated-payload":
        path.write_bytes(persist.encode(header, payload[: len(payload) // 2]))
    elif damage == "unknown-kind":  # written by a newer anyseek with a backend this one lacks
        path.write_bytes(persist.encode(persist.VectorFileHeader("ivfpq", DIM, header.revision, 5), b"\x00" * 64))
    else:
        path.write_bytes(persist.encode(persist.VectorFileHeader(header.kind, DIM * 2, header.revision, 5), payload))
    reopened = open_catalog(tmp_path, store, catalog_kind)
    assert_index_equals_store(reopened, store)
    (_, ids), *_ = reopened.index(Space.JOINT).search(vectors[2], 1)
    assert ids.tolist() == chunk_ids_of(store, b"/a/x.txt")[2:3]
    reopened.save()
    assert persist.read(path)[0].count == 5, "the rebuilt index is written back"


def test_apply_after_each_commit_keeps_the_index_equal_to_the_store(tmp_path, store, vectors, catalog_kind):
    catalog = open_catalog(tmp_path, store, catalog_kind)
    catalog.load_all()
    steps = [
        lambda: store.write_items([passage_write(b"/a/x.txt", vectors[:3]), passage_write(b"/a/y.txt", vectors[3:5])]),
        lambda: store.write_items([passage_write(b"/a/x.txt", vectors[5:9])]),  # re-embedded: replaced
        lambda: store.move_item(store.find_item(path=b"/a/y.txt").id, b"/a/x.txt", 1, 1),  # onto x
        lambda: store.copy_item(store.find_item(path=b"/a/x.txt"), ItemWrite(b"/a/z.txt", 1, 1, "h", None)),
        lambda: store.delete_items([store.find_item(path=b"/a/z.txt").id]),
        lambda: store.write_items([passage_write(b"/a/w.txt", vectors[9:12])]),
    ]
    for step in steps:
        catalog.apply(step())
        assert_index_equals_store(catalog, store)
    remaining = joint_vectors(store, store.chunk_ids(Space.JOINT))
    for cid, vector in remaining.items():
        (_, ids), *_ = catalog.index(Space.JOINT).search(vector, 1)
        assert ids[0] == cid or np.allclose(remaining[int(ids[0])], vector)


def test_apply_catches_up_when_another_commit_was_missed(tmp_path, store, vectors):
    catalog = open_catalog(tmp_path, store, None)
    catalog.load_all()
    store.write_items([passage_write(b"/a/x.txt", vectors[:3])])  # not applied (another writer)
    catalog.apply(store.write_items([passage_write(b"/a/y.txt", vectors[3:5])]))
    assert_index_equals_store(catalog, store)


# --- writer lock ---------------------------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from anyseek.engine.store.lock import WriterLock
    lock = WriterLock(Path(sys.argv[1]))
    lock.acquire()
    print("locked", flush=True)
    time.sleep(60)
    """
)


@pytest.fixture()
def holder(tmp_path):
    """Another process holding the writer lock of tmp_path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    proc.stdout.close()


def test_a_second_writer_is_refused_naming_the_holders_pid(tmp_path, holder):
    with pytest.raises(IndexLockedError, match=rf"pid {holder.pid}\b"):
        WriterLock(tmp_path).acquire()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path, holder):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    lock = WriterLock(tmp_path)
    lock.acquire()
    try:
        assert lock.held
        assert (tmp_path / "writer.lock").read_text() == str(os.getpid())
    finally:
        lock.release()


def test_a_released_lock_can_be_taken_again(tmp_path):
    with WriterLock(tmp_path) as first:
        assert first.held
        with pytest.raises(IndexLockedError):
            WriterLock(tmp_path).acquire()
    with WriterLock(tmp_path) as second:
        assert second.held


def test_a_growing_space_moves_to_ivf_and_back_to_flat_when_it_shrinks(tmp_path, store, monkeypatch):
    from anyseek.engine.vectors import catalog as catalog_module
    from anyseek.engine.vectors import factory

    monkeypatch.setattr(factory, "FLAT_UP_TO", 100)
    monkeypatch.setattr(catalog_module, "FLAT_UP_TO", 100)
    many = clustered_unit_vectors(300, DIM, seed=3)
    store.write_items([passage_write(f"/docs/{i}.txt".encode(), many[i : i + 1]) for i in range(300)])
    catalog = open_catalog(tmp_path, store, None)
    catalog.load_all()
    catalog.save()
    assert catalog.index(Space.JOINT).kind == "ivf-flat"
    reopened = open_catalog(tmp_path, store, None)
    assert reopened.index(Space.JOINT).kind == "ivf-flat"
    assert_index_equals_store(reopened, store)
    doomed = [item.id for path, item in store.items_under([b"/docs"]).items() if int(path[6:-4]) >= 40]
    reopened.apply(store.delete_items(doomed))
    reopened.save()
    assert reopened.index(Space.JOINT).kind == "flat"
    assert_index_equals_store(reopened, store)


def test_temp_files_left_by_a_killed_save_are_swept_by_the_next_save(tmp_path, store, vectors):
    store.write_items([passage_write(b"/docs/a.txt", vectors[:4])])
    catalog = open_catalog(tmp_path, store, None)
    catalog.load_all()
    leftover = tmp_path / "vectors" / ".joint.faiss.12345.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half a file")
    catalog.save()
    assert not leftover.exists() and (tmp_path / "vectors" / "joint.faiss").exists()
