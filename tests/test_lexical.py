"""The FTS5 lexical index: kept with the chunks, repaired on open, migrated into old indexes, and searched
with folded case and diacritics, required phrases and code-like words."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Chunk, ChunkKind, EmbeddedChunk, Modality, Space
from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.migrations import SCHEMA_VERSION
from anyseek.engine.store.store import ItemWrite, Store
from tests.helpers import clustered_unit_vectors

DIM = 8


def document(path: bytes, *texts: str, seed: int = 0) -> ItemWrite:
    vectors = clustered_unit_vectors(len(texts), DIM, seed=seed)
    chunks = [
        EmbeddedChunk(Chunk(ChunkKind.PASSAGE, i, text, 0, len(text)), {Space.TEXT: vectors[i]})
        for i, text in enumerate(texts)
    ]
    return ItemWrite(path, 100, 1, f"hash-{path!r}", Modality.TEXT, chunks)


def rows(store: Store) -> dict[int, tuple[str, str]]:
    with sqlite3.connect(store.path) as db:
        return {rowid: (body, name) for rowid, body, name in db.execute("SELECT rowid, body, name FROM lexical")}


def found(store: Store, words: str) -> list[int]:
    from anyseek.engine.search import lexical

    ids, _ = store.lexical_search(lexical.parse([words]).expression, 20)
    return ids.tolist()


def test_lexical_rows_are_written_and_deleted_with_their_chunks(store):
    store.write_items([document(b"/m/notes/a.txt", "the quick brown fox", "jumps over the lazy dog")])
    store.write_items([document(b"/m/notes/b.txt", "a red bicycle")])
    assert sorted(rows(store)) == sorted(store.chunk_ids(Space.TEXT).tolist())
    assert rows(store)[found(store, "bicycle")[0]] == ("a red bicycle", "m notes b.txt")
    store.write_items([document(b"/m/notes/a.txt", "rewritten")])  # replaced: old rows go
    store.delete_items([store.find_item(path=b"/m/notes/b.txt").id])
    assert [body for body, _ in rows(store).values()] == ["rewritten"]
    assert found(store, "fox") == [] and found(store, "bicycle") == []


def test_a_moved_file_is_found_by_its_new_name(store):
    store.write_items([document(b"/m/old/report.txt", "quarterly figures")])
    item = store.find_item(path=b"/m/old/report.txt")
    store.move_item(item.id, b"/m/archive/summary.txt", 100, 2)
    assert found(store, "summary") and found(store, "archive") and not found(store, "report")


def test_case_and_diacritics_are_folded(store):
    store.write_items([document(b"/m/cafe.txt", "Le Café était fermé à la gare")])
    assert found(store, "cafe") and found(store, "CAFÉ") and found(store, "etait ferme")


def test_a_quoted_phrase_must_appear_as_written(store):
    from anyseek.engine.search import lexical

    store.write_items([document(b"/m/a.txt", "the red bicycle is outside"), document(b"/m/b.txt", "a bicycle, red")])
    query = lexical.parse(['"red bicycle"'])
    matching = store.lexical_matches(query.required)
    assert len(matching) == 1
    assert rows(store)[int(matching[0])][0] == "the red bicycle is outside"


def test_code_like_words_match_as_phrases_of_their_parts(store):
    store.write_items(
        [
            document(b"/m/a.txt", "set foo_bar with --verbose-flag in v1.2"),
            document(b"/m/b.txt", "bar then foo, version 2 of v1"),
        ]
    )
    a = store.find_item(path=b"/m/a.txt").id
    owners = store.chunk_owners(found(store, "foo_bar"))
    assert [item for _, item in owners.values()] == [a]  # the parts in order, not anywhere
    assert len(found(store, "v1.2")) == 1 and len(found(store, "--verbose-flag")) == 1
    assert len(found(store, "bar")) == 2  # a part alone still finds the whole word


def test_fts5_syntax_in_a_query_is_taken_literally(store):
    store.write_items([document(b"/m/a.txt", "NEAR the end OR the start")])
    assert found(store, "NEAR( end * ^") and found(store, "OR") and found(store, 'start" AND')


def test_a_missing_or_lagging_lexical_table_is_rebuilt_on_open(tmp_path, store):
    store.write_items([document(b"/m/a.txt", "alpha beta", "gamma"), document(b"/m/b.txt", "delta", seed=1)])
    expected = rows(store)
    store.close()
    for damage in ("DELETE FROM lexical WHERE rowid = (SELECT max(rowid) FROM lexical)", "DROP TABLE lexical"):
        with sqlite3.connect(tmp_path / DB_FILE) as db:
            db.execute(damage)
        reopened = Store(tmp_path / DB_FILE)
        reopened.initialize()
        assert rows(reopened) == expected
        reopened.close()


def test_an_index_from_before_the_lexical_table_is_migrated_and_backfilled(tmp_path, store):
    store.write_items([document(b"/m/a.txt", "alpha beta"), document(b"/m/b.txt", "gamma", seed=1)])
    expected = rows(store)
    store.close()
    with sqlite3.connect(tmp_path / DB_FILE) as db:  # what schema version 1 looked like
        db.execute("DROP TABLE lexical")
        db.execute("PRAGMA user_version = 1")
    migrated = Store(tmp_path / DB_FILE)
    migrated.initialize()
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert rows(migrated) == expected
    migrated.close()


# --- through the engine --------------------------------------------------------------------------------
def names(results) -> list[str]:
    return [hit.path.rsplit("/", 1)[-1] for hit in results]


def test_a_rare_exact_word_is_found_in_every_mode_that_reads_words(docs_index):
    assert names(docs_index.search("QX-7731", k=1, mode="lexical")) == ["errors.txt"]
    assert "errors.txt" in names(docs_index.search("QX-7731", k=2))  # hybrid, the default


def test_lexical_hits_have_a_score_but_no_cosine(docs_index):
    hits = docs_index.search("bicycle", k=5, mode="lexical")
    assert set(names(hits)) == {"bikes.txt", "reverse.txt"}
    assert all(h.similarity is None and h.route == "lexical" and 0 < h.score < 1 for h in hits)


def test_a_quoted_phrase_restricts_every_mode_that_reads_words(docs_index):
    assert names(docs_index.search('"red bicycle"', k=5)) == ["bikes.txt"]
    assert names(docs_index.search('"red bicycle"', k=5, mode="lexical")) == ["bikes.txt"]
    assert len(docs_index.search('"red bicycle"', k=5, mode="dense")) == 5  # dense: quotes mean nothing


def test_file_names_are_searchable_words(docs_index):
    assert names(docs_index.search("travel", k=1, mode="lexical")) == ["travel.txt"]


def test_modes_are_checked_and_lexical_needs_words(docs_index):
    with pytest.raises(QueryError, match="mode"):
        docs_index.search("x", mode="fuzzy")
    with pytest.raises(QueryError, match="lexical"):
        docs_index.search("bicycle", mode="lexical", min_similarity=0.2)
    with pytest.raises(QueryError, match="lexical"):
        docs_index.search(like=docs_index.store.find_item(item_id=1).id, mode="lexical")


def test_the_search_mode_setting_is_the_default_mode(docs_index, tmp_path):
    from anyseek.engine import Engine

    with Engine.open(docs_index.home, encoders=docs_index.encoders, search_mode="lexical") as eng:
        assert all(h.route == "lexical" for h in eng.search("train to vienna", k=3))


def test_min_score_drops_weaker_hits_and_scores_stay_in_zero_to_one(docs_index):
    everything = docs_index.search("tomatoes watering", k=5)
    assert all(0.0 <= h.score <= 1.0 for h in everything) and everything[0].route.startswith("text")
    threshold = (everything[0].score + everything[-1].score) / 2
    strict = docs_index.search("tomatoes watering", k=5, min_score=threshold)
    assert strict and len(strict) < len(everything) and all(h.score >= threshold for h in strict)
    assert np.isclose(strict[0].score, everything[0].score)


def test_control_characters_in_a_query_separate_words():
    from anyseek.engine.search import lexical

    words = lexical.parse(["dog\x00cat", '"red\x1fbike"'])
    assert words.terms == ("dog", "cat") and words.phrases == ("red bike",)
    assert "\x00" not in words.expression and "\x1f" not in words.expression
