"""The tolerant comparisons themselves: they must still tell a right answer from a wrong one."""

from __future__ import annotations

from tests.fuzzy import overlaps, sounds_like, word_error_rate


def test_word_error_rate_counts_substitutions_insertions_and_deletions():
    assert word_error_rate("A yellow star, next to a blue circle!", "a yellow star next to a blue circle") == 0
    assert word_error_rate("yeah those are next to a blue circle", "a yellow star next to a blue circle") == 3 / 8
    assert word_error_rate("", "two words") == 1


def test_a_misheard_word_or_two_still_sounds_like_the_sentence_but_another_sentence_does_not():
    assert sounds_like("Yeah, those are next to a blue circle.", "A yellow star next to a blue circle.")
    assert sounds_like("Intro words. Find a rid circle. Outro.", "Find a red circle.")
    assert not sounds_like("A pink heart and a green square.", "A yellow star next to a blue circle.")


def test_windows_overlap_only_when_they_share_time():
    assert overlaps(5.2, 7.0, 5.06, 7.39)
    assert overlaps(7.5, 9.0, 5.06, 7.39)  # within the slack
    assert not overlaps(0.4, 2.5, 5.06, 7.39)
