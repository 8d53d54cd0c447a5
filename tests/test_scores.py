"""What a score means in a new user's small folder, with the real models (the demo joint model, MiniLM,
Whisper): a photo used as the query is a near-certain match of itself, a query nothing answers scores low
everywhere, a copied sentence finds its README (issues 21 and 29). Thresholds have margins: another CPU
gives slightly different vectors."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data.demo_scenes import draw_scene

DATA = Path(__file__).resolve().parent.parent / "data"
DEMO_MODEL = DATA / "demo-model"
PHOTOS = {"photo_01.jpg": ("yellow", "triangle"), "photo_02.jpg": ("purple", "star"), "photo_03.png": ("red", "circle")}
PATTERN = "photo_00.jpg"  # fine detail, 477x720, EXIF orientation 8: the case a reduced-scale decode moved
README = (
    "Nettle is a cryptographic library that is designed to fit easily in more or less any context: "
    "in crypto toolkits for object-oriented languages, in applications, or even in kernel space.\n\n"
    "Build it with the usual configure and make; the test suite runs with make check."
)
NOTES = {
    "nettle_README.md": README,
    "garden.txt": "Tomatoes need water every evening in July; the roses by the fence are pruned in March.",
    "trip.md": "Night train to Vienna on Friday, back on Sunday afternoon. Book the sleeper early.",
}
UNANSWERED = ("a violin concerto in a cathedral", "a photo of flowers", "xylophone quantum zebra")


def pattern_jpeg() -> bytes:
    """Grain and thin stripes near the pixel level, stored turned with EXIF orientation 8."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:720, 0:477]
    stripes = (np.sin(x * 1.3 + y * 0.4) > 0) * 120
    pixels = np.clip(stripes[..., None] + rng.normal(60, 40, (720, 477, 3)), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 8
    buffer = io.BytesIO()
    Image.fromarray(pixels).transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def folder_index(tmp_path_factory):
    from anyseek.engine import Engine

    folder = tmp_path_factory.mktemp("small") / "folder"
    folder.mkdir()
    for name, (colour, shape) in PHOTOS.items():
        draw_scene(colour, shape, seed=name, size=320).save(folder / name)
    (folder / PATTERN).write_bytes(pattern_jpeg())
    for name, text in NOTES.items():
        (folder / name).write_text(text)
    shutil.copy(DATA / "demo-media" / "speech" / "pink-heart.ogg", folder / "memo.ogg")
    eng = Engine.open(tmp_path_factory.mktemp("small-index"), joint_model=str(DEMO_MODEL), device="cpu")
    report = eng.index([folder])
    assert report.failed == 0 and report.added == len(PHOTOS) + 1 + len(NOTES) + 1
    yield eng, folder
    eng.close()


@pytest.mark.parametrize("name", [PATTERN, *PHOTOS])
def test_an_indexed_photo_used_as_the_query_finds_itself_first_as_a_certain_match(folder_index, name):
    eng, folder = folder_index
    hits = eng.search(image=folder / name, k=5)
    assert Path(hits[0].path).name == name, [(Path(h.path).name, round(h.score, 3)) for h in hits]
    assert hits[0].similarity >= 0.99 and hits[0].score >= 0.9
    assert all(h.score < 0.5 for h in hits if h.modality.value == "text")  # a README is no match for a photo


def test_the_query_photo_is_decoded_exactly_as_the_indexer_decoded_it(folder_index):
    """The pattern JPEG at the index's reduced scale gives back its own stored vector."""
    from anyseek.engine.records import Space

    eng, folder = folder_index
    item = eng.store.find_item(path=os.fsencode(folder / PATTERN))
    stored = eng.store.item_vectors(item.id, eng.catalog.dims)[Space.JOINT][0]
    joint = eng.encoders.for_image_query()
    image = eng.decoder.query_image(folder / PATTERN, joint.image_size)
    vector = joint.encode_images(joint.preprocess(image)[None])[0]
    assert float(stored @ vector) >= 0.999


@pytest.mark.parametrize("query", UNANSWERED)
def test_a_query_nothing_answers_has_no_hit_above_one_half(folder_index, query):
    hits = folder_index[0].search(query, k=10)
    assert len(hits) and max(h.score for h in hits) <= 0.5, [(Path(h.path).name, round(h.score, 2)) for h in hits]


def test_a_sentence_copied_from_a_readme_finds_that_readme_first(folder_index):
    hits = folder_index[0].search("Nettle is a cryptographic library that is designed to fit easily", k=5)
    assert Path(hits[0].path).name == "nettle_README.md" and hits[0].score >= 0.6
    assert all(h.score < hits[0].score - 0.1 for h in hits[1:])


@pytest.mark.parametrize("name", list(PHOTOS))
def test_a_photo_described_in_words_comes_first_with_a_clear_score(folder_index, name):
    """Each scene, not only the one the demo model sets furthest from generated pictures of its colour:
    before the target's own view (search/target_side.py), "a purple star" and "a red circle" came first
    at ~0.37, below one half, while "a yellow triangle" scored 0.74."""
    colour, shape = PHOTOS[name]
    hits = folder_index[0].search(f"a {colour} {shape}", k=5)
    assert Path(hits[0].path).name == name and hits[0].score >= 0.6, [
        (Path(h.path).name, round(h.score, 2)) for h in hits
    ]


def test_a_note_found_by_its_words_is_clearly_related(folder_index):
    hits = folder_index[0].search("when do the tomatoes need water", k=5)
    assert Path(hits[0].path).name == "garden.txt" and hits[0].score >= 0.6


def test_the_reference_sets_are_cached_once_per_model(folder_index):
    from anyseek.engine.encoders.onnx_text import cache_root

    cached = sorted(p.name.split("-v")[0] for p in (cache_root() / "null").glob("*.npy"))
    assert {"text", "joint-text", "joint-image"} <= set(cached)
