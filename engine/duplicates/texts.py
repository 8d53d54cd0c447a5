"""Documents by their text, recordings by their transcript and length.

A PDF and its DOCX extract to slightly different text (ligatures, hyphenation at line ends, page headers),
and two encodings of one recording transcribe to slightly different words, so equality of text is too
strict. Each text is reduced to its word 3-shingles, and a bottom-k sketch of them (the k smallest shingle
hashes) estimates the Jaccard similarity of two texts; candidate documents are those that share one of
their smallest hashes, looked up in an inverted index, never all pairs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from anyseek.engine.duplicates.grouping import UnionFind
from anyseek.engine.store.duplicate_reads import ItemContent

SHINGLE = 3
SKETCH = 128
ANCHORS = 8  # texts sharing none of their 8 smallest shingle hashes are far from a Jaccard of 0.85
MIN_WORDS = 8  # shorter texts (a title, an empty scan) are compared by their bytes only
_WORD = re.compile(r"\w+")
_HYPHEN_BREAK = re.compile(r"(\w)[-\u00ad]\s*\n\s*(\w)")


@dataclass(frozen=True, slots=True)
class TextRules:
    min_jaccard: float = 0.85  # documents, over word 3-shingles
    # recordings: two transcriptions of one recording differ by a word here and there, which breaks three
    # 3-shingles at a time, so they are compared word by word, and their lengths must agree too (within
    # max(seconds, fraction)): a transcript alone would join two takes of one script
    min_word_jaccard: float = 0.7
    duration_seconds: float = 1.0
    duration_fraction: float = 0.02


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return _WORD.findall(_HYPHEN_BREAK.sub(r"\1\2", text).casefold())


def sketch(text: str, shingle: int = SHINGLE) -> tuple[int, ...] | None:
    tokens = words(text)
    if len(tokens) < MIN_WORDS:
        return None
    shingles = {" ".join(tokens[i : i + shingle]) for i in range(len(tokens) - shingle + 1)}
    hashes = {int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") for s in shingles}
    return tuple(sorted(hashes)[:SKETCH])


def jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """The bottom-k estimate: of the k smallest hashes of the union, the share found in both."""
    union = sorted(set(a) | set(b))[: min(SKETCH, max(len(a), len(b)))]
    both = set(a) & set(b)
    return sum(1 for h in union if h in both) / len(union)


def link_documents(links: UnionFind, contents: Iterable[ItemContent], rules: TextRules) -> None:
    sketches: dict[int, tuple[int, ...]] = {}
    by_anchor: dict[int, list[int]] = {}
    for content in contents:
        if (found := sketch(content.text)) is not None:
            sketches[content.item.id] = found
            for anchor in found[:ANCHORS]:
                by_anchor.setdefault(anchor, []).append(content.item.id)
    pairs = {(a, b) for ids in by_anchor.values() for i, a in enumerate(ids) for b in ids[i + 1 :]}
    for a, b in sorted(pairs):
        similarity = jaccard(sketches[a], sketches[b])
        if similarity >= rules.min_jaccard:
            links.union(a, b, similarity)


def link_recordings(links: UnionFind, contents: Iterable[ItemContent], rules: TextRules) -> None:
    """Candidates are recordings of about the same length (sorted by it), not all pairs."""
    timed = []
    for content in contents:
        if content.duration_s is not None and (found := sketch(content.text, shingle=1)) is not None:
            timed.append((content.duration_s, content.item.id, found))
    timed.sort()
    for i, (length, a, sketch_a) in enumerate(timed):
        for other, b, sketch_b in timed[i + 1 :]:
            if other - length > max(rules.duration_seconds, rules.duration_fraction * other):
                break
            similarity = jaccard(sketch_a, sketch_b)
            if similarity >= rules.min_word_jaccard:
                links.union(a, b, similarity)
