"""OpenAI CLIP's byte-pair tokenizer without torch, for text queries answered by an ONNX text tower.

open_clip's own `SimpleTokenizer` returns torch tensors and lives in a module that imports torch and loads
its vocabulary at import time, which is most of a cold `anyseek search`. This is the same algorithm (the
BPE merges file shipped inside the open_clip package, the `lower` cleaning, truncation that keeps the
end-of-text token), returning NumPy. It is only used after the export checked that it gives exactly
open_clip's token ids on probe texts (engine/encoders/query_runtime.py), so a difference can only cost
speed, never change a result. The algorithm is open_clip's (MIT licence, from OpenAI's CLIP).
"""

from __future__ import annotations

import functools
import gzip
import html
from pathlib import Path

import numpy as np

# the merges OpenAI's CLIP vocabulary uses out of the file: 49152 - 256 single bytes - 2 specials
MERGES = 49152 - 256 - 2
PATTERN = r"""<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """Every byte as a printable character, so the merges never see whitespace or control characters."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def clean_lower(text: str) -> str:
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).strip().lower()


class ClipBpeTokenizer:
    def __init__(self, merges_file: Path, context_length: int) -> None:
        import regex

        lines = gzip.open(merges_file).read().decode("utf-8").split("\n")[1 : MERGES + 1]
        merges = [tuple(line.split()) for line in lines]
        vocab = list(bytes_to_unicode().values())
        vocab += [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + ["<start_of_text>", "<end_of_text>"]
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {merge: i for i, merge in enumerate(merges)}
        self.sot, self.eot = self.encoder["<start_of_text>"], self.encoder["<end_of_text>"]
        self.context_length = context_length
        self._pattern = regex.compile(PATTERN, regex.IGNORECASE)
        self._cache: dict[str, str] = {"<start_of_text>": "<start_of_text>", "<end_of_text>": "<end_of_text>"}

    def encode(self, text: str) -> list[int]:
        byte_chars = bytes_to_unicode()
        ids: list[int] = []
        for token in self._pattern.findall(clean_lower(text)):
            token = "".join(byte_chars[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self._bpe(token).split(" "))
        return ids

    def __call__(self, texts: list[str]) -> np.ndarray:
        """(len(texts), context_length) int64 ids, zero-padded, as open_clip's tokenizer gives them."""
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot, *self.encode(text), self.eot]
            if len(ids) > self.context_length:
                ids = ids[: self.context_length]
                ids[-1] = self.eot
            out[row, : len(ids)] = ids
        return out

    def _bpe(self, token: str) -> str:
        if token in self._cache:
            return self._cache[token]
        word = (*token[:-1], token[-1] + "</w>")
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if best not in self.ranks:
                break
            word = _merge(word, best)
        self._cache[token] = joined = " ".join(word)
        return joined


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    first, second = pair
    merged: list[str] = []
    i = 0
    while i < len(word):
        if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
            merged.append(first + second)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)
