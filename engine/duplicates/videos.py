"""Videos by several frames and their length, never by one frame.

Each video is seen at nine fixed fractions of its length (media/stills.py). Two videos are duplicates when
their lengths agree, at least MIN_FRAMES of those positions show a picture in both (dark or flat frames,
such as black openings and fades, are left out: different videos share them), and nearly all of the compared
frames hash and colour alike. Candidates are videos of about the same length (sorted by it), not all pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from anyseek.engine.duplicates.fingerprints import PictureFingerprint, colour_distance, hamming
from anyseek.engine.duplicates.grouping import UnionFind

MIN_FRAMES = 3


@dataclass(frozen=True, slots=True)
class VideoRules:
    max_hamming: int = 12
    max_colour: float = 0.08
    min_agreeing: float = 0.8  # share of the compared frames that must match
    duration_seconds: float = 1.0
    duration_fraction: float = 0.02


Video = tuple[float, tuple[PictureFingerprint, ...]]


def link_videos(links: UnionFind, videos: dict[int, Video], rules: VideoRules) -> None:
    by_length = sorted((duration, item_id) for item_id, (duration, _) in videos.items())
    for i, (length, a) in enumerate(by_length):
        for other_length, b in by_length[i + 1 :]:
            if other_length - length > max(rules.duration_seconds, rules.duration_fraction * other_length):
                break
            agreement = frames_agreement(videos[a][1], videos[b][1], rules)
            if agreement is not None and agreement >= rules.min_agreeing:
                links.union(a, b, agreement)


def frames_agreement(
    left: tuple[PictureFingerprint, ...], right: tuple[PictureFingerprint, ...], rules: VideoRules
) -> float | None:
    """The share of frames, at the positions where both show a picture, that match; None when fewer than
    MIN_FRAMES positions can be compared (a mostly black video is not judged)."""
    compared = [(x, y) for x, y in zip(left, right, strict=False) if not x.dark and not y.dark]
    if len(compared) < MIN_FRAMES:
        return None
    matching = sum(
        1
        for x, y in compared
        if hamming(x.phash, y.phash) <= rules.max_hamming and colour_distance(x.colour, y.colour) <= rules.max_colour
    )
    return matching / len(compared)
