"""JPEGs decoded in their batch on the model's device (jpeg_decode = "device"; "auto" does it on CUDA): the
same index as the CPU path, within resampling noise, and the same per-file errors. On the CPU the device
is the CPU (torchvision's libjpeg), which checks the wiring on every machine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anyseek.engine.records import Space
from tests.test_parity import cosine, open_clip_reference, stored_vector

DEVICE_RUNS = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def reasons(report) -> dict[str, str]:
    return {e.path.rsplit("/", 1)[-1]: e.reason for e in report.errors}


def test_jpegs_decoded_on_the_device_embed_like_open_clip(open_engine, media, tmp_path):
    eng = open_engine(tmp_path / "device", jpeg_decode="device")
    report = eng.index([media])
    assert (report.added, report.failed) == (14, 0)
    for path in sorted((media / "photos").glob("*.jpg")):
        # another JPEG decoder and an antialiased tensor resize instead of PIL's: the same picture to within
        # resampling noise (measured on the CPU with the random test model: 0.999999 and 1.000000; the CPU
        # path, which draft-decodes large.jpg, gives 1.000000 and 0.999893)
        assert cosine(stored_vector(eng, bytes(path), Space.JOINT), open_clip_reference(path)) >= 0.999, path.name


@pytest.mark.parametrize("device", DEVICE_RUNS)
def test_bad_jpegs_fail_alone_with_the_cpu_paths_reasons(open_engine, media, tmp_path, device):
    photos = media / "photos"
    good = (photos / "beach.jpg").read_bytes()
    (photos / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "actually-text.jpg").write_text("I am a text file pretending to be a photo.")
    scan = good.index(b"\xff\xda")  # the scan data, scrambled; header and end marker intact
    noise = np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8).tobytes()
    (photos / "scrambled.jpg").write_bytes(good[: scan + 40] + noise + good[scan + 440 :])
    on_cpu = open_engine(tmp_path / "cpu", jpeg_decode="cpu").index([media])
    on_device = open_engine(tmp_path / "device", jpeg_decode="device", device=device).index([media])
    assert reasons(on_device) == reasons(on_cpu)
    assert "truncated" in reasons(on_device)["truncated.jpg"] or "corrupt" in reasons(on_device)["truncated.jpg"]
    assert on_device.added == on_cpu.added >= 14
