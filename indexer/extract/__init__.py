"""Per-modality extraction: from a file to chunks and model inputs, run in the decode workers."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, ChunkKind, Modality
from anyseek.engine.settings import Settings
from anyseek.indexer.decoded import DecodedImage
from anyseek.indexer.extract.ocr import PictureReader
from anyseek.indexer.extract.pictures import PictureTexts, frame_reader, pdf_with_pictures, photo_text, place_frames
from anyseek.indexer.gpu_jpeg import JpegBytes
from anyseek.media.audio import decode_audio
from anyseek.media.formats import read_document
from anyseek.media.image import jpeg_draft_size, open_photo, open_raw
from anyseek.media.parsed import Member, TextWindow
from anyseek.media.scenes import SampleRules
from anyseek.media.sniff import DOCUMENT_FORMATS, Sniffed
from anyseek.media.text import decode_text, split_passages
from anyseek.media.timed import sidecar_cues, sound_policy, timed_chunks
from anyseek.media.video import VideoLimits, creation_time, decode_video, probe


class TokenWindow(Protocol):
    max_tokens: int

    def count_tokens(self, text: str) -> int: ...


class JointPreprocessor(TokenWindow, Protocol):
    image_size: int

    def preprocess(self, image) -> np.ndarray: ...


@dataclass(slots=True)
class Extracted:
    """A decoded file. Audio (a recording's, a video's sound track) gets its chunks later, once Whisper has
    transcribed it; they follow any frame chunks."""

    modality: Modality
    chunks: list[Chunk] = field(default_factory=list)
    pixels: np.ndarray | None = None
    audio: np.ndarray | None = None
    captured_at: float | None = None  # UTC epoch seconds, from EXIF
    frames: np.ndarray | None = None  # a video's model inputs, one per FRAME chunk, in chunk order
    jpeg: JpegBytes | None = None  # a JPEG left for its batch to decode on the model's device (gpu_jpeg.py)
    members: list[Member] = field(default_factory=list)  # a mailbox's messages, items of their own
    ocr: str | None = None  # which reader read its pictures (see pictures.py), for the item to record
    warnings: list[str] = field(default_factory=list)  # what it is indexed without (a picture's text), and why


class ImageDecoder(Protocol):
    """An image file -> its model input and capture time; raises the file's error. See decode_image_here."""

    def __call__(self, path: bytes, fmt: str, max_pixels: int, draft: int | None) -> DecodedImage: ...


def decode_image_here(
    path: bytes, fmt: str, max_pixels: int, draft: int | None, joint: JointPreprocessor
) -> DecodedImage:
    """Decode in the calling thread (indexer/decode_procs.py does the same in a process)."""
    opener = open_raw if fmt == "raw" else open_photo
    photo = opener(path, max_pixels, draft_size=draft)
    return DecodedImage(joint.preprocess(photo.image), photo.captured_at, photo)


def extract(
    path: bytes,
    sniffed: Sniffed,
    joint: JointPreprocessor,
    settings: Settings,
    window: TokenWindow | None = None,
    images: ImageDecoder | None = None,
    companions: tuple[bytes, ...] = (),
    reader: PictureReader | None = None,
) -> Extracted:
    """`window` cuts text into passages (default: the joint model's; see EncoderSet.document_window).
    `images` decodes images (default: in this thread). `companions`: subtitle files beside a video or a
    recording (indexer/companions.py), read as its timed text. `reader` reads the text in pictures (photos,
    kept video frames, PDF pages without a text layer); None: OCR is off."""
    window = window or joint
    if sniffed.modality is Modality.IMAGE:
        draft = jpeg_draft_size(settings.jpeg_draft, joint.image_size)
        if images is None:
            images = functools.partial(decode_image_here, joint=joint)
        decoded = images(path, sniffed.format, settings.max_image_pixels, draft)
        out = Extracted(Modality.IMAGE, [Chunk(ChunkKind.IMAGE, 0)], captured_at=decoded.captured_at)
        if isinstance(decoded.pixels, JpegBytes):
            out.jpeg = decoded.pixels
        else:
            out.pixels = decoded.pixels
        _read_photo(out, path, sniffed.format, settings, reader, window, decoded.photo)
        return out
    if sniffed.modality is Modality.TEXT and sniffed.format == "pdf":
        pictures = PictureTexts(reader, window)
        cutter = TextWindow(window.count_tokens, window.max_tokens)
        chunks = pdf_with_pictures(path, cutter.split, settings.max_text_bytes, pictures)
        return Extracted(Modality.TEXT, chunks, ocr=pictures.state, warnings=pictures.warnings("page"))
    if sniffed.modality is Modality.TEXT and sniffed.format in DOCUMENT_FORMATS:
        cutter = TextWindow(window.count_tokens, window.max_tokens)
        parsed = read_document(path, sniffed.format, cutter, settings.max_text_bytes)
        return Extracted(Modality.TEXT, parsed.chunks, captured_at=parsed.captured_at, members=parsed.members)
    if sniffed.modality is Modality.TEXT:
        size = os.path.getsize(path)
        if size > settings.max_text_bytes:
            raise ExtractionError(
                f"text file is {size / 2**20:.0f} MB, over the "
                f"{settings.max_text_bytes / 2**20:.0f} MB cap (setting max_text_bytes)"
            )
        with open(path, "rb") as fh:
            text = decode_text(fh.read())
        return Extracted(Modality.TEXT, split_passages(text, window.count_tokens, window.max_tokens))
    if sniffed.modality in (Modality.AUDIO, Modality.VIDEO):
        # the window itself, not its figures: reading max_tokens would load a text model for a file that may
        # turn out broken, or have no subtitles at all
        cues = sidecar_cues(companions)
        if sniffed.modality is Modality.AUDIO:
            return extract_recording(path, settings, window, cues)
        return extract_video(path, joint, settings, window, cues, reader)
    raise ExtractionError(sniffed.problem or "unsupported file type")


