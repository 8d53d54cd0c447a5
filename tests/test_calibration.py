"""Calibration through the real search path (store, FAISS, searcher), with fixed query vectors standing in
for the models: the searcher does not care which encoder made them."""

from __future__ import annotations

import numpy as np
import pytest

from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, Filters, Modality, Query, QueryPart, Space
from anyseek.engine.search.calibration import CEILING_FLOOR, ceiling
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


def test_many_unrelated_passages_do_not_outrank_a_photo_that_stands_out_from_few(tmp_path):
    """The best of 3,000 unrelated passages sits ~3.4 standard deviations above their median by chance
    alone; a relevant photo 3.2 above 40 others stands out far more than chance explains. A plain z-score
    would put the passage first; the calibration accounts for how many targets each route compared."""
    rng = np.random.default_rng(11)
    text_query, joint_query = unit(rng.standard_normal(64)), unit(rng.standard_normal(DIM))
    passages = unit(rng.standard_normal((3000, 64)))  # cosines with the query ~ N(0, 1/8)
    photo_cosines = np.clip(rng.normal(0.2, 0.05, 40), -1, 1)
    spread = 1.4826 * np.median(np.abs(photo_cosines - np.median(photo_cosines)))
    photo_cosines[RELEVANT] = np.median(photo_cosines) + 3.2 * spread
    photos = at_cosines(joint_query, photo_cosines, rng)
    encoders = FixedEncoders(joint_query, text_query)
    store, searcher = index(tmp_path, [{Space.TEXT: p} for p in passages], photos, encoders, "text")
    try:
        cosines = passages @ text_query
        median = np.median(cosines)
        best_passage_z = (cosines.max() - median) / (1.4826 * np.median(np.abs(cosines - median)))
        assert best_passage_z > 3.2  # the situation that matters: chance alone beats the photo's z-score
        hits = search(searcher, k=5)
        assert hits[0].path == f"/m/photos/{RELEVANT}.jpg", [(h.path, round(h.score, 3)) for h in hits]
        assert all(h.score < 0.5 for h in hits if h.modality is Modality.TEXT)  # chance scores low
    finally:
        store.close()


@pytest.mark.parametrize("targets", [CEILING_FLOOR, 600, 20_000])
def test_the_ceiling_is_where_the_best_of_that_many_chance_targets_lands(targets):
    rng = np.random.default_rng(targets)
    best = np.median([rng.standard_normal(targets).max() for _ in range(400)])
    assert ceiling(targets) == pytest.approx(best, abs=0.25)
    assert ceiling(10 * targets) > ceiling(targets)


def test_routes_of_a_small_index_share_one_ceiling():
    assert ceiling(5) == ceiling(40) == ceiling(CEILING_FLOOR) < ceiling(2 * CEILING_FLOOR)
