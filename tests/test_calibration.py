"""Calibration through the real search path (store, FAISS, searcher), with fixed query vectors standing in
for the models (the searcher does not care which encoder made them), and reference sets given directly.
The real models' reference sets are exercised by tests/test_scores.py."""

from __future__ import annotations

import numpy as np
import pytest

from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, Filters, Modality, Query, QueryPart, Space
from anyseek.engine.search import calibration
from anyseek.engine.search.calibration import null_of
from anyseek.engine.search.reference import TEXT, kind_of
from anyseek.engine.search.searcher import Searcher
from anyseek.engine.settings import Settings
from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.store import ItemWrite, Store
from anyseek.engine.vectors.catalog import VectorCatalog

DIM = 48
PASSAGES, PHOTOS, RELEVANT = 400, 60, 17


class Fixed:
    """An "encoder" that returns one given vector for any text."""

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vector] * len(texts))


class FixedEncoders:
    def __init__(self, joint: np.ndarray, text: np.ndarray) -> None:
        self.joint, self.text = Fixed(joint), Fixed(text)

    def for_text_query(self, role: str) -> Fixed:
        return self.joint if role == "joint" else self.text


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def gap(tmp_path_factory):
    """A joint space with a modality gap: the query's cosine is ~0.6 with every passage and ~0.25 with
    every photo, ~0.36 with the one photo it describes; the text space holds passages unrelated to it."""
    rng = np.random.default_rng(5)
    basis = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0]
    text_axis, image_axis, noise = basis[0], basis[1], basis[2:]
    query = unit(0.75 * text_axis + 0.32 * image_axis + 0.58 * noise[0])
    rest = noise[1:]  # directions the query does not lean on: they spread the targets, not its cosines

    def around(axis, count, spread, along_query):
        offsets = rng.standard_normal((count, len(rest))) @ rest * spread / np.sqrt(len(rest))
        return unit(axis + offsets + along_query * rng.standard_normal((count, 1)) * noise[0])

    passages = around(text_axis, PASSAGES, 0.75, 0.05)
    photos = around(image_axis, PHOTOS, 0.8, 0.04)
    photos[RELEVANT] = unit(photos[RELEVANT] + 0.3 * noise[0])
    text_vectors = unit(rng.standard_normal((PASSAGES, DIM)))
    passage_vectors = [{Space.JOINT: p, Space.TEXT: t} for p, t in zip(passages, text_vectors)]
    encoders = FixedEncoders(query, unit(rng.standard_normal(DIM)))
    store, searcher = index(tmp_path_factory.mktemp("gap"), passage_vectors, photos, encoders, "joint,text")
    yield searcher, query, passages, photos
    store.close()


def index(home, passage_vectors: list[dict], photos: np.ndarray, encoders, text_spaces: str):
    """A real store and FAISS indexes holding these vectors: passages /m/docs/N.txt, photos /m/photos/N.jpg."""
    store = Store(home / DB_FILE)
    store.initialize()
    writes = [
        ItemWrite(
            f"/m/docs/{i}.txt".encode(),
            1,
            1,
            f"p{i}",
            Modality.TEXT,
            [EmbeddedChunk(Chunk(ChunkKind.PASSAGE, 0, f"passage {i}"), vectors)],
        )
        for i, vectors in enumerate(passage_vectors)
    ]
    writes += [
        ItemWrite(
            f"/m/photos/{i}.jpg".encode(),
            1,
            1,
            f"i{i}",
            Modality.IMAGE,
            [EmbeddedChunk(Chunk(ChunkKind.IMAGE, 0), {Space.JOINT: m})],
        )
        for i, m in enumerate(photos)
    ]
    store.write_items(writes)
    dims = {space: len(vector) for vectors in passage_vectors[:1] for space, vector in vectors.items()}
    catalog = VectorCatalog(home, store, {Space.JOINT: photos.shape[1]} | dims)
    catalog.load_all()
    return store, Searcher(store, catalog, encoders, Settings(text_spaces=text_spaces), None)


def search(searcher: Searcher, k: int = 10, **filters):
    return searcher.search(Query((QueryPart(text="a photo of it"),), k, Filters(**filters), mode="dense"))


def test_the_simulated_gap_buries_the_photo_under_raw_cosines(gap):
    _, query, passages, photos = gap
    assert abs(float(np.mean(passages @ query)) - 0.6) < 0.08
    assert abs(float(np.mean(photos @ query)) - 0.25) < 0.08
    raw = np.sort(np.concatenate([passages @ query, photos @ query]))[::-1]
    assert int(np.searchsorted(-raw, -float(photos[RELEVANT] @ query))) > PASSAGES // 2


def test_an_unfiltered_text_query_puts_the_relevant_photo_near_the_top(gap):
    searcher = gap[0]
    hits = search(searcher)
    top = [h.path for h in hits[:3]]
    assert f"/m/photos/{RELEVANT}.jpg" in top, [(h.path, round(h.score, 3)) for h in hits]
    photo = next(h for h in hits if h.path.endswith(f"/{RELEVANT}.jpg"))
    assert photo.route == "joint" and photo.score > 0.5 and photo.similarity == pytest.approx(0.36, abs=0.08)


def test_passages_are_ranked_in_the_text_space_not_by_their_joint_cosine(gap):
    hits = search(gap[0], k=20)
    assert {h.route for h in hits if h.modality is Modality.TEXT} == {"text"}


