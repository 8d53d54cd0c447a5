"""An index on a read-only share or a mounted backup can be searched and reported on; only writers need
write access. Tested on a real read-only mount (and an immutable file), where SQLite itself refuses writes:
permission bits would not do, since the suite may run as root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from anyseek import StorageError
from tests.conftest import TEST_SETTINGS
from tests.test_cli_e2e import _command


def _can(*command: str) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture()
def notes_index(open_engine, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "garden.txt").write_text("Tomatoes need full sun and water every morning.")
    (media / "boats.txt").write_text("Sailing boats rest in the harbour in winter.")
    home = tmp_path / "index"
    eng = open_engine(home)
    eng.index([media])
    eng.close()
    return media, home


@pytest.mark.skipif(not _can("unshare", "-rm", "true"), reason="needs user and mount namespaces (unshare -rm)")
def test_search_and_status_work_on_a_read_only_mount_and_indexing_says_why_not(notes_index):
    media, home = notes_index
    before = sorted(os.listdir(home))

    def on_read_only_mount(*args: str) -> subprocess.CompletedProcess:
        command, env = _command(args, home)
        script = f"mount --bind -o ro {home} {home} && exec {' '.join(map(_quote, command))}"
        return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env)

    found = on_read_only_mount("search", "tomatoes in the sun", "-k", "1", "--json")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["hits"][0]["path"].endswith("garden.txt")
    status = on_read_only_mount("status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["items"] == {"text": 2}
    refused = on_read_only_mount("index", str(media))
    assert refused.returncode == 1 and "read-only" in refused.stderr and "Traceback" not in refused.stderr
    assert sorted(os.listdir(home)) == before


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


@pytest.mark.skipif(not shutil.which("chattr"), reason="needs chattr")
def test_an_immutable_database_is_searched_through_the_api(notes_index, encoders):
    from anyseek import Engine

    _, home = notes_index
    db = home / "anyseek.db"
    if not _can("chattr", "+i", str(db)):
        pytest.skip("this filesystem has no immutable flag")
    try:
        with Engine.open(home, encoders=encoders, **TEST_SETTINGS) as eng:
            assert eng.store.read_only
            assert eng.search(text="boats in the harbour", k=1)[0].path.endswith("boats.txt")
            assert eng.status().items == {"text": 2}
            with pytest.raises(StorageError, match="read-only"):
                eng.index([home.parent / "media"])
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
