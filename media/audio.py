"""Audio: PyAV decode to 16 kHz mono, then Whisper's timed words grouped into searchable windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, ChunkKind

SAMPLE_RATE = 16_000  # what Whisper takes, so the decoders produce it
SENTENCE_END = (".", "!", "?", "…")


@dataclass(frozen=True, slots=True)
class SpokenWord:
    """A word of a transcript with its time (the speech model's output, grouped here into windows)."""

    start: float
    end: float
    text: str  # with its leading space, as Whisper spells it, so words join back into the transcript


def decode_audio(source, max_seconds: float) -> np.ndarray:
    """Any container/codec FFmpeg knows -> float32 mono samples at 16 kHz. `source` is a path (str or
    bytes) or a binary file object; bytes paths are opened here so undecodable names still work."""
    import av

    if isinstance(source, bytes):
        with open(source, "rb") as fh:
            return decode_audio(fh, max_seconds)
    try:
        with av.open(source, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise ExtractionError("no audio stream in the file")
            stream = container.streams.audio[0]
            collector = AudioCollector(max_seconds)
            for frame in container.decode(stream):
                collector.add(frame)
            audio = collector.finish()
    except ExtractionError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise ExtractionError(f"cannot decode audio: {str(exc) or type(exc).__name__}") from None
    if len(audio) < MIN_SAMPLES:
        raise ExtractionError("no audio samples (empty or silent-length recording)")
    return audio


MIN_SAMPLES = SAMPLE_RATE // 10


class AudioCollector:
    """Decoded audio frames -> 16 kHz mono float32, with a length cap. Shared by recordings and the sound
    track of videos, so both reach Whisper in the same form."""

    def __init__(self, max_seconds: float, setting: str = "max_audio_seconds", what: str = "recording") -> None:
        import av

        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self._chunks: list[np.ndarray] = []
        self._total, self._limit = 0, int(max_seconds * SAMPLE_RATE)
        self._message = f"{what} is longer than {max_seconds / 3600:.1f} h (setting {setting})"

    def add(self, frame) -> None:
        for out in self._resampler.resample(frame):
            samples = out.to_ndarray().reshape(-1)
            self._chunks.append(samples)
            self._total += len(samples)
        if self._total > self._limit:
            raise ExtractionError(self._message)

    def finish(self) -> np.ndarray:
        for out in self._resampler.resample(None):
            self._chunks.append(out.to_ndarray().reshape(-1))
        audio = np.concatenate(self._chunks).astype(np.float32) if self._chunks else np.empty(0, np.float32)
        self._chunks = []
        return audio


@dataclass(frozen=True, slots=True)
class WindowRules:
    min_seconds: float
    max_seconds: float
    max_gap_seconds: float
    max_tokens: int


def speech_windows(words: list[SpokenWord], rules: WindowRules, count_tokens: Callable[[str], int]) -> list[Chunk]:
    """Group timed words into windows: a pause longer than max_gap always splits; a sentence end splits
    once the window lasts min_seconds; max_seconds and the joint model's token window are hard limits.
    Short windows keep hits seekable to the sentence, long enough ones carry enough meaning to embed."""
    windows: list[list[SpokenWord]] = []
    current: list[SpokenWord] = []
    tokens = 0
    for word in words:
        word_tokens = count_tokens(word.text)
        if current and _should_split(current, word, tokens + word_tokens, rules):
            windows.append(current)
            current, tokens = [], 0
        current.append(word)
        tokens += word_tokens
    if current:
        windows.append(current)
    return [
        Chunk(
            ChunkKind.SPEECH,
            i,
            "".join(w.text for w in group).strip(),
            start_s=round(group[0].start, 3),
            end_s=round(group[-1].end, 3),
        )
        for i, group in enumerate(windows)
    ]


def _should_split(current: list[SpokenWord], word: SpokenWord, tokens: int, rules: WindowRules) -> bool:
    last = current[-1]
    if word.start - last.end > rules.max_gap_seconds:
        return True
    if word.end - current[0].start > rules.max_seconds or tokens > rules.max_tokens:
        return True
    return last.text.rstrip().endswith(SENTENCE_END) and last.end - current[0].start >= rules.min_seconds
