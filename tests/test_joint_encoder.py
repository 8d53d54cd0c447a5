"""The joint encoder's fast paths give what open_clip gives: preprocessing without torch ops (decode
threads must not start OpenMP teams) and the text tower run only up to the longest text in the batch."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def test_preprocess_is_bit_identical_to_open_clips_transform(encoders):
    joint = encoders.joint
    rng = np.random.default_rng(0)
    for size, mode in (((640, 480), "RGB"), ((300, 700), "RGB"), ((256, 256), "L")):
        pixels = rng.integers(0, 256, (size[1], size[0], 3 if mode == "RGB" else 1), dtype=np.uint8)
        image = Image.fromarray(pixels.squeeze(), mode)
        np.testing.assert_array_equal(joint.preprocess(image), joint.transform(image).numpy())


def test_text_vectors_equal_the_full_77_token_encoding(encoders):
    joint = encoders.joint
    texts = ["a dog", "the budget for next year and the plan to spend it", "", "word " * 100]
    for batch in (texts[:3], texts):  # short texts alone (trimmed) and with one that fills the context
        with torch.inference_mode():
            full = joint.model.encode_text(joint.tokenizer(batch), normalize=True).float().numpy()
        np.testing.assert_allclose(joint.encode_texts(batch), full, atol=1e-5)
