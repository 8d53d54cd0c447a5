"""Text documents: encoding detection, then passages that fit the joint model's token window.

Each passage keeps its character offsets into the decoded document, so a hit can point at its place.
The same passages go into both spaces: they fit CLIP's 77-token window, and at that length MiniLM
(trained on up to 128 tokens) embeds them well too.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, ChunkKind

BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
SENTENCE = re.compile(r"\S.*?(?:[.!?…]+(?=\s|$)|(?=\n\s*\n)|$)", re.S)
WORD = re.compile(r"\S+")
# Non-ASCII symbols of Western text in Windows-1252. ¹ and ³ are left out: they are Polish ą and ł in cp1250.
WESTERN_SYMBOLS = frozenset("\xa0“”‘’‚„–—…«»‹›°€£¥§©®™·•¡¿×÷±½¼¾²µ¶")
NOT_WESTERN_LETTERS = frozenset("ðþýÐÞÝ")  # Turkish ğ ş ı in cp1254, Cyrillic р ю э in cp1251


def decode_text(data: bytes) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data:
        if guess := _bomless_utf16(data):
            return data.decode(guess, errors="replace")
        raise ExtractionError("binary content (NUL bytes), not a text document")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if western_text := western(data):
        return western_text
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ExtractionError("cannot detect the text encoding (not text?)")
    return str(best)


def western(data: bytes) -> str | None:
    """Windows-1252 (Latin-1 plus curly quotes, dashes and €) is the legacy encoding of most Western text,
    and charset_normalizer misreads short French, German or Spanish texts as Baltic or Central European
    code pages ("déjà" as "déją"). Accept it when its non-ASCII characters are sparse Western letters or
    symbols; Cyrillic, Greek or Polish bytes read as cp1252 fail that and go on to detection."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    high = [c for c in text if ord(c) > 127]
    letters = sum(c.isalpha() for c in text)
    is_western = all(c in WESTERN_SYMBOLS or (c.isalpha() and c not in NOT_WESTERN_LETTERS) for c in high)
    return text if is_western and len(high) <= 0.5 * letters else None


def _bomless_utf16(data: bytes) -> str | None:
    """ASCII-heavy UTF-16 without a BOM has a zero in every other byte."""
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def split_passages(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[Chunk]:
    """Greedy packing of whole sentences into passages of at most max_tokens; overlong sentences are cut
    at word boundaries. A paragraph break ends a passage once it is half full."""
    spans: list[tuple[int, int, int]] = []  # start, end, tokens
    for match in SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        spans += _fit(text, start, end, count_tokens, max_tokens)
    passages: list[tuple[int, int]] = []
    current: list[int] | None = None  # [start, end, tokens]
    for start, end, tokens in spans:
        paragraph_break = current is not None and "\n\n" in text[current[1] : start].replace("\r", "")
        if current and (current[2] + tokens > max_tokens or (paragraph_break and current[2] * 2 >= max_tokens)):
            passages.append((current[0], current[1]))
            current = None
        current = [current[0], end, current[2] + tokens] if current else [start, end, tokens]
    if current:
        passages.append((current[0], current[1]))
    return [Chunk(ChunkKind.PASSAGE, i, " ".join(text[s:e].split()), s, e) for i, (s, e) in enumerate(passages)]


def _fit(text: str, start: int, end: int, count_tokens: Callable[[str], int], max_tokens: int):
    tokens = count_tokens(text[start:end])
    if tokens <= max_tokens:
        return [(start, end, tokens)] if end > start else []
    pieces, piece_start, piece_tokens, piece_end = [], None, 0, start
    for word in WORD.finditer(text, start, end):
        word_tokens = count_tokens(word.group())
        if piece_start is not None and piece_tokens + word_tokens > max_tokens:
            pieces.append((piece_start, piece_end, piece_tokens))
            piece_start, piece_tokens = None, 0
        if piece_start is None:
            piece_start = word.start()
        # a single word longer than the window is kept whole; the model truncates it
        piece_tokens += word_tokens
        piece_end = word.end()
    if piece_start is not None:
        pieces.append((piece_start, piece_end, piece_tokens))
    return pieces
