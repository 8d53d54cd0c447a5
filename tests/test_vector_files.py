"""The compressed kinds through the catalog, on a real store: chosen under a memory budget, rebuilt from the
store, tuned to the recall target on held-out vectors, saved with their float16 rows (and on-disk lists)
in side files, shown by status, and repaired or rebuilt when those files are damaged or a save is killed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from anyseek.engine.records import Space
from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.store import Store
from anyseek.engine.vectors import persist
from anyseek.engine.vectors.catalog import VectorCatalog
from anyseek.engine.vectors.exact import ExactIndex
from anyseek.engine.vectors.factory import bytes_per_vector, choose_kind
from anyseek.engine.vectors.faiss_ondisk import FaissIvfPqDiskIndex
from anyseek.engine.vectors.faiss_refine import FaissIvfPqRefineIndex
from anyseek.engine.vectors.tuning import recall_at_k
from bench.common import embedding_like
from tests.helpers import passage_write

DIM, ITEMS, PER_ITEM = 32, 80, 100  # 8,000 vectors, the compressed kinds train from 5,000 here
TRAIN_AT = 5_000
REPO = Path(__file__).resolve().parent.parent
# Budgets (bytes) under which 8,000 32-d vectors get each compressed kind.
BUDGETS = {"ivf-pq-refine": 512 << 10, "ivf-pq-disk": 100 << 10}


@pytest.fixture(scope="module", autouse=True)
def train_early():
    """Train at 5,000 vectors rather than 20,000: the same code, a quarter of the work."""
    with pytest.MonkeyPatch.context() as patch:
        for cls in (FaissIvfPqRefineIndex, FaissIvfPqDiskIndex):
            patch.setattr(cls, "default_train_at", TRAIN_AT)
        yield


@pytest.fixture(scope="module")
def data():
    vectors = embedding_like(ITEMS * PER_ITEM + 100, DIM, seed=7)
    return vectors[: ITEMS * PER_ITEM], vectors[ITEMS * PER_ITEM :]  # stored, fresh queries


@pytest.fixture(scope="module")
def filled(tmp_path_factory, data):
    """An index directory whose store holds the vectors, and no vector files yet."""
    home = tmp_path_factory.mktemp("filled")
    store = Store(home / DB_FILE)
    store.initialize()
    stored, _ = data
    for item in range(ITEMS):
        part = stored[item * PER_ITEM : (item + 1) * PER_ITEM]
        store.write_items([passage_write(f"/docs/{item}.txt".encode(), part)])
    store.close()
    return home


@pytest.fixture(scope="module")
def built_homes(tmp_path_factory, filled):
    """Per kind, the filled index after the writer's first load and save: built, tuned, side files saved."""
    homes = {}
    for kind in BUDGETS:
        home = tmp_path_factory.mktemp(kind)
        shutil.copytree(filled, home, dirs_exist_ok=True)
        store, catalog = open_catalog(home, kind)
        catalog.load_all()
        catalog.save()
        store.close()
        homes[kind] = home
    return homes


@pytest.fixture(params=sorted(BUDGETS))
def kind(request) -> str:
    return request.param


@pytest.fixture()
def home(tmp_path, built_homes, kind):
    """A private copy of the built index of `kind`."""
    copy = tmp_path / "index"
    shutil.copytree(built_homes[kind], copy)
    return copy


def open_catalog(home: Path, kind: str):
    store = Store(home / DB_FILE)
    return store, VectorCatalog(home, store, {Space.JOINT: DIM}, memory_budget_bytes=BUDGETS[kind])


def built(home: Path, kind: str):
    store, catalog = open_catalog(home, kind)
    catalog.load_all()
    return store, catalog


def exact_top10(store: Store, queries: np.ndarray) -> list[np.ndarray]:
    ids = store.chunk_ids(Space.JOINT)
    exact = ExactIndex(DIM)
    exact.add(*store.vectors(Space.JOINT, ids, DIM))
    return [found for _, found in exact.search(queries, 10)]


def test_the_budget_picks_the_compressed_kinds():
    count = ITEMS * PER_ITEM
    assert count * bytes_per_vector("flat", DIM) > BUDGETS["ivf-pq-refine"]
    assert choose_kind(count, BUDGETS["ivf-pq-refine"], DIM) == "ivf-pq-refine"
    assert choose_kind(count, BUDGETS["ivf-pq-disk"], DIM) == "ivf-pq-disk"


def test_a_space_over_its_budget_is_built_compressed_tuned_and_found_again(home, kind, data):
    store, catalog = built(home, kind)
    index = catalog.index(Space.JOINT)
    assert index.kind == kind and index.trained
    assert index.recall is not None and index.recall >= 0.95, "tuned to the recall target on held-out vectors"
    assert all(path.exists() for path in index.files()), "float16 rows (and lists) in side files"
    _, fresh = data
    truth = exact_top10(store, fresh)
    assert recall_at_k([found for _, found in index.search(fresh, 10)], truth) >= 0.95

    described = catalog.describe()["joint"]
    assert described["kind"] == kind and described["vectors"] == ITEMS * PER_ITEM
    assert described["recall"] == pytest.approx(index.recall)
    assert described["ram_bytes_per_vector"] < bytes_per_vector("flat", DIM) / 4
    assert described["disk_bytes_per_vector"] >= 2 * DIM, "at least the float16 row of each vector"

    reopened = open_catalog(home, kind)[1].index(Space.JOINT)
    assert reopened.kind == kind and reopened.recall == index.recall
    for (s1, i1), (s2, i2) in zip(index.search(fresh, 10), reopened.search(fresh, 10)):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(s1, s2, atol=1e-5)


