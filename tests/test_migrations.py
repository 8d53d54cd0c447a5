"""The schema is written down as migration steps, and the models must describe what the steps build: a model
changed without a migration (or the other way round) fails here. Old indexes are in tests/test_upgrade.py."""

from __future__ import annotations

import ast
import inspect
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from anyseek.engine.errors import SchemaError
from anyseek.engine.store import lexical, migrations
from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.migrations import MIGRATIONS, READABLE_FROM, SCHEMA_VERSION
from anyseek.engine.store.models import Base
from anyseek.engine.store.store import Store


def schema_of(path: Path) -> dict:
    """What the code relies on, per table: columns (type, not null, default, primary key), indexes, foreign
    keys and AUTOINCREMENT; not the DDL's spelling or the column order. The FTS5 lexical table (no model
    describes it) and SQLite's own tables are left out."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return {
            name: _table(conn, name, sql)
            for name, sql in tables.fetchall()
            if name != lexical.TABLE and not name.startswith(f"{lexical.TABLE}_")
        }


def _table(conn: sqlite3.Connection, name: str, sql: str) -> dict:
    columns = {
        row[1]: (row[2].upper(), bool(row[3]), row[4], row[5]) for row in conn.execute(f"PRAGMA table_xinfo({name})")
    }
    indexes = {}
    for _, index, unique, origin, partial in conn.execute(f"PRAGMA index_list({name})").fetchall():
        names = tuple(row[2] for row in conn.execute(f"PRAGMA index_info('{index}')"))
        key = index if origin == "c" else f"{origin}:{','.join(names)}"  # constraint indexes: SQLite names them
        indexes[key] = (names, bool(unique), bool(partial))
    keys = sorted(tuple(row[2:]) for row in conn.execute(f"PRAGMA foreign_key_list({name})"))
    return {"columns": columns, "indexes": indexes, "foreign_keys": keys, "autoincrement": "AUTOINCREMENT" in sql}


def new_index(path: Path) -> Path:
    store = Store(path / DB_FILE)
    store.initialize()
    store.close()
    return path / DB_FILE


def models_schema(path: Path) -> dict:
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return schema_of(path)


def version_of(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def test_a_new_index_has_exactly_the_schema_the_models_describe(tmp_path):
    fresh = schema_of(new_index(tmp_path))
    assert fresh == models_schema(tmp_path / "models.db")
    assert {"items", "chunks", "vectors", "meta", "runs"} <= set(fresh)


def test_a_new_index_has_the_lexical_table_the_store_writes(tmp_path):
    with sqlite3.connect(new_index(tmp_path)) as built, sqlite3.connect(":memory:") as reference:
        reference.execute(lexical._CREATE.text)
        query = "SELECT sql FROM sqlite_master WHERE name = ?"
        assert (
            built.execute(query, (lexical.TABLE,)).fetchone() == reference.execute(query, (lexical.TABLE,)).fetchone()
        )


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_an_index_left_at_any_version_reaches_the_schema_of_a_new_one(tmp_path, version):
    old = tmp_path / "old" / DB_FILE
    old.parent.mkdir()
    engine = create_engine(f"sqlite:///{old}")
    with engine.begin() as connection:  # the steps up to `version`, as that release ran them
        for step in MIGRATIONS[:version]:
            step(connection)
        connection.exec_driver_sql(f"PRAGMA user_version = {version}")
    engine.dispose()
    store = Store(old)
    store.initialize()
    store.close()
    assert version_of(old) == SCHEMA_VERSION
    assert schema_of(old) == schema_of(new_index(tmp_path))


@pytest.mark.parametrize("version", range(READABLE_FROM, SCHEMA_VERSION + 1))
def test_every_version_a_reader_takes_as_it_is_has_every_column_the_models_read(tmp_path, version):
    """A reader without write access reads versions from READABLE_FROM up without migrating them; a step
    that adds what the code reads (a column, a table) must raise READABLE_FROM, or readers of older indexes
    fail mid-search instead of being told to upgrade."""
    path = tmp_path / DB_FILE
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        for step in MIGRATIONS[:version]:
            step(connection)
    engine.dispose()
    at_version = schema_of(path)
    for table, shape in models_schema(tmp_path / "models.db").items():
        missing = set(shape["columns"]) - set(at_version.get(table, {}).get("columns", {}))
        assert not missing, f"version {version} lacks {table}.{sorted(missing)}: raise READABLE_FROM"
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (lexical.TABLE,)).fetchone()


def test_every_step_can_run_again_after_an_interruption(tmp_path):
    """pysqlite commits DDL as it goes, so a step cut short before its version bump runs again on the next
    open: each must find its own work done and change nothing."""
    path = new_index(tmp_path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        for step in MIGRATIONS:
            step(connection)
    engine.dispose()
    assert schema_of(path) == models_schema(tmp_path / "models.db")


def test_no_step_reads_the_models_or_creates_from_them():
    """A released step must never change: one built from today's models would change with them."""
    nodes = list(ast.walk(ast.parse(inspect.getsource(migrations))))
    assert "anyseek.engine.store.models" not in {node.module for node in nodes if isinstance(node, ast.ImportFrom)}
    assert not [node for node in nodes if isinstance(node, ast.Attribute) and node.attr == "create_all"]


# --- readers without write access ----------------------------------------------------------------------
def _at_version(tmp_path: Path, version: int) -> Path:
    path = new_index(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {version}")
    return path


def test_a_reader_reads_an_older_index_that_it_can_read_as_it_is(tmp_path):
    store = Store(_at_version(tmp_path, READABLE_FROM), read_only=True)
    store.initialize()
    assert store.schema_version() == READABLE_FROM
    store.close()


def test_a_reader_refuses_an_index_too_old_to_read_naming_the_command_that_upgrades_it(tmp_path):
    home = tmp_path / "my index"  # a space: the command must still be one to paste
    home.mkdir()
    store = Store(_at_version(home, READABLE_FROM - 1), read_only=True)
    with pytest.raises(SchemaError, match=f"run `anyseek --index '{home}' upgrade`") as refused:
        store.initialize()
    assert "\n" not in str(refused.value) and f"version {READABLE_FROM - 1}" in str(refused.value)
    store.close()
    assert version_of(home / DB_FILE) == READABLE_FROM - 1, "a reader changes nothing"


def test_a_reader_refuses_a_newer_index_with_advice_to_upgrade_anyseek(tmp_path):
    store = Store(_at_version(tmp_path, SCHEMA_VERSION + 1), read_only=True)
    with pytest.raises(SchemaError, match="newer than this anyseek.*upgrade anyseek"):
        store.initialize()
    store.close()
