"""The ANN benchmark's machinery at a small size: the factory's choice is a real backend, recall is
computed against exact search. Nothing here looks at a timing."""

from __future__ import annotations

import numpy as np

from anyseek.engine.vectors.factory import BACKENDS, choose_kind
from bench import ann


def test_ann_benchmark_runs_small_and_reports_recall_for_every_kind(monkeypatch):
    monkeypatch.setattr(ann, "QUERIES", 40)
    result = ann.run(quick=True, count=2000)
    figures = result.figures
    assert choose_kind(figures["count"]) in BACKENDS
    sweeps = figures["sweeps"]
    assert set(sweeps) == {"flat", *ann.SWEEPS}
    assert sweeps["flat"][0]["recall"] == 1.0
    for kind in ann.SWEEPS:
        recalls = [row["recall"] for row in sweeps[kind]]
        # at its widest setting each index finds nearly what exact search finds (measured at 2,000
        # vectors: hnsw and ivf-flat 1.0, ivf-pq 0.945, compression costing the rest); a broken id
        # mapping or metric scores near 0
        assert recalls[-1] >= (0.8 if kind == "ivf-pq" else 0.95), (kind, recalls)
        assert recalls[-1] >= recalls[0] - 1e-9, f"{kind}: a wider search must not find less"
    assert figures["bytes_per_vector_serialized"]["ivf-pq"] < figures["bytes_per_vector_serialized"]["flat"]
    assert any(row.metric.startswith("auto choice") for row in result.rows)


def test_recall_at_counts_shared_ids():
    assert ann.recall_at(np.array([[1, 2, 3]]), np.array([[3, 4, 1]])) == 2 / 3


def test_video_benchmark_bare_path_decodes_exactly_the_frames_the_index_keeps(tmp_path):
    """bench/video.py's (a) must feed the model the frames anyseek keeps, or its ratio compares unequal work."""
    import shutil

    from anyseek.media.audio import AudioCollector
    from bench import video
    from tests.test_video_extract import VIDEO, TinyJoint

    for name in ("scenes.mp4", "talk.mp4"):
        shutil.copyfile(VIDEO / name, tmp_path / name)
    joint = TinyJoint()
    _, decoded, kept = video.sampling_only(tmp_path, joint)
    assert kept == 5 and 0 < decoded
    pixels, audio = video._bare_decode(tmp_path / "talk.mp4", {0.0, 5.0}, joint, AudioCollector(60))
    assert len(pixels) == 2 and len(audio) > 16000 * 9


def test_gpu_benchmark_runs_quick_on_the_cpu_with_only_the_repository(tmp_path):
    """bench/gpu.py is carried to a machine with torch and torchvision only: it must run from the bare
    repository (no installed anyseek) and report every figure. Nothing here looks at a timing."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "gpu.json"
    command = [sys.executable, str(root / "bench" / "gpu.py"), "--quick", "--device", "cpu", "--out", str(out)]
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=600)
    result = json.loads(out.read_text())
    assert result["code"] == str(root), "the benchmark measures this repository's code"
    assert result["imported_but_absent_there"] == [], "only torch, torchvision, PIL and NumPy exist there"
    for name in ("photos", "big_photos"):
        assert result[name]["gpu_fallbacks"] == 0, "every generated photo decodes on the device"
        assert result[name]["gpu_decode_img_s"] > 0 and result[name]["cpu_process_decode_img_s"] > 0
    assert result["gpu_decode_plus_model"]["ratio"] > 0
    search = result["search"]
    assert search["torch"]["batch_qps"] > 0 and search["numpy"]["batch_qps"] > 0
    assert search["top10_agreement"] >= 0.95, "both sides are exact search: they find the same neighbours"


def test_scale_benchmark_runs_small_with_shards_and_measures_in_a_separate_process(monkeypatch):
    """bench/scale.py end to end at a toy size (32-d): build beside bare FAISS, the searching process, the
    sharded merge. Recall bounds only; nothing here looks at a timing or a memory figure."""
    from bench import scale

    monkeypatch.setattr(scale, "DIM", 32)
    monkeypatch.setattr(scale, "FRESH_QUERIES", 50)
    figures = scale.run(count=6000, shards=2).figures
    assert figures["recall_fresh"] >= 0.9 and figures["shards"]["recall_merged"] >= 0.9
    assert figures["build_seconds"]["ours"] > 0 and figures["build_seconds"]["bare"] > 0
    assert figures["memory"]["warm"]["VmRSS"] > 0 and figures["latency"]["n"] == 50
    assert figures["disk_bytes_per_vector"] >= 2 * 32, "the float16 rows are on disk"


def test_import_embeddings_benchmark_runs_small(monkeypatch, tmp_path):
    """bench/import_embeddings.py end to end at a toy size: the import and its no-op re-import really ran
    (the benchmark raises if the re-import writes anything). Nothing here looks at a timing."""
    from bench import common, import_embeddings

    monkeypatch.setattr(common, "CACHE", tmp_path)
    monkeypatch.setattr(import_embeddings, "QUERIES", 5)
    figures = import_embeddings.run(count=300).figures
    assert figures["rows"] == 300 and figures["vectors"] == 600
    assert figures["search_by_vector"]["n"] == 5 and set(figures["vector_indexes"]) == {"joint"}
