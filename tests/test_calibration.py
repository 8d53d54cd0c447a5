"""Calibration through the real search path (store, FAISS, searcher), with fixed query vectors standing in
for the models: the searcher does not care which encoder made them."""

from __future__ import annotations

import numpy as np
import pytest

from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, Filters, Modality, Query, QueryPart, Space
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
    home = tmp_path_factory.mktemp("gap")
    store = Store(home / DB_FILE)
    store.initialize()
    text_vectors = unit(rng.standard_normal((PASSAGES, DIM)))
    writes = [
        ItemWrite(
            f"/m/docs/{i}.txt".encode(),
            1,
            1,
            f"p{i}",
            Modality.TEXT,
            [EmbeddedChunk(Chunk(ChunkKind.PASSAGE, 0, f"passage {i}"), {Space.JOINT: p, Space.TEXT: t})],
        )
        for i, (p, t) in enumerate(zip(passages, text_vectors))
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
    catalog = VectorCatalog(home, store, {Space.JOINT: DIM, Space.TEXT: DIM})
    catalog.load_all()
    encoders = FixedEncoders(query, unit(rng.standard_normal(DIM)))
    searcher = Searcher(store, catalog, encoders, Settings(text_spaces="joint,text"), None, None)
    yield searcher, query, passages, photos
    store.close()


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