def at_cosines(query: np.ndarray, cosines: np.ndarray, rng) -> np.ndarray:
    """Unit vectors whose cosines with `query` are exactly `cosines`."""
    other = rng.standard_normal((len(cosines), len(query)))
    other -= np.outer(other @ query, query)
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    return unit(cosines[:, None] * query + np.sqrt(1 - cosines[:, None] ** 2) * other)


class StaticReferences:
    """Reference vectors given per kind (reference.py computes them from a model)."""

    def __init__(self, **vectors: np.ndarray) -> None:
        self.by_kind = {kind.replace("_", "-"): v for kind, v in vectors.items()}

    def vectors(self, route, dim):
        return self.by_kind.get(kind_of(route))


def text_index(tmp_path, query: np.ndarray, unrelated: int, relevant: np.ndarray, reference, rng):
    """A text-only index of `unrelated` random passages plus one relevant passage (/m/docs/0.txt)."""
    passages = [relevant, *unit(rng.standard_normal((unrelated, len(query))))]
    encoders = FixedEncoders(unit(rng.standard_normal(DIM)), query)
    store, searcher = index(
        tmp_path, [{Space.TEXT: p} for p in passages], np.zeros((0, DIM), np.float32), encoders, "text"
    )
    searcher.calibration.references = StaticReferences(text=reference)
    return store, searcher


@pytest.mark.parametrize("relevant_cosine", [0.55, 0.8])
def test_a_score_does_not_depend_on_how_many_targets_the_index_holds(tmp_path, relevant_cosine):
    """The same passage for the same query scores alike in a ten-passage folder and among 500 others, and
    the best unrelated passage stays below "clearly related" in both (by design, the best of a few
    thousand unrelated ones reaches about 0.5: docs/scores.md)."""
    rng = np.random.default_rng(3)
    dim = 64
    query = unit(rng.standard_normal(dim))
    relevant = at_cosines(query, np.asarray([relevant_cosine]), rng)[0]
    reference = unit(rng.standard_normal((1200, dim)))
    scores, unrelated_best = [], []
    for count in (10, 500):
        (tmp_path / str(count)).mkdir()
        store, searcher = text_index(tmp_path / str(count), query, count, relevant, reference, rng)
        try:
            hits = search(searcher, k=5)
            assert hits[0].path == "/m/docs/0.txt"
            scores.append(hits[0].score)
            unrelated_best.append(max(h.score for h in hits[1:]))
        finally:
            store.close()
    assert abs(scores[0] - scores[1]) < 0.1 and min(scores) > 0.6, scores
    assert max(unrelated_best) < 0.5, unrelated_best


def test_without_a_reference_a_tiny_index_does_not_turn_noise_into_certainty(tmp_path):
    """Ten unrelated passages: their own median and spread are all there is, and the bar is a normal
    null's; none of them scores as clearly related."""
    rng = np.random.default_rng(4)
    query = unit(rng.standard_normal(64))
    store, searcher = text_index(tmp_path, query, 10, unit(rng.standard_normal(64)), None, rng)
    searcher.calibration.references = None
    try:
        assert all(h.score < 0.5 for h in search(searcher, k=10))
    finally:
        store.close()


def test_a_near_duplicate_is_a_certain_match_and_chance_is_not():
    rng = np.random.default_rng(5)
    reference = np.clip(rng.normal(0.25, 0.08, 400), -1, 1)  # an image query against unrelated pictures
    null = null_of(reference, reference[:5], 5)
    assert calibration.evidence_score(null.evidence(0.995)) > 0.99
    assert calibration.evidence_score(null.evidence(float(np.median(reference)))) < 0.05
    assert calibration.evidence_score(null.evidence(float(np.quantile(reference, 0.99)))) < 0.3


def test_the_index_refines_the_null_more_as_it_grows():
    rng = np.random.default_rng(6)
    reference = rng.normal(0.0, 0.05, 1000)  # generic passages: far from this query
    own = rng.normal(0.3, 0.05, 512)  # the user's passages all sit nearer (one topic)
    small, large = null_of(reference, own[:10], 10), null_of(reference, own, 100_000)
    assert small.median < 0.05 < 0.25 < large.median  # a folder of ten barely moves it; 100,000 decide it
    assert small.evidence(0.4) > large.evidence(0.4)


def test_each_route_has_its_own_kind_of_reference_set():
    from anyseek.engine.search.reference import JOINT_IMAGE, JOINT_TEXT
    from anyseek.engine.search.routing import TEXTUAL, VISUAL, Route

    assert kind_of(Route(Space.TEXT, TEXTUAL)) == TEXT
    assert kind_of(Route(Space.JOINT, VISUAL)) == JOINT_IMAGE
    assert kind_of(Route(Space.JOINT, TEXTUAL)) == JOINT_TEXT


def test_the_reference_sets_are_generated_the_same_on_every_run():
    from anyseek.engine.search.reference_images import pictures
    from anyseek.engine.search.reference_text import PASSAGES, passages

    first = passages()
    assert len(first) == PASSAGES == len(set(first)) and first == passages()
    a, b = pictures(20), pictures(20)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))
    assert len({np.asarray(p).tobytes() for p in a}) == 20  # all different
