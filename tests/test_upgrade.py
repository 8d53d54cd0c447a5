"""Indexes built by past releases keep working: every committed fixture (tests/fixtures/indexes/schema-N, one
per past schema; see engine/store/migrations.py) is opened with today's code, searched and written to, and
a read-only copy of it is searched, or refused with the command that upgrades it.

Schemas older than the oldest fixture are made from the newest one by undoing what each later step added
(the data stay real: the fixture's chunks, vectors and words), to test both what a reader without write
access does with them and that a writer migrates them. Fixtures are copied first, never opened in place.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.migrations import READABLE_FROM, SCHEMA_VERSION
from anyseek.engine.store.store import Store
from tests.test_cli_e2e import _command, anyseek
from tests.test_indexing_e2e import store_and_index_agree
from tests.test_migrations import new_index, schema_of
from tests.test_read_only import _can, _quote

INDEXES = Path(__file__).parent / "fixtures" / "indexes"
FIXTURES = sorted((p for p in INDEXES.iterdir() if (p / "FIXTURE.json").is_file()), key=lambda p: p.name)
NEWEST = max(FIXTURES, key=lambda p: json.loads((p / "FIXTURE.json").read_text())["schema_version"])
PRINTER_QUERY = "the printer stopped after a paper jam"
# What each step added, undone in reverse: the index as the release of that version left it.
UNDO = {
    7: ["DROP TABLE record_parts", "DROP TABLE records", "ALTER TABLE chunks DROP COLUMN field"],
    6: [
        *(f"ALTER TABLE chunks DROP COLUMN {column}" for column in ("box_x", "box_y", "box_w", "box_h")),
        *(f"ALTER TABLE chunks DROP COLUMN {column}" for column in ("picture_w", "picture_h", "confidence")),
        "ALTER TABLE items DROP COLUMN ocr",
    ],
    5: [f"ALTER TABLE chunks DROP COLUMN {column}" for column in ("slide", "sheet", "row", "row_end")],
    4: [],  # m004 changed nothing but the version
    3: [
        "DROP INDEX ix_items_captured_at",
        "ALTER TABLE items DROP COLUMN captured_at",
        "ALTER TABLE chunks DROP COLUMN page",
    ],
    2: ["DROP TABLE lexical"],
}


def copy_of(fixture: Path, target: Path) -> tuple[Path, dict]:
    shutil.copytree(fixture, target)
    return target, json.loads((target / "FIXTURE.json").read_text())


def as_version(home: Path, version: int) -> None:
    """Migrate the copy to today's schema, then undo the steps after `version`."""
    store = Store(home / DB_FILE)
    store.initialize()
    store.close()
    with sqlite3.connect(home / DB_FILE) as conn:
        for step in range(SCHEMA_VERSION, version, -1):
            for statement in UNDO[step]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")


def names(hits) -> list[str]:
    return [hit.path.rsplit("/", 1)[-1] for hit in hits]


