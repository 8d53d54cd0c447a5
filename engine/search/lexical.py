"""From the words of a query to an FTS5 expression (the table is engine/store/lexical.py).

Every word becomes a quoted FTS5 phrase, so punctuation inside it keeps its parts together (`foo_bar` is
the phrase `foo bar`, `v1.2` is `v1 2`) and no word is read as FTS5 syntax (AND, NEAR, `-`, `*`). Words
are alternatives (OR), ranked by BM25. A `"quoted phrase"` is required: only chunks containing it
(case and diacritics folded) can be hits, in the lexical and hybrid modes alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUOTED = re.compile(r'"([^"]*)"')
WORD = re.compile(r"\S+")
TOKEN = re.compile(r"\w", re.UNICODE)  # a word with no letter or digit has no token to match
# Control characters separate words: SQLite ends an FTS5 string at a NUL ("unterminated string").
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_TERMS = 32  # longer texts (a transcribed memo) keep their first 32 distinct words


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


def unquoted(text: str) -> str:
    """The text as the embedding models see it: quote marks carry no meaning for them."""
    return text.replace('"', " ").strip()


def _quote(words: str) -> str:
    return '"' + words.replace('"', '""') + '"'
