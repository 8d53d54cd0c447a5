"""Items stored inside a file: a mailbox's messages, at `<mailbox path>/<n>` (a path no real file can have,
since the mailbox is a file, not a folder). They follow their file: replaced when it is read again, moved
and copied with it, deleted with it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from anyseek.engine.store.models import ItemRow


def inside(path: bytes):
    """The items stored inside `path`: a range on the path index ("0" is the byte after "/")."""
    return (ItemRow.path > path + b"/") & (ItemRow.path < path + b"0")


def member_ids(conn: Connection, paths: Iterable[bytes]) -> list[int]:
    ids: list[int] = []
    for path in paths:
        ids += conn.execute(select(ItemRow.id).where(inside(path))).scalars().all()
    return ids