def _read_photo(out: Extracted, path: bytes, fmt: str, settings: Settings, reader, window, photo=None) -> None:
    pictures = PictureTexts(reader, window, pictures=1)
    if reader is not None:
        pictures.add(photo_text(reader, path, fmt, settings.max_image_pixels, photo), len(out.chunks))
    out.chunks += pictures.chunks
    out.ocr, out.warnings = pictures.state, pictures.warnings()


def read_pictures_again(
    path: bytes, sniffed: Sniffed, joint: JointPreprocessor, settings: Settings, window, reader: PictureReader | None
) -> Extracted:
    """An unchanged photo or video whose pictures another reader must read (or none, OCR being off now):
    its text chunks alone, numbered from 0 (the store puts them after the chunks it keeps); nothing else
    is decoded for a model."""
    out = Extracted(sniffed.modality)
    if reader is None:
        out.ocr = PictureTexts(None, window, pictures=1).state
    elif sniffed.modality is Modality.IMAGE:
        _read_photo(out, path, sniffed.format, settings, reader, window)
    else:
        pictures = PictureTexts(reader, window)
        on_frame = frame_reader(pictures)
        video = decode_video(path, *video_rules(settings), _nothing, joint.image_size, "never", on_frame)
        place_frames(pictures, on_frame, video.spans, 0)
        out.chunks, out.ocr, out.warnings = pictures.chunks, pictures.state, pictures.warnings("frame")
    return out


def _nothing(_picture) -> np.ndarray:
    return np.zeros(1, np.float16)  # no model input: the frames' vectors are kept as they are


def video_rules(settings: Settings) -> tuple[SampleRules, VideoLimits]:
    """How a video is sampled and what it may cost, from the settings."""
    rules = SampleRules(
        settings.video_min_interval_s,
        settings.video_max_interval_s,
        settings.video_scene_threshold,
        settings.max_video_frames,
    )
    return rules, VideoLimits(settings.max_video_seconds, settings.max_video_pixels)


def extract_recording(path: bytes, settings: Settings, window: TokenWindow, cues: list) -> Extracted:
    """A recording's sound for Whisper, unless subtitles beside it already say what is said (and the
    setting subtitles_replace_speech lets them)."""
    chunks = timed_chunks([], cues, window)
    if cues and settings.subtitles_replace_speech:
        return Extracted(Modality.AUDIO, chunks)
    return Extracted(Modality.AUDIO, chunks, audio=decode_audio(path, settings.max_audio_seconds))


def extract_video(
    path: bytes,
    joint: JointPreprocessor,
    settings: Settings,
    window: TokenWindow,
    cues: list | None = None,
    reader: PictureReader | None = None,
) -> Extracted:
    """Frames where the picture changes, subtitle cues (from files beside it or its own text track), plus
    the sound track for Whisper. A container with sound and no picture (an audio-only mp4 or webm) is a
    recording."""
    cues = cues or []
    picture, sound = probe(path)
    if not picture and not sound:
        raise ExtractionError("no picture or sound stream in the file (damaged or truncated?)")
    if not picture:
        return extract_recording(path, settings, window, cues)
    sound_wanted = sound_policy(settings.subtitles_replace_speech, bool(cues))
    pictures = PictureTexts(reader, window, pictures=1)  # a video has pictures, read or not
    on_frame = frame_reader(pictures) if reader is not None else None
    video = decode_video(path, *video_rules(settings), joint.preprocess, joint.image_size, sound_wanted, on_frame)
    frames = [Chunk(ChunkKind.FRAME, i, start_s=start, end_s=end) for i, (start, end) in enumerate(video.spans)]
    recorded = creation_time(path)
    captured_at = recorded.timestamp() if recorded else None
    chunks = timed_chunks(frames, cues or video.cues, window)
    if on_frame is not None:
        place_frames(pictures, on_frame, video.spans, len(chunks))  # after the frames and cues, before speech
    return Extracted(
        Modality.VIDEO,
        chunks + pictures.chunks,
        audio=video.audio,
        frames=video.pixels,
        captured_at=captured_at,
        ocr=pictures.state,
        warnings=pictures.warnings("frame"),
    )
