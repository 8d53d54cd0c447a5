"""One contract for every vector index backend, checked against the exact NumPy reference; plus the atomic
file format and the backend factory."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from anyseek.engine.errors import ConfigError, SchemaError
from anyseek.engine.store.rows import roundtrip
from anyseek.engine.vectors import persist, torch_exact
from anyseek.engine.vectors.exact import ExactIndex
from anyseek.engine.vectors.factory import BACKENDS, backend_class, create_index, load_index
from tests.helpers import clustered_unit_vectors

DIM = 16
COUNT = 300
TOL = 1e-5
# Large and non-contiguous ids: an index that uses row positions instead of the given ids fails at once.
IDS = np.concatenate([2**40 + 3 * np.arange(COUNT // 2), 7 + 5 * np.arange(COUNT - COUNT // 2)]).astype(np.int64)


@pytest.fixture(scope="module")
def data():
    vectors = clustered_unit_vectors(COUNT + 20, DIM, seed=1)
    return vectors[:COUNT], vectors[COUNT:]  # stored vectors, queries from the same clusters


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


# The torch backend runs the contract on each device it can use: the CPU everywhere, CUDA where present.
KINDS = [k for k in sorted(BACKENDS) if k != "torch"] + [
    pytest.param(("torch", "cpu"), id="torch-cpu"),
    pytest.param(("torch", "cuda"), id="torch-cuda", marks=pytest.mark.skipif(not _cuda(), reason="no CUDA device")),
]


@pytest.fixture(params=KINDS)
def kind(request, monkeypatch) -> str:
    if isinstance(request.param, tuple):
        name, device = request.param
        monkeypatch.setattr(torch_exact, "default_device", lambda: device)
        return name
    return request.param


def build(kind: str, ids: np.ndarray, vectors: np.ndarray):
    index = create_index(kind, DIM)
    index.add(ids, vectors)
    return index


def assert_same_results(got, want) -> None:
    """Same ids and scores per query. Where two reference scores are closer than the tolerance their order
    is arbitrary, so only the score is compared at those positions."""
    assert len(got) == len(want)
    for (got_scores, got_ids), (want_scores, want_ids) in zip(got, want):
        assert got_ids.dtype == np.int64
        assert len(got_ids) == len(want_ids)
        np.testing.assert_allclose(got_scores, want_scores, atol=TOL)
        gaps = np.abs(np.diff(want_scores))
        separated = np.ones(len(want_ids), bool)
        separated[:-1] &= gaps > TOL
        separated[1:] &= gaps > TOL
        np.testing.assert_array_equal(got_ids[separated], want_ids[separated])
        assert set(got_ids.tolist()) <= set(want_ids.tolist()) | set(got_ids[~separated].tolist())


def test_exact_reference_matches_brute_force(data):
    vectors, queries = data
    reference = build("exact", IDS, vectors)
    for (scores, ids), query in zip(reference.search(queries, 10), queries):
        truth = vectors @ query
        order = np.argsort(-truth)[:10]
        np.testing.assert_allclose(scores, truth[order], atol=TOL)
        np.testing.assert_array_equal(ids, IDS[order])


@pytest.mark.parametrize("k", [1, 10, COUNT + 50])
def test_top_k_ids_and_scores_match_the_exact_reference(kind, data, k):
    vectors, queries = data
    got = build(kind, IDS, vectors).search(queries, k)
    assert_same_results(got, build("exact", IDS, vectors).search(queries, k))
    assert all(len(ids) == min(k, COUNT) for _, ids in got)


def test_k_larger_than_count_returns_every_vector_once_without_padding(kind, data):
    vectors, queries = data
    (scores, ids), *_ = build(kind, IDS[:5], vectors[:5]).search(queries[:1], 50)
    assert sorted(ids.tolist()) == sorted(IDS[:5].tolist())
    assert np.all(np.diff(scores) <= TOL), "scores must come in descending order"


def test_empty_index_returns_empty_results_per_query(kind, data):
    _, queries = data
    results = create_index(kind, DIM).search(queries[:3], 10)
    assert [len(ids) for _, ids in results] == [0, 0, 0]


def test_query_equal_to_a_stored_vector_scores_one_and_ranks_it_first(kind, data):
    vectors, _ = data
    index = build(kind, IDS, vectors)
    for row in (0, 1, COUNT // 2, COUNT - 1):  # both id ranges, and the edges where off-by-one bugs live
        (scores, ids), *_ = index.search(vectors[row], 3)
        assert ids[0] == IDS[row]
        assert scores[0] == pytest.approx(1.0, abs=TOL)
        assert scores[1] < scores[0]


def test_scores_are_cosine_similarities(kind):
    index = create_index(kind, 2)
    index.add([10, 20, 30], np.array([[1, 0], [0, 1], [-1, 0]], np.float32))
    query = np.array([np.cos(np.pi / 3), np.sin(np.pi / 3)], np.float32)  # 60 degrees from id 10
    (scores, ids), *_ = index.search(query, 3)
    assert ids.tolist() == [20, 10, 30]
    np.testing.assert_allclose(scores, [np.cos(np.pi / 6), 0.5, -0.5], atol=TOL)


def test_large_int64_ids_round_trip_exactly(kind, data):
    vectors, _ = data
    big = np.array([2**62 + 1, 2**40, 2**31, 2**31 - 1, 1], np.int64)
    index = build(kind, big, vectors[:5])
    for row, expected in enumerate(big):
        (_, ids), *_ = index.search(vectors[row], 1)
        assert ids.tolist() == [expected]
    assert sorted(index.ids().tolist()) == sorted(big.tolist())


def test_remove_removes_exactly_the_given_ids(kind, data):
    vectors, queries = data
    index = build(kind, IDS, vectors)
    gone = IDS[[0, 1, COUNT // 2 - 1, COUNT // 2, COUNT - 1]]
    assert index.remove(gone) == len(gone)
    kept = ~np.isin(IDS, gone)
    assert sorted(index.ids().tolist()) == sorted(IDS[kept].tolist())
    assert len(index) == COUNT - len(gone)
    assert_same_results(index.search(queries, 20), build("exact", IDS[kept], vectors[kept]).search(queries, 20))


def test_removing_absent_ids_is_harmless_and_counts_only_present_ones(kind, data):
    vectors, _ = data
    index = build(kind, IDS, vectors)
    assert index.remove(np.array([], np.int64)) == 0
    assert index.remove([IDS[0] + 1, IDS[-1] + 1, 2**50, -1]) == 0  # neighbours of real ids, and strangers
    assert index.remove([IDS[3], 123_456_789]) == 1
    assert index.remove([IDS[3]]) == 0  # already gone
    assert len(index) == COUNT - 1


def test_removed_ids_never_come_back_in_results(kind, data):
    vectors, queries = data
    index = build(kind, IDS, vectors)
    gone = IDS[::3]
    index.remove(gone)
    index.add([2**45, 2**45 + 1], vectors[:2])  # later adds must not resurrect anything
    for target in (vectors[0], vectors[3], *queries):
        (_, ids), *_ = index.search(target, COUNT)
        assert not np.isin(ids, gone).any()
    (_, ids), *_ = index.search(vectors[0], 1)
    assert ids.tolist() == [2**45], "the vector is back under its new id only"


def test_allowed_restricts_results_exactly(kind, data):
    vectors, queries = data
    index = build(kind, IDS, vectors)
    allowed = IDS[5::7]
    got = index.search(queries, 10, allowed=allowed)
    want = build("exact", IDS, vectors).search(queries, 10, allowed=allowed)
    assert_same_results(got, want)
    for _, ids in got:
        assert np.isin(ids, allowed).all()


def test_allowed_smaller_than_k_returns_just_the_allowed_ids_present(kind, data):
    vectors, queries = data
    index = build(kind, IDS, vectors)
    index.remove([IDS[2]])
    allowed = np.array([IDS[1], IDS[2], IDS[-1], 999_999], np.int64)  # one removed, one never added
    (_, ids), *_ = index.search(queries[0], 10, allowed=allowed)
    assert sorted(ids.tolist()) == sorted([IDS[1], IDS[-1]])
    (_, ids), *_ = index.search(queries[0], 10, allowed=np.array([], np.int64))
    assert len(ids) == 0


def test_ids_and_len_follow_adds_and_removes(kind, data):
    vectors, _ = data
    index = create_index(kind, DIM)
    assert len(index) == 0 and len(index.ids()) == 0
    index.add(IDS[:10], vectors[:10])
    index.add(IDS[10:25], vectors[10:25])
    index.remove(IDS[:4])
    assert len(index) == 21
    assert index.ids().dtype == np.int64
    assert sorted(index.ids().tolist()) == sorted(IDS[4:25].tolist())


def test_bytes_round_trip_gives_identical_results(kind, data):
    vectors, queries = data
    index = build(kind, IDS, vectors)
    index.remove(IDS[10:20])
    restored = backend_class(kind).from_bytes(DIM, index.to_bytes())
    assert isinstance(restored, type(index))
    assert sorted(restored.ids().tolist()) == sorted(index.ids().tolist())
    for (s1, i1), (s2, i2) in zip(index.search(queries, 15), restored.search(queries, 15)):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(s1, s2)
    restored.add([2**41], vectors[:1])  # still a working index after loading
    assert len(restored) == len(index) + 1


def test_loading_bytes_with_another_dimension_raises_value_error(kind, data):
    vectors, _ = data
    payload = build(kind, IDS, vectors).to_bytes()
    with pytest.raises(ValueError):
        backend_class(kind).from_bytes(DIM + 1, payload)


def test_dimension_mismatch_raises_value_error(kind, data):
    vectors, _ = data
    index = build(kind, IDS, vectors)
    with pytest.raises(ValueError, match="dimension"):
        index.add([1], np.ones((1, DIM + 1), np.float32))
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.ones((2, DIM - 1), np.float32), 3)
    assert len(index) == COUNT, "a refused add leaves the index unchanged"


def test_ids_and_vectors_of_different_lengths_are_refused(kind, data):
    vectors, _ = data
    index = create_index(kind, DIM)
    with pytest.raises(ValueError):
        index.add(IDS[:3], vectors[:2])
    assert len(index) == 0


# --- persist ------------------------------------------------------------------------------------------


def save(path, kind="exact", revision=3, payload=None):
    index = ExactIndex(DIM)
    header = persist.VectorFileHeader(kind=kind, dim=DIM, revision=revision, count=len(index))
    persist.write_atomic(path, persist.encode(header, payload if payload is not None else index.to_bytes()))
    return header


def test_write_atomic_then_read_round_trips_header_and_payload(tmp_path, data):
    vectors, queries = data
    index = build("flat", IDS, vectors)
    header = persist.VectorFileHeader(kind="flat", dim=DIM, revision=42, count=len(index))
    path = tmp_path / "joint.faiss"
    persist.write_atomic(path, persist.encode(header, index.to_bytes()))
    read_header, payload = persist.read(path)
    assert read_header == header
    restored = backend_class(read_header.kind).from_bytes(read_header.dim, payload)
    np.testing.assert_array_equal(restored.search(queries, 5)[0][1], index.search(queries, 5)[0][1])
    assert [p.name for p in tmp_path.iterdir()] == ["joint.faiss"], "no temporary file is left behind"


def test_write_atomic_replaces_the_previous_file(tmp_path):
    path = tmp_path / "joint.faiss"
    save(path, revision=1)
    save(path, revision=2)
    assert persist.read(path)[0].revision == 2


@pytest.mark.parametrize("failing", ["fsync", "write"])
def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temp_file(tmp_path, monkeypatch, failing):
    path = tmp_path / "joint.faiss"
    before = save(path, revision=1)
    original = path.read_bytes()

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "fsync":
        monkeypatch.setattr(os, "fsync", disk_full)
    else:
        real_open = open

        class FullDisk:
            def __init__(self, fh):
                self.fh = fh

            def write(self, data):
                self.fh.write(data[: len(data) // 2])  # a partial write, then the disk is full
                disk_full()

            def __getattr__(self, name):
                return getattr(self.fh, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

        monkeypatch.setattr(persist, "open", lambda *a, **k: FullDisk(real_open(*a, **k)), raising=False)

    with pytest.raises(OSError) as raised:
        save(path, revision=2, payload=b"x" * 100_000)
    assert raised.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert persist.read(path)[0] == before
    assert [p.name for p in tmp_path.iterdir()] == ["joint.faiss"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # some other file
        persist.MAGIC,  # cut off inside the header
        persist.MAGIC + (20).to_bytes(8, "little") + b"{not json",
        persist.MAGIC + (12).to_bytes(8, "little") + b'{"kind": 1}',  # fields missing
    ],
    ids=["empty", "foreign", "truncated", "damaged-header", "incomplete-header"],
)
def test_a_corrupt_or_foreign_file_raises_schema_error(tmp_path, content):
    path = tmp_path / "joint.faiss"
    path.write_bytes(content)
    with pytest.raises(SchemaError, match="rebuilt from the store"):
        persist.read(path)


def test_a_file_from_a_newer_format_is_refused_with_schema_error(tmp_path):
    path = tmp_path / "joint.faiss"
    header = persist.VectorFileHeader("flat", DIM, 1, 0, format_version=persist.FORMAT_VERSION + 1)
    path.write_bytes(persist.encode(header, b""))
    with pytest.raises(SchemaError, match="newer"):
        persist.read(path)


# --- factory ------------------------------------------------------------------------------------------


def test_factory_builds_every_registered_backend(kind):
    index = create_index(kind, DIM)
    assert index.kind == kind and index.dim == DIM and len(index) == 0


def test_unknown_backend_kind_raises_config_error_listing_known_kinds():
    with pytest.raises(ConfigError) as raised:
        create_index("hnsw-typo", DIM)
    message = str(raised.value)
    assert "hnsw-typo" in message
    for known in BACKENDS:
        assert known in message


# --- approximate kinds, at a size where they really approximate ---------------------------------------
# The contract above runs every backend at 300 vectors, where HNSW's search covers the whole graph and IVF
# still holds its vectors in the exact staging index. Here they get enough vectors to train and to prune
# their search: results may then differ from exact ones, so quality is a recall bound, while removes,
# filters, ids and persistence stay exact.

APPROX_KINDS = sorted(kind for kind, cls in BACKENDS.items() if cls.approximate)
# The re-ranking kinds run twice: with their float16 rows (and lists) in RAM, and in files as the catalog
# keeps them, part of the lists written to disk and part added since.
FILE_KINDS = sorted(kind for kind, cls in BACKENDS.items() if getattr(cls, "stores_files", False))
APPROX_CASES = [pytest.param((kind, False), id=kind) for kind in APPROX_KINDS] + [
    pytest.param((kind, True), id=f"{kind}-files") for kind in FILE_KINDS
]
APPROX_DIM, APPROX_COUNT = 64, 4000
# IVF-PQ scores 16-byte codes, not vectors: its recall is bounded by the quantisation, not by the search.
MIN_RECALL = {"ivf-pq": 0.5}


@pytest.fixture(scope="module")
def approx_data():
    vectors = clustered_unit_vectors(APPROX_COUNT + 50, APPROX_DIM, clusters=40, spread=0.5, seed=3)
    ids = (2**40 + 7 * np.arange(APPROX_COUNT)).astype(np.int64)
    # Stored vectors as the store returns them (float16 values): the re-ranking kinds score those rows, so
    # their exact scores then equal the reference's to float32 rounding.
    return ids, roundtrip(vectors[:APPROX_COUNT]), vectors[APPROX_COUNT:]


@pytest.fixture(params=APPROX_CASES)
def approx_case(request, tmp_path):
    """(kind, storage): storage is where a file-keeping kind writes, None to keep it in RAM."""
    kind, files = request.param
    return kind, (tmp_path / "joint" if files else None)


def build_approx(kind: str, ids: np.ndarray, vectors: np.ndarray, storage=None):
    cls = backend_class(kind)
    options = {"train_at": 1000} if "train_at" in cls.__init__.__code__.co_varnames else {}
    index = cls(APPROX_DIM, **options, **({"storage": storage} if storage is not None else {}))
    for start in range(0, len(ids), 700):  # in commits, as the indexer adds them
        index.add(ids[start : start + 700], vectors[start : start + 700])
        if storage is not None and start == 2100:
            index.flush(complete=True)  # the rows so far to the vector file, the on-disk kind's lists to disk
            assert index.files() and all(path.exists() for path in index.files())
    return index


def exact_reference(ids: np.ndarray, vectors: np.ndarray) -> ExactIndex:
    index = ExactIndex(APPROX_DIM)
    index.add(ids, vectors)
    return index


def recall(got, want) -> float:
    return float(np.mean([len(set(g[1].tolist()) & set(w[1].tolist())) / len(w[1]) for g, w in zip(got, want)]))


def test_approximate_kind_finds_the_true_top_10(approx_case, approx_data):
    (kind, storage), (ids, vectors, queries) = approx_case, approx_data
    index = build_approx(kind, ids, vectors, storage)
    if hasattr(index, "nlist"):
        assert index.nlist > 0, "IVF trained once enough vectors arrived"
    got = index.search(queries, 10)
    assert all(len(i) == 10 and i.dtype == np.int64 for _, i in got)
    assert recall(got, exact_reference(ids, vectors).search(queries, 10)) >= MIN_RECALL.get(kind, 0.95)


def test_approximate_kind_removes_filters_and_persists_exactly(approx_case, approx_data):
    (kind, storage), (ids, vectors, queries) = approx_case, approx_data
    index = build_approx(kind, ids, vectors, storage)
    gone = ids[::3]  # a third: enough to make HNSW compact its graph
    assert index.remove(np.concatenate([gone, [12345]])) == len(gone)
    assert index.remove(gone[:5]) == 0
    kept = ids[~np.isin(ids, gone)]
    assert len(index) == len(kept)
    assert sorted(index.ids().tolist()) == sorted(kept.tolist())
    for _, found in index.search(queries, 50):
        assert not np.isin(found, gone).any()

    allowed = np.concatenate([ids[1::11], gone[:10]])  # a narrow filter, some of it removed
    exact = exact_reference(kept, vectors[np.isin(ids, kept)])
    got = index.search(queries, 10, allowed=allowed)
    if kind == "ivf-pq":  # scores come from codes: the allowed ids are right, their order approximate
        for (_, g), (_, w) in zip(got, exact.search(queries, 10, allowed=allowed)):
            assert len(g) == len(w) and np.isin(g, allowed).all() and not np.isin(g, gone).any()
    else:
        assert_same_results(got, exact.search(queries, 10, allowed=allowed))

    restored = load_index(kind, APPROX_DIM, index.to_bytes(), storage)
    assert sorted(restored.ids().tolist()) == sorted(index.ids().tolist())
    for (s1, i1), (s2, i2) in zip(index.search(queries, 10), restored.search(queries, 10)):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(s1, s2, atol=TOL)
    restored.add([2**50], vectors[:1])
    assert len(restored) == len(kept) + 1


def test_choose_kind_is_exact_when_small_and_compressed_when_the_budget_is_tight():
    from anyseek.engine.vectors.factory import choose_kind

    gib = 2**30
    assert choose_kind(0) == choose_kind(50_000, 8 * gib) == "flat"
    assert choose_kind(1_000_000, 8 * gib) == "ivf-flat"  # 2 KiB a vector fits: full vectors, best recall
    assert choose_kind(10_000_000, 8 * gib) == "ivf-pq-refine"  # 20 GB would not; 64-byte codes do
    assert choose_kind(1_000_000, 256 * 2**20) == "ivf-pq-refine"
    assert choose_kind(100_000_000, 4 * gib) == "ivf-pq-disk"  # not even the codes (8 GB) fit
    assert choose_kind(10_000, 1 * 2**20) == "ivf-pq-refine"
    assert "ivf-pq" not in {choose_kind(n, b) for n in (10**4, 10**6, 10**8) for b in (2**20, gib, 64 * gib)}


# --- the torch clone that searches a flat index on CUDA when faiss has no GPU -----------------------------


def test_flat_index_searches_through_its_torch_clone_exactly_and_follows_changes(data):
    """The clone's logic on the CPU (on a CUDA machine the same code runs with device "cuda")."""
    from anyseek.engine.vectors.faiss_flat import FaissFlatIndex

    vectors, queries = data
    index = FaissFlatIndex(DIM, use_gpu=False, mirror_device="cpu")
    index.add(IDS, vectors)
    assert_same_results(index.search(queries, 10), build("exact", IDS, vectors).search(queries, 10))
    assert index._mirror is not None, "the search went through the clone"
    index.remove(IDS[:50])
    index.add([2**45], vectors[:1])
    reference = build("exact", np.append(IDS[50:], 2**45), np.vstack([vectors[50:], vectors[:1]]))
    assert_same_results(index.search(queries, 10), reference.search(queries, 10))
    allowed = IDS[50::9]
    assert_same_results(index.search(queries, 5, allowed), reference.search(queries, 5, allowed))
    restored = FaissFlatIndex.from_bytes(DIM, index.to_bytes())
    assert sorted(restored.ids().tolist()) == sorted(index.ids().tolist())
