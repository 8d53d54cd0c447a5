"""Subtitles joined to the media they belong to: the cues of the subtitle files beside a video or a
recording (indexer/companions.py pairs them by name), and how they decide whether Whisper runs."""

from __future__ import annotations

import logging
import os

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, display_path
from anyseek.media.parsed import TextWindow
from anyseek.media.sniff_text import text_format
from anyseek.media.subtitles import Cue, cue_chunks, file_cues

log = logging.getLogger(__name__)
MAX_SUBTITLE_BYTES = 16 * 2**20  # a feature film's subtitles are ~100 KB


def sidecar_cues(paths: tuple[bytes, ...]) -> list[Cue]:
    """Every cue of every subtitle file given (a film.en.srt and a film.fr.srt both: a search in either
    language finds the moment). A file that cannot be read is skipped with a warning: the video is still
    worth indexing, and Whisper then runs on it as if it had no subtitles."""
    cues: list[Cue] = []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_SUBTITLE_BYTES)
            fmt = text_format(data[:8192], os.path.splitext(os.fsdecode(path))[1].lower())
            if fmt not in ("srt", "vtt", "ass"):
                raise ExtractionError("not a subtitle file")
            cues += file_cues(data, fmt)
        except (OSError, ExtractionError) as exc:
            log.warning("subtitles %s skipped: %s", display_path(path), exc)
    return cues


def sound_policy(subtitles_replace_speech: bool, have_cues: bool) -> str:
    """What video.decode_video does with the sound track: "never" decode it (subtitle files beside it say
    what is said), decode it "unless-subtitled" (no text track inside the file), or "always"."""
    if not subtitles_replace_speech:
        return "always"
    return "never" if have_cues else "unless-subtitled"


def timed_chunks(frames: list[Chunk], cues: list[Cue], window) -> list[Chunk]:
    """Frames first (batch.py pairs frame i with chunk ordinal i), then the cues. `window` (the encoders'
    token window) is only asked for its figures when there are cues: asking may load a model."""
    if not cues:
        return frames
    return frames + cue_chunks(cues, TextWindow(window.count_tokens, window.max_tokens), first_ordinal=len(frames))