def read_only(home: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI on `home` where it cannot write the index: a read-only bind mount in a private mount namespace
    (root ignores permission bits), else, for a user who isn't root, the permission bits."""
    command, env = _command(args, home)
    if _can("unshare", "-rm", "true"):
        script = f"mount --bind -o ro {_quote(str(home))} {_quote(str(home))} && exec {' '.join(map(_quote, command))}"
        return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env)
    if os.geteuid() == 0:
        pytest.skip("root without mount namespaces (unshare -rm) cannot make a folder read-only to itself")
    modes = {path: path.stat().st_mode for path in [home, *home.rglob("*")]}
    try:
        for path, mode in modes.items():
            path.chmod(mode & ~0o222)
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def first_hit(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["hits"][0]["path"].rsplit("/", 1)[-1]


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr


@pytest.fixture(params=FIXTURES, ids=lambda path: path.name)
def past_index(request, tmp_path) -> tuple[Path, dict]:
    return copy_of(request.param, tmp_path / "past-index")


def test_an_index_of_a_past_release_opens_searches_and_takes_writes(past_index, open_engine, tmp_path):
    home, info = past_index
    eng = open_engine(home)
    assert eng.store.schema_version() == SCHEMA_VERSION
    assert eng.status().items == info["items"]
    assert names(eng.search(text=PRINTER_QUERY, k=3))[0] == "printer.txt"

    notes = tmp_path / "new-notes"
    notes.mkdir()
    (notes / "kettle.txt").write_text("The kettle whistles loudly as soon as the water boils.")
    report = eng.index([notes])
    assert (report.added, report.failed) == (1, 0)
    assert names(eng.search(text="a kettle whistling when the water is boiling", k=3))[0] == "kettle.txt"
    assert eng.remove([Path(info["media_root"]) / "docs" / "printer.txt"]) == 1
    assert "printer.txt" not in names(eng.search(text=PRINTER_QUERY, k=10))
    store_and_index_agree(eng)
    eng.close()

    reopened = open_engine(home)
    assert reopened.status().items == info["items"]  # one note in, one out
    assert names(reopened.search(text="kettle", k=1)) == ["kettle.txt"]
    store_and_index_agree(reopened)


def test_a_past_index_once_migrated_has_the_schema_of_a_new_one(past_index, tmp_path):
    home, _ = past_index
    store = Store(home / DB_FILE)
    store.initialize()
    store.close()
    (tmp_path / "new").mkdir()
    assert schema_of(home / DB_FILE) == schema_of(new_index(tmp_path / "new"))


def test_a_read_only_copy_of_a_past_index_is_searched_or_refused_with_the_command(past_index):
    home, info = past_index
    found = read_only(home, "search", PRINTER_QUERY, "-k", "3", "--json")
    if info["schema_version"] >= READABLE_FROM:
        assert first_hit(found) == "printer.txt"
    else:
        assert f"`anyseek --index {shlex.quote(str(home))} upgrade`" in one_line(found)


@pytest.mark.parametrize("version", [READABLE_FROM - 1, READABLE_FROM])
def test_an_older_schema_read_only_is_searched_if_readable_else_refused_until_upgraded(tmp_path, version):
    home, _ = copy_of(NEWEST, tmp_path / "old-index")
    as_version(home, version)
    found = read_only(home, "search", PRINTER_QUERY, "-k", "3", "--json")
    if version >= READABLE_FROM:
        assert first_hit(found) == "printer.txt"
        status = read_only(home, "status", "--json")
        assert json.loads(status.stdout)["schema_version"] == version, "the index's own version, untouched"
        return
    command = f"anyseek --index {shlex.quote(str(home))} upgrade"
    assert f"schema version {version}" in one_line(found) and f"`{command}`" in found.stderr
    assert "cannot upgrade" in one_line(read_only(home, "upgrade")), "the command says why it cannot run here"

    upgraded = anyseek("upgrade", index=home)  # where the index can be written
    assert upgraded.returncode == 0 and f"schema version {version} -> {SCHEMA_VERSION}" in upgraded.stdout
    assert first_hit(read_only(home, "search", PRINTER_QUERY, "-k", "3", "--json")) == "printer.txt"
    again = anyseek("upgrade", index=home)
    assert again.returncode == 0 and "already current" in again.stdout


@pytest.mark.parametrize("version", [1, READABLE_FROM - 1])
def test_an_older_schema_with_write_access_is_migrated_on_open(tmp_path, open_engine, version):
    home, info = copy_of(NEWEST, tmp_path / "old-index")
    as_version(home, version)
    eng = open_engine(home)
    assert eng.store.schema_version() == SCHEMA_VERSION
    assert eng.status().items == info["items"]
    assert names(eng.search(text=PRINTER_QUERY, k=3))[0] == "printer.txt"
    assert names(eng.search(text="QX-7731", k=3, mode="lexical")) == ["printer.txt"]  # the words, rebuilt
    assert eng.remove([Path(info["media_root"]) / "docs" / "garden.md"]) == 1
    store_and_index_agree(eng)
