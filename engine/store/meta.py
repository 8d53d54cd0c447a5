"""Metadata (models, fingerprints, settings stored with the index) and the revision every vector change bumps."""

from __future__ import annotations

import json

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select

from anyseek.engine.store.models import MetaRow

_META_VALUE = select(MetaRow.value).where(MetaRow.key == bindparam("key"))


class Metadata:
    """Part of Store (see store.py)."""

    engine: Engine
    read_only: bool

    def get_meta(self, key: str, default=None):
        with self.engine.connect() as conn:
            value = conn.execute(_META_VALUE, {"key": key}).scalar_one_or_none()
        return default if value is None else json.loads(value)

    def set_meta(self, key: str, value, conn: Connection | None = None) -> None:
        if self.read_only:
            return  # a reader's bookkeeping (a first fingerprint, a default) is left to the next writer
        if conn is None:
            with self.engine.begin() as own:
                return self.set_meta(key, value, own)
        conn.execute(delete(MetaRow).where(MetaRow.key == key))
        conn.execute(insert(MetaRow).values(key=key, value=json.dumps(value)))

    def revision(self) -> int:
        return int(self.get_meta("revision", 0))

    def _bump(self, conn: Connection) -> None:
        current = conn.execute(select(MetaRow.value).where(MetaRow.key == "revision")).scalar_one_or_none()
        self.set_meta("revision", int(json.loads(current or "0")) + 1, conn)
