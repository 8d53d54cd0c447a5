"""`anyseek upgrade`: bring an index's schema up to this anyseek's, and nothing else (no model loads).

Any process that opens an index with write access migrates it anyway. This is for an index that its
readers cannot write (a read-only share, a backup mounted read-only): they search any schema from
migrations.READABLE_FROM up, and an older one is refused with this command, to be run once by a user (or
on a machine) that may write the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anyseek.engine.errors import IndexNotFoundError, StorageError
from anyseek.engine.store.database import DB_FILE, is_writable
from anyseek.engine.store.store import Store


@dataclass(frozen=True, slots=True)
class SchemaUpgrade:
    home: Path
    before: int  # the schema version found
    after: int  # the schema version now (before == after: nothing to do)


def upgrade_index(home: Path) -> SchemaUpgrade:
    path = home / DB_FILE
    if not path.is_file():
        raise IndexNotFoundError(f"no index at {home}; create one with `anyseek index FOLDER`")
    if not is_writable(path):
        raise StorageError(
            f"cannot upgrade the index at {home}: this process may not write it (a read-only share or mount); "
            f"run `anyseek --index {home} upgrade` where it can be written"
        )
    store = Store(path)
    try:
        before = store.schema_version()
        store.initialize()
        return SchemaUpgrade(home, before, store.schema_version())
    finally:
        store.close()
