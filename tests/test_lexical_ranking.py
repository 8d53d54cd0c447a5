"""Common words do not choose candidates (engine/search/lexical.py): a query's rarer words choose them and
BM25 over all its words ranks them (engine/search/bm25.py, equal to FTS5's own), with document frequencies
counted by the FTS5 table itself and kept per revision, so they follow every write, delete and repair."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from anyseek.engine.search import bm25, lexical
from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.store import Store
from tests.test_lexical import document, names


@pytest.fixture()
def small_floor(monkeypatch):
    """On a test-sized index every word is below the floor; lower it so that common words exist."""
    monkeypatch.setattr(lexical, "COMMON_FLOOR", 3)
    monkeypatch.setattr(lexical, "COMMON_SHARE", 0.2)


def crowd(store: Store, count: int = 40) -> None:
    """Many chunks made of common words, and one that also holds a rare word."""
    store.write_items([document(f"/m/d{i:03d}.txt".encode(), f"the file {i} of the system") for i in range(count)])
    store.write_items([document(b"/m/target.txt", "the file zebra of the system", seed=1)])


def searcher(store: Store) -> lexical.Lexical:
    found = lexical.Lexical(store)
    found.refresh(store.revision())
    return found


def ranked_ids(store: Store, words: str) -> list[int]:
    ids, _ = searcher(store).search(lexical.parse([words]), 10)
    return ids.tolist()


def body(store: Store, chunk_id: int) -> str:
    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT body FROM lexical WHERE rowid = ?", (chunk_id,)).fetchone()[0]


def test_common_words_are_dropped_and_rare_ones_kept():
    query = lexical.parse(["the zebra file"])
    frequencies = {"the": 900, "zebra": 2, "file": 300}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lexical, "COMMON_FLOOR", 0)
        assert lexical.ranking(query, frequencies, 1000).terms == ("zebra",)
        assert lexical.ranking(lexical.parse(["the file"]), frequencies, 1000).terms == ("file",)  # the rarest
        quoted = lexical.ranking(lexical.parse(['"the file" the']), frequencies, 1000)
        assert quoted.phrases == ("the file",) and quoted.terms == ()


def test_below_the_floor_every_word_ranks():
    query = lexical.parse(["the zebra file"])
    assert lexical.ranking(query, {"the": 10, "zebra": 1, "file": 8}, 10).terms == ("the", "zebra", "file")


def test_a_rare_word_is_found_among_many_rows_of_common_words(store, small_floor):
    crowd(store)
    assert searcher(store).ranking(lexical.parse(["the file zebra"])).terms == ("zebra",)
    ids = ranked_ids(store, "the file zebra")
    assert len(ids) == 1 and body(store, ids[0]) == "the file zebra of the system"


def test_a_query_of_common_words_only_still_finds_rows(store, small_floor):
    crowd(store)
    assert len(ranked_ids(store, "the system")) == 10


def test_frequencies_follow_deletes_rewrites_and_repair(tmp_path, store):
    crowd(store, 5)
    found = lexical.Lexical(store)

    def count(word: str) -> int:
        found.refresh(store.revision())
        return found.frequencies(lexical.parse([word]))[word]

    assert (count("zebra"), count("system")) == (1, 6)
    store.delete_items([store.find_item(path=b"/m/target.txt").id])
    assert (count("zebra"), count("system")) == (0, 5)
    store.write_items([document(b"/m/d000.txt", "zebra zebra")])  # re-indexed with new text
    assert (count("zebra"), count("system")) == (1, 4)
    store.close()
    with sqlite3.connect(tmp_path / DB_FILE) as db:  # a crash left the words behind the chunks
        db.execute("DELETE FROM lexical WHERE rowid = (SELECT max(rowid) FROM lexical)")
    reopened = Store(tmp_path / DB_FILE)
    reopened.initialize()  # repaired on open
    found = searcher(reopened)
    assert found.frequencies(lexical.parse(["zebra system"])) == {"zebra": 1, "system": 4}
    assert found.totals.rows == 5
    reopened.close()


def test_pruned_ranking_scores_as_fts5_scores_every_word(store, small_floor):
    crowd(store)
    store.write_items([document(b"/m/zebra-file.txt", "zebra file zebra, the file system", seed=2)])
    for words in ("the file zebra system", '"the file" zebra system', "zebra the"):
        query = lexical.parse([words])
        assert searcher(store).ranking(query) != query  # common words were pruned
        pruned_ids, pruned = searcher(store).search(query, 3)
        full_ids, full = store.lexical_search(query.expression, 3)
        # rows of common words only are no candidates; here they rank below the rare word's rows anyway
        assert len(pruned_ids) and pruned_ids.tolist() == full_ids[: len(pruned_ids)].tolist()
        assert np.allclose(pruned, full[: len(pruned)])


def test_the_tokenizer_folds_as_fts5_does():
    assert bm25.tokens("Le Café, foo_bar --flag v1.2 ÉTÉ") == ["le", "cafe", "foo", "bar", "flag", "v1", "2", "ete"]


def test_through_the_engine_common_words_still_give_lexical_hits(docs_index, small_floor):
    assert names(docs_index.search("the", k=5, mode="lexical"))
    assert names(docs_index.search("the error QX-7731", k=1, mode="lexical")) == ["errors.txt"]
    assert "errors.txt" in names(docs_index.search("the error QX-7731", k=2))
    assert names(docs_index.search('"red bicycle" the', k=5)) == ["bikes.txt"]
