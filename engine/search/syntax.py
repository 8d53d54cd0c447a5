"""The small query language of the CLI: `dog + ./beach.jpg - cartoon`, `2:dog`, `0.5:memo.m4a`.

Terms are joined by ` + ` or ` - ` (with spaces, so `t-shirt` stays one word). A term that names an
existing file is used by content: an image or a recording; an indexed document is used as "more like
this". Anything else is text. `W:term` gives a weight; a minus makes it a negative.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Modality, QueryPart

# A + or - standing alone between spaces (or at either end), so `t-shirt` and `-dog` are words.
OPERATOR = re.compile(r"(?:^|(?<=\s))([+-])(?=\s|$)")
WEIGHT = re.compile(r"^(\d+(?:\.\d+)?):(?=\S)(?!\d)(.*)$", re.S)


def split_terms(expression: str) -> list[tuple[float, str]]:
    """`a + b - c` -> [(1, a), (1, b), (-1, c)]; weights applied."""
    expression = expression.strip()
    pieces = OPERATOR.split(expression)  # term, operator, term, operator, ..., term
    signs = [1.0] + [1.0 if op == "+" else -1.0 for op in pieces[1::2]]
    terms = list(zip(signs, pieces[0::2]))
    if len(terms) > 1 and not terms[0][1].strip():
        terms = terms[1:]  # a leading sign: `- cartoon + dog`
    out = []
    for sign, term in terms:
        term = term.strip()
        if not term:
            raise QueryError(f"empty term in query {expression!r}")
        weight = 1.0
        if match := WEIGHT.match(term):
            weight, term = float(match.group(1)), match.group(2).strip()
        out.append((sign * weight, term))
    return out


def parse_query(
    expression: str, sniff: Callable[[Path], Modality | None], find_item: Callable[[Path], int | None]
) -> list[QueryPart]:
    parts = []
    for weight, term in split_terms(expression):
        path = Path(os.path.expanduser(term))
        modality = sniff(path) if _looks_like_path(term) and path.is_file() else None
        if modality is Modality.IMAGE:
            parts.append(QueryPart(weight, image=path))
        elif modality is Modality.AUDIO:
            parts.append(QueryPart(weight, audio=path))
        elif modality in (Modality.TEXT, Modality.VIDEO) and (item_id := find_item(path)) is not None:
            parts.append(QueryPart(weight, item_id=item_id))
        else:
            parts.append(QueryPart(weight, text=term))
    if not any(p.weight > 0 for p in parts):
        raise QueryError("a query needs at least one positive term")
    return parts


def _looks_like_path(term: str) -> bool:
    """Only terms shaped like file names are looked up, so the word `dog` never means a file `dog`."""
    return "/" in term or os.sep in term or bool(re.search(r"\.[A-Za-z0-9]{2,5}$", term))
