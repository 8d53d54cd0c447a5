"""Video decoding and frame sampling on the committed fixtures (tests/fixtures/video, see its manifest):
which frames are kept, what it costs to find them, limits, damaged files, audio-only containers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from anyseek.engine.errors import ConfigError, ExtractionError
from anyseek.engine.records import ChunkKind, Modality
from anyseek.engine.settings import load_settings
from anyseek.indexer.extract import extract
from anyseek.media.scenes import KeyframeGate, SampleRules, SceneSampler, change, spans
from anyseek.media.sniff import sniff_bytes, sniff_file
from anyseek.media.video import (
    VideoLimits,
    creation_time,
    decode_video,
    parse_creation_time,
    probe,
)

VIDEO = Path(__file__).parent / "fixtures" / "video"
MANIFEST = json.loads((VIDEO / "manifest.json").read_text())["files"]
DEFAULTS = load_settings(Path("/nonexistent"), {})
RULES = SampleRules(1.0, 10.0, DEFAULTS.video_scene_threshold, max_frames=300)
LIMITS = VideoLimits(max_seconds=3 * 3600, max_pixels=40_000_000)
SIDE = 32


def tiny_preprocess(image) -> np.ndarray:
    return np.asarray(image.resize((SIDE, SIDE)), np.float32).transpose(2, 0, 1) / 255


class TinyJoint:
    image_size = SIDE
    max_tokens = 64

    def preprocess(self, image) -> np.ndarray:
        return tiny_preprocess(image)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def decode(name: str, rules: SampleRules = RULES, limits: VideoLimits = LIMITS, path: Path | None = None):
    return decode_video(os.fsencode(path or VIDEO / name), rules, limits, tiny_preprocess, SIDE)


def overlaps(span: tuple[float, float], start: float, end: float) -> float:
    return min(span[1], end) - max(span[0], start)


# --- sampling logic -------------------------------------------------------------------------------
def flat(value: float) -> np.ndarray:
    return np.full((8, 8, 3), value, np.float32)


def test_a_cut_is_kept_and_slow_drift_is_not():
    sampler = SceneSampler(RULES)
    times = np.arange(0, 8, 0.2)
    for t in times:
        picture = flat(0.2) if t < 4 else flat(0.8)
        picture[0, 0] += 0.001 * t  # drift far below the threshold
        sampler.offer(float(t), picture)
    assert sampler.kept == [0.0, pytest.approx(4.0)]


def test_no_two_kept_frames_are_closer_than_the_minimum_and_none_further_apart_than_the_maximum():
    rules = SampleRules(min_interval_s=1.0, max_interval_s=3.0, threshold=RULES.threshold, max_frames=100)
    sampler = SceneSampler(rules)
    for i, t in enumerate(np.arange(0, 12, 0.2)):
        sampler.offer(float(t), flat(i % 2))  # a cut at every probe
    gaps = np.diff(sampler.kept)
    assert gaps.min() >= 1.0 - 1e-9
    still = SceneSampler(rules)
    for t in np.arange(0, 12, 0.2):
        still.offer(float(t), flat(0.5))  # nothing ever changes
    assert np.diff(still.kept).max() <= 3.0 + 1e-9 and len(still.kept) >= 4


def test_the_frame_budget_is_spread_over_the_whole_video():
    rules = SampleRules(1.0, 10.0, 0.12, max_frames=10).spread_over(3600.0)
    assert rules.min_interval_s == pytest.approx(360.0) and rules.max_interval_s >= rules.min_interval_s
    sampler = SceneSampler(rules)
    for t in np.arange(0, 3600, 1.0):
        sampler.offer(float(t), flat((t // 60) % 2))  # a new scene every minute
    assert len(sampler.kept) <= 10 and sampler.kept[-1] > 3000


def test_change_sees_a_new_scene_and_shrugs_at_a_small_shift():
    rng = np.random.default_rng(0)
    scene = rng.random((32, 32, 3)).astype(np.float32) * 0.3
    scene[8:24, 8:24] = (0.9, 0.1, 0.1)  # a red square
    shifted = np.roll(scene, 1, axis=1)
    other = scene.copy()
    other[8:24, 8:24] = (0.1, 0.2, 0.9)  # the same place, now blue
    assert change(scene, shifted) < RULES.threshold <= change(scene, other)


def test_each_kept_frame_spans_until_the_next_one():
    assert spans([0.0, 2.0, 4.5], 6.0) == [(0.0, 2.0), (2.0, 4.5), (4.5, 6.0)]


def test_short_groups_of_pictures_send_only_their_keyframe_to_the_decoder():
    gate = KeyframeGate(dense_gop_s=2.0)
    sent = []
    for i in range(90):  # 30 fps, a keyframe every second
        sent += gate.push(i, key=i % 30 == 0, time_s=i / 30)
    assert sent == [0, 30]
    assert gate.finish() == list(range(60, 90))  # the last group: no later keyframe shows its changes


def test_a_long_group_of_pictures_is_decoded_whole():
    gate = KeyframeGate(dense_gop_s=2.0)
    sent = []
    for i in range(150):  # a keyframe every 4 s
        sent += gate.push(i, key=i % 120 == 0, time_s=i / 30)
    assert sent == list(range(120))


# --- sniffing -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["scenes.mp4", "talk.mp4", "silent.webm", "clip.mov", "clip.mkv"])
def test_videos_are_recognised_by_content_whatever_their_name(tmp_path, name):
    path = tmp_path / "holiday.bin"
    shutil.copyfile(VIDEO / name, path)
    assert sniff_file(os.fsencode(path)).modality is Modality.VIDEO


def test_text_named_mp4_is_a_problem_saying_it_is_not_a_video():
    sniffed = sniff_bytes(b"Meeting notes, not a film at all.\n", ".mp4")
    assert sniffed.modality is None and "not a recognised video" in sniffed.problem


def test_an_old_quicktime_file_without_ftyp_is_a_video_by_its_atoms():
    head = b"\x00\x00\x00\x08wide\x00\x01\x00\x00mdat" + bytes(48)
    assert sniff_bytes(head, ".mov").modality is Modality.VIDEO


# --- decoding the fixtures ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["scenes.mp4", "talk.mp4", "silent.webm", "clip.mkv"])
def test_one_frame_is_kept_per_scene_at_its_time(name):
    video = decode(name)
    scenes = MANIFEST[name]["scenes"]
    assert len(video.spans) == len(scenes)
    for span, scene in zip(video.spans, scenes):
        assert abs(span[0] - scene["start_s"]) <= 0.5, (span, scene)
        assert overlaps(span, scene["start_s"], scene["end_s"]) >= 0.5 * (scene["end_s"] - scene["start_s"])
    assert video.pixels.shape == (len(scenes), 3, SIDE, SIDE)


@pytest.mark.parametrize("name", ["scenes.mp4", "talk.mp4"])
def test_streams_with_frequent_keyframes_decode_only_the_keyframes(name):
    video = decode(name)  # keyframes every 1-2 s; only the last group is decoded whole
    assert video.stats.decoded <= 0.4 * video.stats.packets, video.stats


@pytest.mark.parametrize("name, sound", [("talk.mp4", True), ("clip.mov", True), ("clip.mkv", True)])
def test_the_sound_track_is_decoded_for_whisper(name, sound):
    video = decode(name)
    assert video.audio is not None and video.audio.dtype == np.float32
    assert abs(len(video.audio) / 16000 - MANIFEST[name]["duration_s"]) < 1.5


@pytest.mark.parametrize("name", ["scenes.mp4", "silent.webm"])
def test_a_video_without_sound_has_frames_only(name):
    assert decode(name).audio is None
    extracted = extract(os.fsencode(VIDEO / name), sniff_file(os.fsencode(VIDEO / name)), TinyJoint(), SETTINGS)
    assert extracted.modality is Modality.VIDEO and extracted.audio is None
    assert {c.kind for c in extracted.chunks} == {ChunkKind.FRAME}
    assert len(extracted.frames) == len(extracted.chunks)


def test_an_audio_only_container_stays_a_recording():
    path = os.fsencode(VIDEO / "voice.webm")
    assert probe(path) == (False, True)
    extracted = extract(path, sniff_file(path), TinyJoint(), SETTINGS)
    assert extracted.modality is Modality.AUDIO and extracted.audio is not None and extracted.frames is None


# --- limits ---------------------------------------------------------------------------------------
def test_a_video_over_the_resolution_cap_is_refused_before_decoding():
    with pytest.raises(ExtractionError, match="max_video_pixels"):
        decode("scenes.mp4", limits=VideoLimits(3600, max_pixels=100 * 100))


def test_a_video_over_the_duration_cap_is_refused():
    with pytest.raises(ExtractionError, match="max_video_seconds"):
        decode("talk.mp4", limits=VideoLimits(max_seconds=5.0, max_pixels=40_000_000))


def test_the_frame_cap_thins_frames_over_the_whole_video():
    video = decode("scenes.mp4", rules=SampleRules(0.1, 10.0, 0.12, max_frames=2))
    assert len(video.spans) <= 2 and video.spans[-1][1] == pytest.approx(6.0, abs=0.1)


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"max_video_frames": 0}, "max_video_frames"),
        ({"video_min_interval_s": 5.0, "video_max_interval_s": 2.0}, "video_max_interval_s"),
        ({"video_scene_threshold": 1.5}, "video_scene_threshold"),
        ({"max_video_seconds": -1}, "max_video_seconds"),
    ],
)
def test_meaningless_video_settings_are_refused(tmp_path, overrides, words):
    with pytest.raises(ConfigError, match=words):
        load_settings(tmp_path, overrides)


# --- damaged files --------------------------------------------------------------------------------
def test_a_truncated_video_is_an_error_saying_so(tmp_path):
    data = (VIDEO / "scenes.mp4").read_bytes()  # moov first: the index survives, the data does not
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExtractionError, match="truncated video"):
        decode("", path=path)


def test_a_video_cut_before_its_index_cannot_be_read(tmp_path):
    data = (VIDEO / "talk.mp4").read_bytes()  # moov at the end, as cameras write it
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExtractionError, match="cannot read video.*damaged or truncated"):
        extract(os.fsencode(path), sniff_file(os.fsencode(path)), TinyJoint(), SETTINGS)


def test_garbage_inside_a_video_is_an_error_not_a_crash(tmp_path):
    data = bytearray((VIDEO / "clip.mov").read_bytes())
    middle = len(data) // 3
    data[middle : middle + 2000] = np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path = tmp_path / "noisy.mov"
    path.write_bytes(bytes(data))
    with pytest.raises(ExtractionError, match="corrupt video"):
        decode("", path=path)


# --- capture date ---------------------------------------------------------------------------------
def test_the_recording_date_comes_from_the_container():
    stamp = creation_time(os.fsencode(VIDEO / "talk.mp4"))
    assert stamp is not None and stamp.isoformat().startswith("2024-05-17T10:30:00")


@pytest.mark.parametrize("value", [None, "", "yesterday", "1904-01-01T00:00:00Z", "1970-01-01 00:00:00"])
def test_missing_or_clockless_creation_times_are_none(value):
    assert parse_creation_time(value) is None


SETTINGS = DEFAULTS


def write_two_scenes(path: Path, codec: str) -> None:
    """Two seconds, red then blue, 128x96 at 10 fps."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(20):
            rgb = np.zeros((96, 128, 3), np.uint8)
            rgb[...] = (200, 30, 30) if i < 10 else (30, 30, 200)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.mark.parametrize("name, codec", [("hevc.mp4", "libx265"), ("old.avi", "mpeg4"), ("av1.mkv", "libsvtav1")])
