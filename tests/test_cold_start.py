"""Cold start: work that can be done once is not done on every start."""

from __future__ import annotations

import subprocess
import sys


def test_onnx_parity_is_checked_at_export_not_on_every_start(encoders, monkeypatch):
    from anyseek.engine.encoders import onnx_text

    model = encoders.text.model
    first = onnx_text.OnnxTextRunner.build(model, encoders.text.dim, 1)
    assert first is not None
    markers = list((onnx_text.cache_root() / "onnx").glob("*.onnx.verified"))
    assert markers

    def must_not_run(self, model):
        raise AssertionError("the parity check ran again")

    monkeypatch.setattr(onnx_text.OnnxTextRunner, "_matches", must_not_run)
    again = onnx_text.OnnxTextRunner.build(model, encoders.text.dim, 1)
    assert again is not None
    vectors = again.encode(["tomatoes need sun"])
    assert abs(float((vectors * first.encode(["tomatoes need sun"])).sum()) - 1.0) < 1e-5
    for marker in markers:  # a marker whose model file is gone makes the next export check again
        marker.with_suffix("").unlink()
    monkeypatch.undo()
    rebuilt = onnx_text.OnnxTextRunner.build(model, encoders.text.dim, 1)
    assert rebuilt is not None and all(m.exists() for m in markers)


def test_the_cli_imports_no_model_library_until_a_command_needs_one():
    code = (
        "import sys; from anyseek.cli import app; "
        "heavy = {'torch', 'open_clip', 'sentence_transformers', 'faster_whisper', 'fastapi', 'uvicorn'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
