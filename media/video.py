"""Video: one pass over the container with PyAV. Video packets go through the keyframe gate to the decoder
(run with FFmpeg's own threads), decoded frames are probed as tiny thumbnails for scene changes, and a
kept frame is scaled once, straight to the model's input size; the sound track is collected on the way
for Whisper. Frames never exist at full size as RGB: FFmpeg's scaler goes from the decoded YUV picture to
32x32 (the probe) or to the model's side (a kept frame).

Limits (settings): duration (max_video_seconds) and resolution (max_video_pixels) are checked before
anything is decoded and make the file an error; the frame budget (max_video_frames) is spread over the
whole video by stretching the interval between frames.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from anyseek.engine.errors import ExtractionError
from anyseek.media.audio import MIN_SAMPLES, AudioCollector
from anyseek.media.heartbeat import still_working
from anyseek.media.scenes import KeyframeGate, SampleRules, SceneSampler, spans
from anyseek.media.subtitles import Cue, TrackReader

log = logging.getLogger(__name__)

THUMB_SIDE = 32
PROBE_STEP_S = 0.2  # inside a fully decoded group, at most five thumbnails a second
DENSE_GOP_S = 2.0  # a group of pictures this short is represented by its keyframe (see scenes.py)
TRUNCATION_SLACK_S = 1.0
FRAME_PIXELS = 8_000_000  # a kept frame handed on for reading (on_frame) is at most this large
HEARTBEAT_S = 5.0  # how often a long decode tells the pool it is still moving (see media/heartbeat.py)


@dataclass(frozen=True, slots=True)
class VideoLimits:
    max_seconds: float
    max_pixels: int


@dataclass(slots=True)
class VideoStats:
    """What decoding one video cost, for the benchmark: packets demuxed, sent to the decoder, probed."""

    packets: int = 0
    decoded: int = 0
    frames: int = 0
    probes: int = 0


@dataclass(slots=True)
class DecodedVideo:
    spans: list[tuple[float, float]]  # each kept frame: its time and the time of the next one
    pixels: np.ndarray  # (frames, 3, side, side) model inputs, float16 to halve what waits in the queue
    audio: np.ndarray | None  # 16 kHz mono, or None without a usable sound track
    duration_s: float
    stats: VideoStats = field(default_factory=VideoStats)
    cues: list[Cue] = field(default_factory=list)  # the file's own text subtitle track


def probe(source: bytes) -> tuple[bool, bool]:
    """(has a picture, has sound). Cover art in an audio file is not a picture."""
    import av

    try:
        with open(source, "rb") as fh, av.open(fh, metadata_errors="ignore") as container:
            return bool(_picture_streams(container)), bool(container.streams.audio)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise ExtractionError(f"cannot read video: {_reason(exc)} (damaged or truncated?)") from None


def sound_only(source: bytes) -> bool:
    """A container with sound and no picture (a voice memo in WebM, Ogg or MP4): a recording, not a video.
    A file that cannot be probed is not one."""
    try:
        picture, sound = probe(source)
    except ExtractionError:
        return False
    return sound and not picture


def decode_video(
    source: bytes,
    rules: SampleRules,
    limits: VideoLimits,
    preprocess,
    side: int,
    sound: str = "always",
    on_frame: Callable[[int, Image.Image], None] | None = None,
) -> DecodedVideo:
    """`preprocess` turns a PIL image into the model's input; frames are scaled to `side` (the shorter
    edge) before it, so it only crops and normalises. `sound`: collect the sound track for Whisper
    "always", "never", or "unless-subtitled" (the file has no text subtitle track of its own).
    `on_frame(i, picture)` is handed each kept frame upright at full size (up to FRAME_PIXELS), as it is
    kept: whatever reads it (the text in it) runs then, so no frame waits at full size in memory."""
    import av

    try:
        with open(source, "rb") as fh, av.open(fh, metadata_errors="ignore") as container:
            return _Decoder(container, rules, limits, preprocess, side, sound, on_frame).run()
    except ExtractionError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError, MemoryError) as exc:
        raise ExtractionError(f"corrupt video: {_reason(exc)}") from None


def _picture_streams(container) -> list:
    import av

    attached = av.stream.Disposition.attached_pic
    return [s for s in container.streams.video if not (s.disposition & attached)]


def _reason(exc: Exception) -> str:
    """FFmpeg's own words, without the errno and the file name PyAV adds around them."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class _Decoder:
    def __init__(
        self,
        container,
        rules: SampleRules,
        limits: VideoLimits,
        preprocess,
        side: int,
        sound: str = "always",
        on_frame: Callable[[int, Image.Image], None] | None = None,
    ) -> None:
        pictures = _picture_streams(container)
        if not pictures:
            raise ExtractionError("no video stream in the file")
        self.container, self.video = container, pictures[0]
        self.audio = container.streams.audio[0] if container.streams.audio else None
        self.preprocess, self.side, self.on_frame = preprocess, side, on_frame
        self.duration = _duration(container)
        _check_limits(self.video, self.duration, limits)
        self.video.thread_type = "AUTO"
        self.offset = (container.start_time or 0) / 1e6
        self.sampler = SceneSampler(rules.spread_over(self.duration))
        self.gate = KeyframeGate(DENSE_GOP_S)
        self.tracks = TrackReader(container, self.offset)
        if sound == "never" or (sound == "unless-subtitled" and self.tracks.stream is not None):
            self.audio = None  # the subtitles say what is said: no sound decoded, no Whisper
        self.collector = AudioCollector(limits.max_seconds + 60, "max_video_seconds", "video") if self.audio else None
        self.max_seconds = limits.max_seconds
        self.stats = VideoStats()
        self.pixels: list[np.ndarray] = []
        self.last_probe = -1e9
        self.stream_end = 0.0
        self.heartbeat = time.monotonic()

    def run(self) -> DecodedVideo:
        streams = [self.video] + ([self.audio] if self.audio else [])
        streams += [self.tracks.stream] if self.tracks.stream is not None else []
        for packet in self.container.demux(streams):
            if packet.stream is self.video:
                self._video_packet(packet)
            elif packet.stream is self.tracks.stream:
                self._packet_time(packet)  # credits may be subtitled past the last frame: not a truncation
                self.tracks.add(packet)
            elif self.collector and packet.size:
                self._packet_time(packet)
                for frame in self.audio.decode(packet):
                    self.collector.add(frame)
        for packet in self.gate.finish():
            self._decode(packet)
        self._decode(None)
        return self._result()

    def _video_packet(self, packet) -> None:
        if not packet.size:
            return  # the demuxer's end-of-stream marker; the decoder is flushed at the end
        self.stats.packets += 1
        if time.monotonic() - self.heartbeat > HEARTBEAT_S:
            self.heartbeat = time.monotonic()
            still_working()
        time_s = self._packet_time(packet)
        if time_s is not None and time_s > self.max_seconds:
            raise ExtractionError(f"video is longer than {self.max_seconds / 3600:.1f} h (setting max_video_seconds)")
        if self.sampler.full:
            return  # the frame budget is spent; the sound track still plays on
        for chosen in self.gate.push(packet, packet.is_keyframe, time_s):
            self._decode(chosen)

    def _packet_time(self, packet) -> float | None:
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None or packet.time_base is None:
            return None
        time_s = float(stamp * packet.time_base) - self.offset
        end = time_s + float((packet.duration or 0) * packet.time_base)
        self.stream_end = max(self.stream_end, end)
        return time_s

    def _decode(self, packet) -> None:
        if packet is not None:
            self.stats.decoded += 1
        for frame in self.video.decode(packet):
            self.stats.frames += 1
            self._offer(frame)

    def _offer(self, frame) -> None:
        if frame.pts is None:
            return
        # frame.time can be NaN for frames a threaded decoder hands out on flush; the stream's clock is sure
        time_s = max(0.0, float(frame.pts * self.video.time_base) - self.offset)
        if time_s - self.last_probe < PROBE_STEP_S or not self.sampler.wants_probe(time_s):
            return
        self.last_probe = time_s
        self.stats.probes += 1
        small = frame.reformat(width=THUMB_SIDE, height=THUMB_SIDE, format="rgb24", interpolation="AREA")
        thumb = small.to_ndarray().astype(np.float32) / 255.0
        if self.sampler.offer(time_s, thumb):
            self.pixels.append(self._model_input(frame))
            if self.on_frame is not None:
                self.on_frame(len(self.pixels) - 1, self._picture(frame))
                self.heartbeat = time.monotonic()
                still_working()  # reading a frame's text takes a while; the decode is moving

    def _picture(self, frame) -> Image.Image:
        scale = min(1.0, (FRAME_PIXELS / (frame.width * frame.height)) ** 0.5)
        width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
        return upright(Image.fromarray(rgb), frame.rotation)

    def _model_input(self, frame) -> np.ndarray:
        width, height = frame.width, frame.height
        scale = min(1.0, self.side / min(width, height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="AREA").to_ndarray()
        return self.preprocess(upright(Image.fromarray(rgb), frame.rotation)).astype(np.float16)

    def _result(self) -> DecodedVideo:
        if not self.pixels:
            raise ExtractionError("no video frame could be decoded")
        end = self.duration or self.stream_end
        if self.duration and self.stream_end < self.duration - max(TRUNCATION_SLACK_S, 0.05 * self.duration):
            raise ExtractionError(f"truncated video: its data ends at {self.stream_end:.1f} s of {self.duration:.1f} s")
        audio = self.collector.finish() if self.collector is not None else None
        speech = audio if audio is not None and len(audio) >= MIN_SAMPLES else None
        return DecodedVideo(
            spans(self.sampler.kept, end),
            np.stack(self.pixels),
            speech,
            end or self.sampler.kept[-1],
            self.stats,
            self.tracks.cues,
        )


def upright(image: Image.Image, rotation: int) -> Image.Image:
    """Phones store portrait video as landscape pictures plus a display rotation (counterclockwise
    degrees, as FFmpeg reports it); the model must see what a player shows, as with EXIF orientation."""
    turn = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
    step = turn.get(round(rotation / 90) * 90 % 360)
    return image.transpose(step) if step is not None else image


def _duration(container) -> float | None:
    if container.duration and container.duration > 0:
        return container.duration / 1e6
    return None


def _check_limits(stream, duration: float | None, limits: VideoLimits) -> None:
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > limits.max_pixels:
        raise ExtractionError(
            f"video is {width}×{height} ({width * height / 1e6:.0f} MP a frame), over the "
            f"{limits.max_pixels / 1e6:.0f} MP cap (setting max_video_pixels)"
        )
    if duration and duration > limits.max_seconds:
        raise ExtractionError(
            f"video lasts {duration / 3600:.1f} h, over the {limits.max_seconds / 3600:.1f} h cap "
            f"(setting max_video_seconds)"
        )


def creation_time(source: bytes) -> dt.datetime | None:
    """When the video was recorded, from the container's creation_time tag (phones and cameras write it;
    UTC). None when absent or unreadable. It is the video item's capture date (`--after`/`--before`)."""
    import av

    try:
        with open(source, "rb") as fh, av.open(fh, metadata_errors="ignore") as container:
            return parse_creation_time(container.metadata.get("creation_time"))
    except (av.error.FFmpegError, OSError, ValueError):
        return None


def parse_creation_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.year < 1971:  # cameras without a clock write 1970 or 1904 (the QuickTime epoch)
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