def test_other_codecs_and_containers_are_videos_too(tmp_path, name, codec):
    path = tmp_path / name
    write_two_scenes(path, codec)
    assert sniff_file(os.fsencode(path)).modality is Modality.VIDEO
    video = decode("", path=path)
    assert [round(start) for start, _ in video.spans] == [0, 1]


def test_a_portrait_phone_video_reaches_the_model_upright(tmp_path):
    import av

    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as out:  # stored landscape, red left and blue right, shown turned 90°
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.set_display_rotation(90)
        rgb = np.zeros((96, 128, 3), np.uint8)
        rgb[:, :64], rgb[:, 64:] = (220, 20, 20), (20, 20, 220)
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    pixels = decode("", path=path).pixels[0].astype(np.float32)  # (3, side, side), channels first
    top, bottom = pixels[:, : SIDE // 2].mean(axis=(1, 2)), pixels[:, SIDE // 2 :].mean(axis=(1, 2))
    assert top[2] > top[0] and bottom[0] > bottom[2]  # a quarter turn counterclockwise: the right side on top


def test_a_long_decode_that_keeps_moving_outlives_the_file_timeout_and_a_stuck_one_does_not():
    import time

    from anyseek.indexer.workers import DecodePool, DecodeTimeout, still_working

    def slow(moving: bool) -> str:
        for _ in range(12):  # 1.2 s, over the 0.5 s limit
            time.sleep(0.1)
            if moving:
                still_working()
        return "done"

    pool = DecodePool(2, timeout_s=0.5)
    moving, stuck = pool.submit(slow, True), pool.submit(slow, False)
    deadline = time.monotonic() + 10
    while not (moving.done() and stuck.done()) and time.monotonic() < deadline:
        pool.reap_overdue()
        time.sleep(0.05)
    pool.shutdown()
    assert moving.result() == "done"
    with pytest.raises(DecodeTimeout):
        stuck.result()
