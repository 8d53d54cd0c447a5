"""The lexical index: an SQLite FTS5 table over the words of every chunk (passage text, speech transcript)
and the names around it (file name and its two nearest folders), one row per chunk, rowid = chunk id.

It is written in the same transactions as the chunks (Store calls the helpers below), so it can never
disagree with them after a crash; an index from before it existed, or chunks written behind the store's
back, are caught up by `repair`, which Store.initialize runs on every open.

Tokenizer: unicode61 with remove_diacritics 2 (case and diacritics folded: "Café" finds "cafe"), and no
extra token characters: punctuation separates tokens, so `foo_bar` is indexed as `foo` `bar`, `--flag` as
`flag`, `v1.2` as `v1` `2`. A query term keeps its parts together as a phrase (see search/lexical.py), so
`foo_bar` finds `foo_bar` and `foo-bar` but not `bar ... foo`, and `bar` alone still finds `foo_bar`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Modality

TABLE = "lexical"
TOKENIZER = "unicode61 remove_diacritics 2"
NAME_PARTS = 3  # the file name and its two nearest folders: "photos/2023/red-square.jpg"
BATCH = 2000

_CREATE = text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(body, name, tokenize = '{TOKENIZER}')")
_INSERT = text(f"INSERT INTO {TABLE} (rowid, body, name) VALUES (:id, :body, :name)")


def names_of(path: bytes) -> str:
    """The words of a path that a person might remember: its last NAME_PARTS components."""
    parts = os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace").split("/")
    return " ".join(part for part in parts[-NAME_PARTS:] if part)


def exists(conn: Connection) -> bool:
    found = conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": TABLE})
    return found.first() is not None


def create(conn: Connection) -> None:
    conn.execute(_CREATE)


def insert(conn: Connection, rows: Iterable[tuple[int, str | None, bytes]]) -> None:
    """(chunk id, chunk text, item path) for each new chunk."""
    params = [{"id": cid, "body": body or "", "name": names_of(path)} for cid, body, path in rows]
    if params:
        conn.execute(_INSERT, params)


def delete(conn: Connection, chunk_ids: list[int]) -> None:
    for start in range(0, len(chunk_ids), 500):
        batch = ",".join(str(int(i)) for i in chunk_ids[start : start + 500])
        conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid IN ({batch})"))


def rename(conn: Connection, item_id: int, path: bytes) -> None:
    """A moved file keeps its chunks; only the names column follows the new path."""
    conn.execute(
        text(f"UPDATE {TABLE} SET name = :name WHERE rowid IN (SELECT id FROM chunks WHERE item_id = :item)"),
        {"name": names_of(path), "item": item_id},
    )


def behind(conn: Connection) -> bool:
    """Two cheap reads: the newest chunk and the newest row must match (chunk ids only grow, and a chunk
    and its row are written and deleted in one transaction), or the table is missing."""
    if not exists(conn):
        return True
    newest_chunk = conn.execute(text("SELECT max(id) FROM chunks")).scalar()
    newest_row = conn.execute(text(f"SELECT max(rowid) FROM {TABLE}")).scalar()
    return newest_chunk != newest_row


def repair(conn: Connection) -> int:
    """Create the table if missing and make its rows exactly the chunks' (by set difference). Returns the
    number of rows added or removed."""
    create(conn)
    chunk_ids = set(conn.execute(text("SELECT id FROM chunks")).scalars())
    row_ids = set(conn.execute(text(f"SELECT rowid FROM {TABLE}")).scalars())
    stale = sorted(row_ids - chunk_ids)
    delete(conn, stale)
    missing = sorted(chunk_ids - row_ids)
    for start in range(0, len(missing), BATCH):
        batch = ",".join(str(i) for i in missing[start : start + BATCH])
        rows = conn.execute(
            text(f"SELECT c.id, c.text, i.path FROM chunks c JOIN items i ON i.id = c.item_id WHERE c.id IN ({batch})")
        )
        insert(conn, ((row.id, row.text, row.path) for row in rows))
    return len(stale) + len(missing)


NAME_WEIGHT = 1.0  # a word in the file or folder names counts like a word in the text


def search(conn: Connection, expression: str, limit: int, modalities: list[str], prefix: bytes | None) -> list:
    """(chunk id, BM25) pairs, best first; FTS5's bm25() is negative, so it is negated here."""
    where, params = [f"{TABLE} MATCH :expression"], {"expression": expression, "limit": limit}
    join = ""
    if modalities or prefix:
        join = f"JOIN chunks c ON c.id = {TABLE}.rowid JOIN items i ON i.id = c.item_id"
    if modalities:
        where.append("i.modality IN (" + ",".join(f":m{n}" for n in range(len(modalities))) + ")")
        params.update({f"m{n}": m for n, m in enumerate(modalities)})
    if prefix:
        where.append("substr(i.path, 1, :length) = :prefix")
        params.update(length=len(prefix), prefix=prefix)
    rank = f"bm25({TABLE}, 1.0, {NAME_WEIGHT})"
    sql = f"SELECT {TABLE}.rowid, -{rank} FROM {TABLE} {join} WHERE {' AND '.join(where)} ORDER BY {rank} LIMIT :limit"
    return _run(conn, sql, params)


