"""From the words of a query to an FTS5 expression (the table is engine/store/lexical.py).

Every word becomes a quoted FTS5 phrase, so punctuation inside it keeps its parts together (`foo_bar` is
the phrase `foo bar`, `v1.2` is `v1 2`) and no word is read as FTS5 syntax (AND, NEAR, `-`, `*`). Words
are alternatives (OR), ranked by BM25. A `"quoted phrase"` is required: only chunks containing it
(case and diacritics folded) can be hits, in the lexical and hybrid modes alike.

Common words do not rank. FTS5 computes BM25 for every chunk that holds any word of the expression and
then sorts them all, so a query with "the" or "file" in it scores most of a large index; and a common word
carries little evidence (its IDF is low), so it cannot lift a chunk far on its own. So only the words
found in at most COMMON_SHARE of the chunks choose the candidates (words in fewer than COMMON_FLOOR
chunks are always kept: scoring that many rows is cheap, and on a small index every word would otherwise
look common), and every word of the query then ranks them (`Lexical`). A query of common words only
chooses by its rarest word. Required phrases are kept whatever their frequency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from anyseek.engine.search import bm25
from anyseek.engine.search.bm25 import Totals

if TYPE_CHECKING:
    from anyseek.engine.store.store import Store

QUOTED = re.compile(r'"([^"]*)"')
WORD = re.compile(r"\S+")
TOKEN = re.compile(r"\w", re.UNICODE)  # a word with no letter or digit has no token to match
# Control characters separate words: SQLite ends an FTS5 string at a NUL ("unterminated string").
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_TERMS = 32  # longer texts (a transcribed memo) keep their first 32 distinct words
RESCORE = 2  # candidates chosen by the rare words, per result wanted
COMMON_SHARE = 0.02  # a word in more than this share of the chunks is common (IDF below about 3.9)
COMMON_FLOOR = 1000  # ... and in more than this many of them
FULL_MATCH = 3.0  # lexical evidence of a chunk holding every (rare enough) word of the query
RARE_MASS = 8.0  # summed idf at which a query's words count in full (e^-8: 1 chunk in ~3,000 holds them all)


@dataclass(frozen=True, slots=True)
class LexicalQuery:
    phrases: tuple[str, ...] = ()  # required
    terms: tuple[str, ...] = ()  # optional, ranked

    def __bool__(self) -> bool:
        return bool(self.phrases or self.terms)

    @property
    def required(self) -> str | None:
        """The expression every hit must match, or None when nothing is required."""
        return " AND ".join(_quote(p) for p in self.phrases) or None

    @property
    def units(self) -> tuple[str, ...]:
        """The phrases of `expression`, in order; BM25 counts each (a required phrase is there twice)."""
        return (*self.phrases, *self.phrases, *self.terms)

    @property
    def expression(self) -> str:
        """What BM25 ranks by: the required phrases, and any of the words (each phrase counts as a word,
        so a chunk holding the phrase but none of the other words still matches)."""
        anyof = " OR ".join(_quote(t) for t in (*self.phrases, *self.terms))
        return f"{self.required} AND ({anyof})" if self.phrases else anyof


def parse(texts: list[str]) -> LexicalQuery:
    phrases: list[str] = []
    terms: list[str] = []
    for text in texts:
        text = CONTROL.sub(" ", text)
        phrases += [p.strip() for p in QUOTED.findall(text) if TOKEN.search(p)]
        for word in WORD.findall(QUOTED.sub(" ", text).replace('"', " ")):
            word = word.lower()
            if TOKEN.search(word) and word not in terms:
                terms.append(word)
    return LexicalQuery(tuple(dict.fromkeys(phrases)), tuple(terms[:MAX_TERMS]))


def ranking(query: LexicalQuery, frequencies: dict[str, int], rows: int) -> LexicalQuery:
    """The query without its common words (see above); `frequencies` holds each term's document
    frequency, `rows` the number of chunks."""
    common = max(COMMON_SHARE * rows, COMMON_FLOOR)
    rare = tuple(term for term in query.terms if frequencies[term] <= common)
    if not rare and query.terms and not query.phrases:
        rare = (min(query.terms, key=frequencies.__getitem__),)
    return LexicalQuery(query.phrases, rare)


class Lexical:
    """Lexical search with common words pruned: the rare words choose RESCORE times as many candidates as
    wanted, and BM25 over every word of the query (bm25.py, with FTS5's own statistics) ranks them, so a
    common word still counts where it occurs. Document frequencies are counted by the FTS5 table (a
    word's rows are counted from its list of them, far cheaper than ranking them) and kept until the
    index changes (a new revision); a write between reading the revision and counting only makes a
    frequency one write stale. Nothing is stored, so nothing can disagree with the chunks after a crash."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._revision: int | None = None
        self.totals = Totals(0, 0)
        self._known: dict[str, int] = {}

    def refresh(self, revision: int) -> None:
        if revision != self._revision:  # a new dict: a search under way in another thread keeps its own
            self._revision, self.totals, self._known = revision, Totals(*self.store.lexical_totals()), {}

    def ranking(self, query: LexicalQuery) -> LexicalQuery:
        return ranking(query, self.frequencies(query), self.totals.rows)

    def search(self, query: LexicalQuery, limit: int, modalities=(), path_prefix: bytes | None = None):
        """(chunk ids, BM25 scores), best first."""
        frequencies, totals = self.frequencies(query), self.totals
        pruned = ranking(query, frequencies, totals.rows)
        if pruned == query:
            return self.store.lexical_search(query.expression, limit, modalities, path_prefix)
        ids, _ = self.store.lexical_search(pruned.expression, RESCORE * limit, modalities, path_prefix)
        texts = self.store.lexical_texts(ids.tolist())
        units, rows = query.units, [texts[i] for i in ids.tolist()]
        scores = bm25.scores(units, [frequencies[unit] for unit in units], totals, rows)
        order = np.argsort(-scores, kind="stable")[:limit]
        return ids[order], scores[order]

    def evidence(self, query: LexicalQuery, ids: np.ndarray) -> np.ndarray:
        """Each chunk's lexical evidence, on the dense routes' scale (see lexical_evidence)."""
        if not len(ids):
            return np.zeros(0)
        frequencies, texts = self.frequencies(query), self.store.lexical_texts(ids.tolist())
        units = tuple(dict.fromkeys((*query.phrases, *query.terms)))
        rows = [texts.get(i, ("", "")) for i in ids.tolist()]
        matched, total = bm25.matched_mass(units, [frequencies[unit] for unit in units], self.totals, rows)
        return lexical_evidence(matched, total)

    def frequencies(self, query: LexicalQuery) -> dict[str, int]:
        """Document frequencies of the query's words and phrases (and of others counted before)."""
        known = self._known
        unknown = [unit for unit in dict.fromkeys(query.units) if unit not in known]
        if unknown:
            known.update(zip(unknown, self.store.lexical_frequencies([_quote(unit) for unit in unknown])))
        return known


def lexical_evidence(matched: np.ndarray, total: float) -> np.ndarray:
    """Words found verbatim, in robust standard deviations of dense evidence (calibration.py): FULL_MATCH
    for a chunk holding every word of the query, when those words are rare enough to mean something
    (their idf adds up to RARE_MASS or more: about as rare as three words each found in one chunk of 15);
    by the square of its share otherwise, so that half the query's word evidence lifts a chunk a quarter
    as far. An absolute measure: the chunk's evidence does not depend on which other chunks matched, and
    a chunk holding a query's rare words verbatim outranks one the dense route merely finds close
    (bench/quality.py measured the weight; docs/scores.md)."""
    if total <= 0:
        return np.zeros(len(matched))
    return FULL_MATCH * (matched / total) ** 2 * min(1.0, total / RARE_MASS)


def unquoted(text: str) -> str:
    """The text as the embedding models see it: quote marks carry no meaning for them."""
    return text.replace('"', " ").strip()


def _quote(words: str) -> str:
    return '"' + words.replace('"', '""') + '"'
