"""The text model on ONNX Runtime (CPU): the same vectors as sentence-transformers on PyTorch, exported
once and cached; any trouble falls back to PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from anyseek.engine.encoders.onnx_text import OnnxTextRunner, cache_root
from anyseek.engine.encoders.text import SentenceEncoder

TEXTS = [
    "",
    "tomatoes",
    "How often should tomatoes be watered in a hot summer?",
    "Le café était fermé à la gare, 東京 – ünïcödé ✓",
    "a much longer passage " * 200,  # past the model's 256-token window: truncated the same way
] + [f"passage number {i} about {'gardens ' * (i % 7)}and rain" for i in range(40)]


@pytest.fixture(scope="module")
def torch_encoder():
    return SentenceEncoder("all-MiniLM-L6-v2", "cpu", runtime="torch")


def test_cpu_text_model_runs_on_onnx_with_the_same_vectors(encoders, torch_encoder):
    text = encoders.text
    assert text.runtime == "onnx" and torch_encoder.runtime == "torch"
    got, want = text.encode_texts(TEXTS), torch_encoder.encode_texts(TEXTS)
    assert got.shape == want.shape == (len(TEXTS), 384)
    assert np.min(np.sum(got * want, axis=1)) >= 0.99999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert text.fingerprint == torch_encoder.fingerprint  # interchangeable: an index may mix both
    assert text.encode_texts([]).shape == (0, 384)


def test_export_is_cached_and_a_damaged_cache_file_is_replaced(torch_encoder):
    files = list((cache_root() / "onnx").glob("text-*.onnx"))
    assert len(files) == 1  # the session's encoders exported it; building again reuses it
    before = files[0].stat().st_mtime_ns
    cached = OnnxTextRunner.build(torch_encoder.model, 384, threads=2)
    assert cached.encode(TEXTS).shape == (len(TEXTS), 384)
    assert files[0].stat().st_mtime_ns == before
    files[0].write_bytes(b"half a file")  # what a disk-full write could leave
    runner = OnnxTextRunner.build(torch_encoder.model, 384, threads=1)
    assert files[0].stat().st_size > 1_000_000
    assert np.min(np.sum(runner.encode(TEXTS) * torch_encoder.encode_texts(TEXTS), axis=1)) >= 0.99999


def test_text_runtime_setting_is_validated(tmp_path):
    from anyseek.engine.errors import ConfigError
    from anyseek.engine.settings import load_settings

    assert load_settings(tmp_path, {"text_runtime": "torch"}).text_runtime == "torch"
    with pytest.raises(ConfigError, match="text_runtime.*auto, torch"):
        load_settings(tmp_path, {"text_runtime": "tensorrt"})


def test_counting_tokens_in_other_threads_does_not_disturb_encoding(encoders, torch_encoder):
    """Decode workers count tokens while the indexer encodes batches: a shared fast tokenizer would
    hand the encoder unpadded rows (this broke a 20,000-file benchmark run)."""
    import threading

    text = encoders.text
    stop, errors = threading.Event(), []

    def count_forever():
        try:
            while not stop.is_set():
                for t in TEXTS:
                    text.count_tokens(t)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    counters = [threading.Thread(target=count_forever) for _ in range(2)]
    for thread in counters:
        thread.start()
    try:
        want = torch_encoder.encode_texts(TEXTS)
        for _ in range(15):
            got = text.encode_texts(TEXTS)
            assert np.min(np.sum(got * want, axis=1)) >= 0.99999
    finally:
        stop.set()
        for thread in counters:
            thread.join()
    assert not errors
    reference = torch_encoder.model.tokenizer(TEXTS[3], add_special_tokens=False)["input_ids"]
    assert text.count_tokens(TEXTS[3]) == len(reference) > 10