def test_writes_after_the_build_are_found_and_saved_with_their_rows(home, kind, data):
    store, catalog = built(home, kind)
    files_before = set(catalog.directory.iterdir())
    _, fresh = data
    catalog.apply(store.write_items([passage_write(b"/new.txt", fresh[:3])]))
    catalog.apply(store.delete_items([store.find_item(path=b"/docs/0.txt").id]))
    catalog.save()
    assert set(catalog.directory.iterdir()) >= files_before - {catalog.file(Space.JOINT)}, "same generation"
    for index in (catalog.index(Space.JOINT), open_catalog(home, kind)[1].index(Space.JOINT)):
        assert sorted(index.ids().tolist()) == sorted(store.chunk_ids(Space.JOINT).tolist())
        (scores, ids), *_ = index.search(fresh[1], 1)
        assert scores[0] == pytest.approx(1.0, abs=2e-3)
        assert ids[0] in store.chunk_ids(Space.JOINT)[-3:]


@pytest.mark.parametrize(
    ("kind", "damage"),
    [
        ("ivf-pq-refine", "rows-truncated"),
        ("ivf-pq-disk", "rows-missing"),
        ("ivf-pq-refine", "crash-left-rows-past-the-commit"),
        ("ivf-pq-disk", "crash-left-rows-past-the-commit"),
    ],
)
def test_damaged_side_files_are_repaired_or_rebuilt_from_the_store(home, kind, data, damage):
    store, catalog = built(home, kind)
    index = catalog.index(Space.JOINT)
    rows = next(path for path in index.files() if path.suffix == ".f16")
    if damage == "rows-missing":
        rows.unlink()
    elif damage == "rows-truncated":
        os.truncate(rows, rows.stat().st_size // 2)
    else:
        with open(rows, "ab") as fh:
            fh.write(os.urandom(5 * 2 * DIM))  # an append that a killed writer never committed
    _, fresh = data
    _, reopened = built(home, kind)  # the writer opens it: a damaged file is rebuilt from the store at once
    again = reopened.index(Space.JOINT)
    assert sorted(again.ids().tolist()) == sorted(store.chunk_ids(Space.JOINT).tolist())
    assert recall_at_k([found for _, found in again.search(fresh, 10)], exact_top10(store, fresh)) >= 0.9
    reopened.apply(store.write_items([passage_write(b"/after.txt", fresh[:2])]))
    reopened.save()
    final = open_catalog(home, kind)[1].index(Space.JOINT)
    (_, ids), *_ = final.search(fresh[0], 1)
    assert ids[0] in store.chunk_ids(Space.JOINT)[-2:]


@pytest.mark.parametrize("kind", ["ivf-pq-refine"])
def test_a_rebuild_deletes_the_previous_generation_after_its_save(home, kind, data):
    store, catalog = built(home, kind)
    old = set(catalog.index(Space.JOINT).files())
    catalog.memory_budget = BUDGETS["ivf-pq-disk"]  # the budget shrinks: the next save moves to on-disk lists
    _, fresh = data
    catalog.apply(store.write_items([passage_write(b"/more.txt", fresh[:1])]))
    catalog.save()
    index = catalog.index(Space.JOINT)
    assert index.kind == "ivf-pq-disk"
    assert not any(path.exists() for path in old)
    assert {path.name for path in catalog.directory.iterdir()} == {"joint.faiss", *(p.name for p in index.files())}


KILLED_SAVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from anyseek.engine.records import Space
    from anyseek.engine.store.database import DB_FILE
    from anyseek.engine.store.store import Store
    from anyseek.engine.vectors.catalog import VectorCatalog
    from tests.helpers import passage_write

    home = Path(sys.argv[1])
    store = Store(home / DB_FILE)
    catalog = VectorCatalog(home, store, {Space.JOINT: 32}, memory_budget_bytes=int(sys.argv[2]))
    catalog.load_all()
    vectors = np.load(sys.argv[3])
    catalog.apply(store.write_items([passage_write(b"/killed.txt", vectors)]))
    catalog.save()  # killed inside, at ANYSEEK_CRASH_AT
    """
)


@pytest.mark.parametrize("point", ["vectors.rows", "vectors.save"])
def test_a_writer_killed_inside_a_save_leaves_an_index_the_next_open_completes(home, kind, data, point, tmp_path):
    built(home, kind)
    _, fresh = data
    np.save(tmp_path / "new.npy", fresh[:4])
    env = {**os.environ, "ANYSEEK_CRASH_AT": point, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-c", KILLED_SAVE, str(home), str(BUDGETS[kind]), str(tmp_path / "new.npy")]
    assert subprocess.run(args, env=env, cwd=REPO, timeout=300).returncode == -9
    store, catalog = open_catalog(home, kind)
    index = catalog.index(Space.JOINT)
    assert index.kind == kind
    assert sorted(index.ids().tolist()) == sorted(store.chunk_ids(Space.JOINT).tolist())
    (_, ids), *_ = index.search(fresh[2], 1)
    assert ids[0] in store.chunk_ids(Space.JOINT)[-4:]
    catalog.save()
    assert persist.read(catalog.file(Space.JOINT))[0].count == ITEMS * PER_ITEM + 4
