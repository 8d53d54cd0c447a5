"""Shared fixtures. Everything runs offline: models come from packages (MiniLM, Whisper tiny.en) or are
built from an open_clip architecture with seeded random weights (the joint space's mechanics)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# exported ONNX models go to a per-run cache, not the user's ~/.cache (subprocesses inherit it); the run
# that made it removes it at exit (~350 MB each: hundreds of runs had filled a machine's disk)
if "ANYSEEK_CACHE" not in os.environ:
    os.environ["ANYSEEK_CACHE"] = __import__("tempfile").mkdtemp(prefix="anyseek-test-cache-")
    __import__("atexit").register(__import__("shutil").rmtree, os.environ["ANYSEEK_CACHE"], True)

import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.media import build_media_folder  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
SPEECH = FIXTURES / "speech"
# A small open_clip architecture with seeded random weights: the real code path at a fraction of the cost.
TEST_MODELS = {"joint_model": "ViT-S-32", "joint_pretrained": "random"}
TEST_MODEL_FLAGS = ["--joint-model", TEST_MODELS["joint_model"], "--joint-pretrained", TEST_MODELS["joint_pretrained"]]
# The random joint model ranks images by noise; documents and speech are routed through MiniLM's text
# space whatever the joint model (see engine/search/routing.py), so no test needs to tune the fusion.
TEST_SETTINGS = {**TEST_MODELS, "device": "cpu", "workers": 2}


@pytest.fixture(scope="session")
def speech_manifest() -> dict:
    return json.loads((SPEECH / "manifest.json").read_text())


@pytest.fixture(scope="session")
def encoders():
    """One set of loaded models for the whole session; each test's Engine borrows it."""
    from anyseek.engine.encoders import EncoderSet
    from anyseek.engine.settings import ModelSpecs, load_settings

    settings = load_settings(Path("/nonexistent"), TEST_SETTINGS)
    return EncoderSet(ModelSpecs(**TEST_MODELS), settings)


@pytest.fixture()
def store(tmp_path):
    """A fresh, empty index database (store-level tests)."""
    from anyseek.engine.store.database import DB_FILE
    from anyseek.engine.store.store import Store

    opened = Store(tmp_path / DB_FILE)
    opened.initialize()
    yield opened
    opened.close()


@pytest.fixture()
def media(tmp_path_factory) -> Path:
    """A fresh copy of the mixed media folder (images, documents, recordings) per test."""
    return build_media_folder(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def shared_media(tmp_path_factory) -> Path:
    return build_media_folder(tmp_path_factory.mktemp("shared-media"))


@pytest.fixture()
def open_engine(tmp_path, encoders):
    """Open an Engine on a fresh index dir (or a given one) with the session's models."""
    from anyseek.engine import Engine

    opened = []

    def _open(home: Path | None = None, **overrides):
        eng = Engine.open(home or tmp_path / "index", encoders=encoders, **{**TEST_SETTINGS, **overrides})
        opened.append(eng)
        return eng

    yield _open
    for eng in opened:
        eng.close()


@pytest.fixture(scope="session")
def indexed(tmp_path_factory, shared_media, encoders):
    """One index of the shared media folder, built once, for read-only search tests."""
    from anyseek.engine import Engine

    home = tmp_path_factory.mktemp("shared-index")
    eng = Engine.open(home, encoders=encoders, **TEST_SETTINGS)
    report = eng.index([shared_media])
    yield eng, report
    eng.close()


@pytest.fixture(scope="session")
def docs_index(tmp_path_factory, encoders):
    """A few short documents, one with a rare code in it (lexical and evaluation tests)."""
    from anyseek.engine import Engine

    folder = tmp_path_factory.mktemp("docs")
    texts = {
        "errors.txt": "The printer stopped with error code QX-7731 after the paper jam was cleared.",
        "garden.txt": "Tomatoes need full sun and regular watering; mulch keeps the soil moist.",
        "travel.txt": "The night train to Vienna leaves at ten and arrives early in the morning.",
        "bikes.txt": "A red bicycle was parked outside the library all week.",
        "reverse.txt": "The bicycle that is red belongs to the librarian.",
    }
    for name, text in texts.items():
        (folder / name).write_text(text)
    home = tmp_path_factory.mktemp("docs-index")
    eng = Engine.open(home, encoders=encoders, **TEST_SETTINGS)
    eng.index([folder])
    yield eng
    eng.close()


def copy_speech(name: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SPEECH / name, target)
    return target
