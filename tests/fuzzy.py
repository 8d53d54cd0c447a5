"""Comparisons that survive another CPU: Whisper's int8 kernels differ between machines (AVX-512 or not),
so a transcript may differ by a word or two and a timestamp by a fraction of a second."""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(heard: str, expected: str) -> float:
    """Normalised word error rate: word-level edit distance over the expected sentence's length."""
    ref, hyp = words(expected), words(heard)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / max(1, len(ref))


def sounds_like(heard: str, expected: str, max_wer: float = 0.5) -> bool:
    """The transcript is the expected sentence give or take a few words (or contains it, when the
    transcript holds more than one sentence)."""
    if word_error_rate(heard, expected) <= max_wer:
        return True
    ref, hyp = words(expected), words(heard)
    windows = (" ".join(hyp[i : i + len(ref)]) for i in range(max(1, len(hyp) - len(ref) + 1)))
    return any(word_error_rate(window, expected) <= max_wer for window in windows)


def overlaps(start: float, end: float, truth_start: float, truth_end: float, slack: float = 0.5) -> bool:
    """The hit's time window overlaps the known sentence (with some slack at the edges)."""
    return start < truth_end + slack and end > truth_start - slack
