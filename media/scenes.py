"""Which video frames to decode and which to keep: the pure logic behind media/video.py.

`KeyframeGate` picks the packets worth decoding. A group of pictures (a keyframe and the frames that
depend on it) no longer than `dense_gop_s` is represented by its keyframe alone: phone cameras write a
keyframe every second or two, and x264 puts one at every cut, so most videos need a few percent of their
frames decoded. A longer group (a screen recording, a camera with sparse keyframes) is decoded whole,
since a frame inside it can only be reached through the frames before it.

`SceneSampler` keeps a frame where the picture changed: each probe's tiny thumbnail is compared with the
last kept one (so a slow pan adds up to a change too), with a minimum and a maximum time between kept
frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HISTOGRAM_LEVELS = 4  # per channel: 64 colour bins


@dataclass(frozen=True, slots=True)
class SampleRules:
    min_interval_s: float  # no two kept frames closer than this
    max_interval_s: float  # a frame at least this often, changed or not
    threshold: float  # picture change (0-1, see `change`) that takes a frame
    max_frames: int

    def spread_over(self, duration_s: float | None) -> SampleRules:
        """Stretch the intervals so that max_frames cover the whole video rather than its beginning."""
        if not duration_s or duration_s <= 0:
            return self
        floor = duration_s / self.max_frames
        low = max(self.min_interval_s, floor)
        return SampleRules(low, max(self.max_interval_s, low), self.threshold, self.max_frames)


class SceneSampler:
    def __init__(self, rules: SampleRules) -> None:
        self.rules = rules
        self.kept: list[float] = []
        self._last_thumb: np.ndarray | None = None

    @property
    def full(self) -> bool:
        return len(self.kept) >= self.rules.max_frames

    def wants_probe(self, time_s: float) -> bool:
        """Whether a frame at this time could be kept at all: the caller skips making its thumbnail if not."""
        return not self.full and (not self.kept or time_s - self.kept[-1] >= self.rules.min_interval_s)

    def offer(self, time_s: float, thumb: np.ndarray) -> bool:
        """Keep this frame? `thumb` is a small float array in [0, 1]; any fixed shape."""
        if not self.wants_probe(time_s):
            return False
        keep = (
            self._last_thumb is None
            or time_s - self.kept[-1] >= self.rules.max_interval_s
            or change(self._last_thumb, thumb) >= self.rules.threshold
        )
        if keep:
            self.kept.append(time_s)
            self._last_thumb = thumb
        return keep


def change(a: np.ndarray, b: np.ndarray) -> float:
    """How different two thumbnails (RGB in [0, 1]) are, 0-1: the mean of the pixel difference, which sees
    things move, and the colour histogram distance, which sees a new scene even where the pixel
    difference is diluted (a small object on a similar background) and shrugs at motion and drift."""
    pixels = float(np.abs(a - b).mean())
    return (pixels + float(np.abs(_histogram(a) - _histogram(b)).sum()) / 2) / 2


def _histogram(thumb: np.ndarray) -> np.ndarray:
    levels = np.minimum((thumb * HISTOGRAM_LEVELS).astype(np.int64), HISTOGRAM_LEVELS - 1)
    index = (levels[..., 0] * HISTOGRAM_LEVELS + levels[..., 1]) * HISTOGRAM_LEVELS + levels[..., 2]
    return np.bincount(index.ravel(), minlength=HISTOGRAM_LEVELS**3) / index.size


def spans(times: list[float], end_s: float) -> list[tuple[float, float]]:
    """Each kept frame stands for the stretch until the next one (the last until the end of the video)."""
    ends = times[1:] + [max(end_s, times[-1])] if times else []
    return [(round(t, 3), round(max(e, t), 3)) for t, e in zip(times, ends)]


class KeyframeGate:
    """Feed it the video packets in decode order; it returns those to send to the decoder."""

    def __init__(self, dense_gop_s: float) -> None:
        self.dense_gop_s = dense_gop_s
        self._pending: list = []  # the current group, held back while it may still be short
        self._start: float | None = None
        self._whole = True  # until the first keyframe, decode what comes (there is nothing to skip to)

    def push(self, packet, key: bool, time_s: float | None) -> list:
        if key:
            out = self._pending[:1]  # a short group: its keyframe only
            self._pending, self._start, self._whole = [packet], time_s, False
            return out
        if self._whole:
            return [packet]
        self._pending.append(packet)
        if time_s is not None and self._start is not None and time_s - self._start > self.dense_gop_s:
            out, self._pending, self._whole = self._pending, [], True  # a long group: decode all of it
            return out
        return []

    def finish(self) -> list:
        """The last group has no next keyframe to show what changed in it: decode it whole (under
        dense_gop_s of frames), so a short clip, or a change in the last seconds, is not missed."""
        out, self._pending = self._pending, []
        return out
