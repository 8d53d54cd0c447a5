"""What gets installed: one top-level package, `anyseek`, that works with the repository out of reach."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import TEST_MODEL_FLAGS
from tests.media import NOTES

REPO = Path(__file__).resolve().parent.parent


def source_copy(dest: Path) -> Path:
    """What a build needs, copied out of the repository: setuptools writes build/ beside the sources, which
    must not land in the working tree (or race a parallel run)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)
    for folder in set(project["tool"]["setuptools"]["package-dir"].values()):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    src = source_copy(tmp_path_factory.mktemp("src"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("anyseek-*.whl")
    return built


def test_wheel_installs_one_top_level_package_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"anyseek"}
    assert "anyseek/py.typed" in names
    assert not [n for n in names if "/tests/" in n or "/bench/" in n or "__pycache__" in n or n.endswith(".pyc")]
    # every package of the source tree made it in (pyproject lists them by hand)
    for folder in ("engine", "indexer", "cli"):
        for init in (REPO / folder).rglob("__init__.py"):
            assert f"anyseek/{init.relative_to(REPO).as_posix()}" in names


def test_built_wheel_indexes_and_searches_outside_the_repository(wheel, tmp_path):
    """A fresh virtualenv holding only the wheel; its dependencies come from the test environment's
    site-packages through a .pth file (the editable install's finder is not activated there), and the
    working directory is outside the repository, so nothing can be imported from the source tree."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANYSEEK_DEVICE": "cpu", "PYTHONPATH": ""}
    anyseek = env_dir / "bin" / "anyseek"

    def run(*args: str) -> str:
        done = subprocess.run([str(anyseek), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = subprocess.run(
        [python, "-c", "import anyseek, anyseek.engine.facade as f; print(f.__file__, anyseek.__version__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(site) and str(REPO) not in where
    assert "Usage" in run("--help")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text if isinstance(text, str) else text[0])
    index = tmp_path / "index"
    run("--index", str(index), "index", str(docs), *TEST_MODEL_FLAGS)
    out = run("--index", str(index), "search", "watering tomatoes in the sun", "--type", "text", "-k", "2", "--json")
    assert "garden.txt" in {Path(hit["path"]).name for hit in json.loads(out)["hits"]}