def matches(conn: Connection, expression: str) -> list[int]:
    return [row[0] for row in _run(conn, f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH :e", {"e": expression})]


def frequency(conn: Connection, expression: str) -> int:
    """How many rows match: FTS5 counts a word's rows from its list of them, without ranking any."""
    return _run(conn, f"SELECT count(*) FROM {TABLE} WHERE {TABLE} MATCH :e", {"e": expression})[0][0]


def totals(conn: Connection) -> tuple[int, int]:
    """(rows, tokens in all columns), from FTS5's averages record: id 1 of its data table, the row count
    then each column's token count, as SQLite varints."""
    block = conn.execute(text(f"SELECT block FROM {TABLE}_data WHERE id = 1")).scalar()
    numbers = _varints(block or b"")
    return (numbers[0], sum(numbers[1:])) if numbers else (0, 0)


def texts(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each row's columns (body, name), by rowid."""
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        batch = ",".join(str(int(i)) for i in ids[start : start + 500])
        rows = conn.execute(text(f"SELECT rowid, body, name FROM {TABLE} WHERE rowid IN ({batch})"))
        out.update((row[0], (row[1], row[2])) for row in rows)
    return out


def _varints(block: bytes) -> list[int]:
    out, i = [], 0
    while i < len(block):
        value = 0
        for n in range(9):  # 7 bits a byte, high bit set when more follow; a ninth byte gives all 8
            byte, i = block[i], i + 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


def _run(conn: Connection, sql: str, params: dict) -> list:
    try:
        return conn.execute(text(sql), params).all()
    except OperationalError as exc:
        if "fts5" in str(exc.orig):
            raise QueryError(f"cannot search these words: {exc.orig}") from None
        raise


class LexicalReads:
    """Part of Store (see store.py): the reads above, each on its own connection."""

    engine: Engine

    def lexical_search(
        self, expression: str, limit: int, modalities: tuple[Modality, ...] = (), path_prefix: bytes | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids matching an FTS5 expression, best BM25 first, with their (positive) BM25 scores."""
        with self.engine.connect() as conn:
            rows = search(conn, expression, limit, [m.value for m in modalities], path_prefix)
        return np.asarray([r[0] for r in rows], np.int64), np.asarray([r[1] for r in rows], np.float64)

    def lexical_frequencies(self, expressions: list[str]) -> list[int]:
        """How many chunks match each FTS5 expression (a word's document frequency)."""
        with self.engine.connect() as conn:
            return [frequency(conn, expression) for expression in expressions]

    def lexical_totals(self) -> tuple[int, int]:
        """The lexical index's row count and token count (all columns)."""
        with self.engine.connect() as conn:
            return totals(conn)

    def lexical_texts(self, chunk_ids: list[int]) -> dict[int, tuple[str, str]]:
        """The indexed words of these chunks: (text, names) by chunk id."""
        with self.engine.connect() as conn:
            return texts(conn, chunk_ids)

    def lexical_matches(self, expression: str) -> np.ndarray:
        """Every chunk id matching an FTS5 expression (the required phrases of a query)."""
        with self.engine.connect() as conn:
            return np.asarray(sorted(matches(conn, expression)), np.int64)
