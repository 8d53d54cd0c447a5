"""BM25 as FTS5's bm25() computes it (column weights 1), for a handful of rows outside SQLite.

FTS5 cannot rank a chosen set of rows cheaply: restricting a MATCH to `rowid IN (...)` re-runs the whole
expression per row. So the rows chosen by a query's rare words (search/lexical.py) are ranked here, over
every word of the query, with the statistics FTS5 itself keeps: the row count and total token count
(its averages record, store/lexical.py) and each word's document frequency (counted by FTS5). The text
of each row is split as the unicode61 tokenizer with remove_diacritics 2 splits it: runs of letters and
digits, case and diacritics folded. Per FTS5: idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6;
score = sum of idf * f * (k1 + 1) / (f + k1 * (1 - b + b * D / avgdl)), f counting a phrase's
occurrences in all columns, D the row's tokens in all columns.
"""

from __future__ import annotations

import math
import re
import unicodedata
from itertools import chain
from typing import NamedTuple

import numpy as np

K1, B = 1.2, 0.75
_RUN = re.compile(r"[^\W_]+")  # letters and digits: unicode61's token characters (less private use)
_ASCII = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})  # separators to spaces
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")  # combining


class Totals(NamedTuple):
    rows: int
    tokens: int  # in all columns


def tokens(text: str) -> list[str]:
    if text.isascii():  # no diacritics to fold, and splitting by translation is 3x faster than a regex
        return text.lower().translate(_ASCII).split()
    return _RUN.findall(_MARKS.sub("", unicodedata.normalize("NFD", text)).lower())


def idf(rows: int, frequency: int) -> float:
    value = math.log((rows - frequency + 0.5) / (frequency + 0.5))
    return value if value > 0 else 1e-6


def scores(units: tuple[str, ...], frequencies: list[int], totals: Totals, rows: list[tuple[str, ...]]) -> np.ndarray:
    """The BM25 of each row (its columns' texts) for the query `units` (words or phrases)."""
    pairs = [(tuple(tokens(unit)), idf(totals.rows, f)) for unit, f in zip(units, frequencies)]
    pairs = [(phrase, weight) for phrase, weight in pairs if phrase]  # a unit with no token matches nothing
    average = totals.tokens / max(totals.rows, 1)
    out = np.zeros(len(rows))
    for r, columns in enumerate(rows):
        split = [tokens(column or "") for column in columns]
        every = list(chain.from_iterable(split))  # a one-word phrase cannot span columns either way
        norm = K1 * (1 - B + B * len(every) / average)
        total = 0.0
        for phrase, weight in pairs:
            f = every.count(phrase[0]) if len(phrase) == 1 else sum(_occurrences(phrase, c) for c in split)
            if f:
                total += weight * f * (K1 + 1) / (f + norm)
        out[r] = total
    return out


def _occurrences(phrase: tuple[str, ...], column: list[str]) -> int:
    n = len(phrase)
    return sum(1 for i in range(len(column) - n + 1) if tuple(column[i : i + n]) == phrase)


def matched_mass(units: tuple[str, ...], frequencies: list[int], totals: Totals, rows: list[tuple[str, ...]]):
    """How much of the query's word evidence each row holds: the summed idf of the distinct `units` (words
    or phrases) found in it, and the summed idf of all of them: (per-row array, total). A unit's idf is
    -ln of the share of rows holding it, so a row holding words that few rows hold scores high."""
    pairs = {}
    for unit, f in zip(units, frequencies):
        phrase = tuple(tokens(unit))
        if phrase:
            pairs[phrase] = idf(totals.rows, f)
    out = np.zeros(len(rows))
    for r, columns in enumerate(rows):
        split = [tokens(column or "") for column in columns]
        every = set(chain.from_iterable(split))
        out[r] = sum(
            weight
            for phrase, weight in pairs.items()
            if (phrase[0] in every if len(phrase) == 1 else any(_occurrences(phrase, c) for c in split))
        )
    return out, float(sum(pairs.values()))
