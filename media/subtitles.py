"""Subtitles are timed text: SubRip, WebVTT and ASS/SSA files (pysubs2), and the text tracks inside MKV and
MP4 files (PyAV; collected while the video is decoded, see video.py).

Each cue becomes a `cue` chunk with its start and end seconds, as a speech window has, so a hit seeks the
player to the cue. A cue that stops in the middle of a sentence is joined with the next one (at most
MAX_JOINED_S long, no pause over MAX_GAP_S between them): the joined chunk starts where the sentence starts,
which is where a search for it should land, and a fragment like "and then he" embeds poorly alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, ChunkKind
from anyseek.media.parsed import TextWindow
from anyseek.media.text import decode_text

SENTENCE_END = (".", "!", "?", "…", '."', '!"', '?"', "♪")
MAX_GAP_S = 1.0
MAX_JOINED_S = 15.0
# FFmpeg decoders of text subtitle codecs (bitmap ones, DVD and Blu-ray subtitles, need OCR: not read)
TEXT_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text", "microdvd", "jacosub"})


@dataclass(frozen=True, slots=True)
class Cue:
    start_s: float
    end_s: float
    text: str


def file_cues(data: bytes, fmt: str) -> list[Cue]:
    """The cues of a subtitle file, in time order, without styling, comments or empty lines."""
    import pysubs2

    text = decode_text(data)
    try:
        subs = pysubs2.SSAFile.from_string(text, format_={"srt": "srt", "vtt": "vtt", "ass": "ass"}.get(fmt))
    except (pysubs2.exceptions.Pysubs2Error, ValueError, KeyError, IndexError) as exc:
        raise ExtractionError(f"cannot read this {fmt.upper()} subtitle file: {exc}") from None
    cues = [
        Cue(event.start / 1000, event.end / 1000, clean)
        for event in subs
        if not event.is_comment and (clean := " ".join(event.plaintext.split()))
    ]
    if not cues:
        raise ExtractionError(f"no subtitle text in this {fmt.upper()} file")
    return sorted(cues, key=lambda cue: cue.start_s)


def dialogue_text(dialogue: str) -> str:
    """The words of one ASS dialogue line (what FFmpeg's text subtitle decoders hand out)."""
    import pysubs2

    return " ".join(pysubs2.SSAEvent(text=dialogue).plaintext.split())


def cue_chunks(cues: list[Cue], window: TextWindow, first_ordinal: int = 0) -> list[Chunk]:
    chunks: list[Chunk] = []
    group: list[Cue] = []
    for cue in sorted(cues, key=lambda c: c.start_s):
        if group and not _continues(group, cue, window):
            chunks.append(_chunk(group, first_ordinal + len(chunks)))
            group = []
        group.append(cue)
    if group:
        chunks.append(_chunk(group, first_ordinal + len(chunks)))
    return chunks


def _continues(group: list[Cue], cue: Cue, window: TextWindow) -> bool:
    last = group[-1]
    if last.text.rstrip().endswith(SENTENCE_END) or cue.start_s - last.end_s > MAX_GAP_S:
        return False
    if cue.end_s - group[0].start_s > MAX_JOINED_S:
        return False
    return window.count_tokens(" ".join(c.text for c in [*group, cue])) <= window.max_tokens


def _chunk(group: list[Cue], ordinal: int) -> Chunk:
    text = " ".join(cue.text for cue in group)
    return Chunk(ChunkKind.CUE, ordinal, text, start_s=round(group[0].start_s, 3), end_s=round(group[-1].end_s, 3))


class TrackReader:
    """Collects the cues of a container's text subtitle tracks, packet by packet, during the video's one
    demuxing pass. Only the first text track is kept (most files carry one per language; one is enough to
    find the moment, and several would repeat every line)."""

    def __init__(self, container, offset_s: float) -> None:
        streams = [s for s in container.streams.subtitles if s.codec_context.name in TEXT_CODECS]
        self.stream = streams[0] if streams else None
        self.offset_s = offset_s
        self.cues: list[Cue] = []

    def add(self, packet) -> None:
        if not packet.size or packet.pts is None or packet.time_base is None:
            return
        start = float(packet.pts * packet.time_base) - self.offset_s
        end = start + float((packet.duration or 0) * packet.time_base)
        for subtitle in self.stream.decode(packet):
            raw = getattr(subtitle, "dialogue", None) or getattr(subtitle, "text", None) or b""
            text = dialogue_text(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))
            if text:
                self.cues.append(Cue(max(0.0, start), max(start, end), text))
