"""Video indexing throughput, in seconds of video per second, against the bare cost of the same work.

(a) bare: decode the same frames (the same packets through the same keyframe gate, no thumbnails, no
    sampler), scale and preprocess the frames the index kept, run the image tower on them in batches,
    decode the sound track, run Whisper on it and embed the same speech windows in both spaces;
(b) `Engine.index` of the folder end to end (scan, hash, sniff, probe for scene changes, decode, models,
    SQLite, FAISS), on a fresh index each round, models loaded.
Rounds alternate (a), (b), (a), ... and the medians are compared. Goal: (b)/(a) <= 1.1. (a) runs its
parts one after the other; (b) decodes in worker threads while the models run, so it can beat (a): the
models' time alone, the floor (b) would reach if decoding hid entirely behind them, is reported too.

Also measured, to show what the sampling saves: decoding every frame of the same videos (FFmpeg's
threads, no conversion), and the blind alternative of one frame a second at full size (decode all, RGB at
full resolution, resize): time and frames the model would get.

The videos (generated once into .cache/bench): demo scenes at 1280x720, 30 fps, a cut every 3-8 s, a slow
pan and sensor noise; half with a phone-like keyframe every second, half with x264's default (sparse
keyframes, one at each cut); half with a speech track (the speech fixtures, looped).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from anyseek.engine.settings import Settings
from bench.common import ROOT, Result, cache_dir, load_joint, log, timed_index

FPS = 30
SPEECH = ROOT / "tests" / "fixtures" / "speech"
GOAL = 1.1


def ensure_videos(count: int, seconds: int, width: int, height: int) -> tuple[Path, dict[str, list[float]]]:
    """The folder of videos, and the true cut times of each (kept beside it, not in it)."""
    folder = cache_dir(f"video-{count}x{seconds}s-{width}x{height}")
    truth = cache_dir(f"video-{count}x{seconds}s-{width}x{height}-cuts")
    cuts = {}
    for i in range(count):
        path = folder / f"clip{i:02d}.mp4"
        if not path.exists():
            log(f"generating {path.name} ({seconds} s, {width}x{height})")
            tmp = folder / f".clip{i:02d}.tmp.mp4"
            times = _write_video(tmp, i, seconds, width, height)
            (truth / f"{path.stem}.json").write_text(json.dumps(times))
            tmp.rename(path)
        cuts[path.name] = json.loads((truth / f"{path.stem}.json").read_text())
    return folder, cuts


def _write_video(path: Path, seed: int, seconds: int, width: int, height: int) -> list[float]:
    import av

    sys.path.insert(0, str(ROOT))
    from data.demo_scenes import COLOURS, SHAPES, draw_scene

    rng = np.random.default_rng(seed)
    noise = [rng.normal(0, 6, (height, width + 64, 3)).astype(np.int16) for _ in range(6)]
    phone = seed % 2 == 0
    options = {"preset": "veryfast", "crf": "26"}
    if phone:
        options |= {"g": str(FPS), "keyint_min": str(FPS), "sc_threshold": "0"}
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options=options)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=16000, layout="mono") if seed % 4 < 2 else None
        frame_index, t, cuts = 0, 0.0, []
        while t < seconds:
            cuts.append(frame_index / FPS)
            length = float(rng.uniform(3, 8))
            scene = draw_scene(rng.choice(list(COLOURS)), rng.choice(SHAPES), seed=int(rng.integers(1 << 30)))
            canvas = np.asarray(scene.resize((height, height)), np.int16)
            wide = np.zeros((height, width + 64, 3), np.int16) + canvas[:, :1].mean(axis=(0, 1)).astype(np.int16)
            left = (width + 64 - height) // 2
            wide[:, left : left + height] = canvas
            for k in range(int(min(length, seconds - t) * FPS)):
                shift = (k // 2) % 64  # a slow pan
                pixels = wide[:, shift : shift + width] + noise[frame_index % 6][:, :width]
                frame = av.VideoFrame.from_ndarray(np.clip(pixels, 0, 255).astype(np.uint8), format="rgb24")
                frame.pts, frame.time_base = frame_index, Fraction(1, FPS)
                out.mux(video.encode(frame))
                frame_index += 1
            t += length
        out.mux(video.encode(None))
        if audio is not None:
            _add_speech(out, audio, seconds)
    return cuts


def _add_speech(out, audio, seconds: int) -> None:
    import av

    from anyseek.media.audio import decode_audio

    clips = [decode_audio(bytes(SPEECH / n), 60) for n in ("meeting.mp3", "budget.wav", "weather.ogg")]
    gap = np.zeros(16000, np.float32)
    track = np.concatenate([np.concatenate([c, gap]) for c in clips] * (seconds // 20 + 1))[: seconds * 16000]
    pcm = (np.clip(track, -1, 1) * 32767).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(pcm[None], format="s16", layout="mono")
    frame.rate, frame.pts, frame.time_base = 16000, 0, Fraction(1, 16000)
    resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=16000)
    for part in resampler.resample(frame) + resampler.resample(None):
        out.mux(audio.encode(part))
    out.mux(audio.encode(None))


# --- (b) the pipeline -------------------------------------------------------------------------------
def pipeline(encoders, models: dict, folder: Path) -> tuple[float, Path]:
    seconds, report, home = timed_index(encoders, models, folder)
    if report.failed or not report.chunks:
        raise RuntimeError(f"video benchmark index run went wrong: {report.to_dict()}")
    return seconds, home


def kept_work(home: Path) -> dict[str, dict]:
    """What the index kept per file: frame times and speech window texts."""
    import sqlite3

    out: dict[str, dict] = {}
    with sqlite3.connect(home / "anyseek.db") as db:
        rows = db.execute("SELECT i.path, c.kind, c.start_s, c.text FROM chunks c JOIN items i ON i.id = c.item_id")
        for path, kind, start, text in rows:
            entry = out.setdefault(Path(path.decode()).name, {"frames": [], "speech": []})
            entry["frames" if kind == "frame" else "speech"].append(start if kind == "frame" else text)
    return out


# --- (a) bare ---------------------------------------------------------------------------------------
def bare(encoders, folder: Path, kept: dict[str, dict], image_batch: int) -> tuple[float, float]:
    """Seconds decoding, seconds in the models; one after the other, nothing overlapped."""
    from anyseek.media.audio import AudioCollector

    joint = encoders.joint
    start = time.perf_counter()
    decoded = [
        (kept[path.name], *_bare_decode(path, set(kept[path.name]["frames"]), joint, AudioCollector(7200)))
        for path in sorted(folder.glob("*.mp4"))
    ]
    middle = time.perf_counter()
    for work, pixels, audio in decoded:
        for i in range(0, len(pixels), image_batch):
            joint.encode_images(np.stack(pixels[i : i + image_batch]).astype(np.float32))
        if len(audio) >= 1600:
            encoders.speech.transcribe(audio)
        if work["speech"]:
            joint.encode_texts(work["speech"])
            encoders.text.encode_texts(work["speech"])
    return middle - start, time.perf_counter() - middle


def _bare_decode(path: Path, times: set[float], joint, collector) -> tuple[list[np.ndarray], np.ndarray]:
    import av
    from PIL import Image

    from anyseek.media.scenes import KeyframeGate
    from anyseek.media.video import DENSE_GOP_S

    wanted = {round(t, 3) for t in times}
    pixels: list[np.ndarray] = []
    side = joint.image_size
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        sound = container.streams.audio[0] if container.streams.audio else None
        gate = KeyframeGate(DENSE_GOP_S)

        def decode(packet) -> None:
            for frame in video.decode(packet):
                if round(float(frame.pts * video.time_base), 3) in wanted:
                    scale = side / min(frame.width, frame.height)
                    size = (round(frame.width * scale), round(frame.height * scale))
                    rgb = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="AREA")
                    pixels.append(joint.preprocess(Image.fromarray(rgb.to_ndarray())))

        for packet in container.demux(*([video, sound] if sound else [video])):
            if not packet.size:
                continue
            if packet.stream is video:
                stamp = packet.pts if packet.pts is not None else packet.dts
                for chosen in gate.push(packet, packet.is_keyframe, float(stamp * packet.time_base)):
                    decode(chosen)
            else:
                for frame in sound.decode(packet):
                    collector.add(frame)
        for packet in gate.finish():
            decode(packet)
        decode(None)
    return pixels, collector.finish()


# --- what sampling saves ----------------------------------------------------------------------------
def decode_everything(folder: Path) -> tuple[float, int]:
    import av

    start, frames = time.perf_counter(), 0
    for path in sorted(folder.glob("*.mp4")):
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            for _ in container.decode(video):
                frames += 1
    return time.perf_counter() - start, frames


def sampling_only(folder: Path, joint) -> tuple[float, int, int]:
    """anyseek's own decoding, no model: the keyframe gate, the probes and the kept frames' model inputs."""
    from anyseek.indexer.extract import video_rules
    from anyseek.media.video import decode_video

    rules, limits = video_rules(Settings())
    start, decoded, kept = time.perf_counter(), 0, 0
    for path in sorted(folder.glob("*.mp4")):
        video = decode_video(bytes(path), rules, limits, joint.preprocess, joint.image_size)
        decoded += video.stats.decoded
        kept += len(video.spans)
    return time.perf_counter() - start, decoded, kept


def one_per_second(folder: Path, joint) -> tuple[float, int]:
    """The blind way: every frame decoded, one a second converted to RGB at full size and preprocessed."""
    import av

    start, taken = time.perf_counter(), 0
    for path in sorted(folder.glob("*.mp4")):
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            next_t = 0.0
            for frame in container.decode(video):
                if frame.pts * video.time_base >= next_t:
                    joint.preprocess(frame.to_image())
                    taken += 1
                    next_t += 1.0
    return time.perf_counter() - start, taken


def run(quick: bool = False) -> Result:
    count, seconds, (width, height), rounds = (2, 12, (640, 360), 1) if quick else (4, 40, (1280, 720), 3)
    result = Result("video")
    folder, cuts = ensure_videos(count, seconds, width, height)
    duration = float(count * seconds)
    encoders, models = load_joint("ViT-B-32")
    encoders.text, encoders.speech  # noqa: B018 - every model loaded before timing
    _, home = pipeline(encoders, models, folder)  # warm-up; its index says which frames were kept
    kept = kept_work(home)
    shutil.rmtree(home, ignore_errors=True)
    image_batch = Settings().image_batch
    frames = sum(len(k["frames"]) for k in kept.values())
    found = [  # a frame at the cut (stored times are rounded to ms) or within a second after it
        any(-0.01 <= t - cut <= 1.0 for t in kept[name]["frames"]) for name, times in cuts.items() for cut in times
    ]
    bare_s, pipe_s, model_s = [], [], []
    for _ in range(rounds):
        decode_s, models_s = bare(encoders, folder, kept, image_batch)
        bare_s.append(decode_s + models_s)
        model_s.append(models_s)
        seconds_b, home = pipeline(encoders, models, folder)
        shutil.rmtree(home, ignore_errors=True)
        pipe_s.append(seconds_b)
        log(f"video: bare {bare_s[-1]:.2f}s, pipeline {pipe_s[-1]:.2f}s for {duration:.0f}s of video")
    every_s, every_frames = decode_everything(folder)
    blind_s, blind_frames = one_per_second(folder, encoders.joint)
    sampling_s, decoded, _ = sampling_only(folder, encoders.joint)
    b, p, m = statistics.median(bare_s), statistics.median(pipe_s), statistics.median(model_s)
    ratio = p / b
    result.figures = {
        "videos": count,
        "video_seconds": duration,
        "size": [width, height],
        "frames_kept": frames,
        "frames_total": every_frames,
        "scenes": len(found),
        "scenes_with_a_frame_within_1s": sum(found),
        "bare_s": bare_s,
        "pipeline_s": pipe_s,
        "ratio": ratio,
        "models_s": model_s,
        "ratio_to_models": p / m,
        "decode_every_frame_s": every_s,
        "one_per_second_s": blind_s,
        "one_per_second_frames": blind_frames,
        "sampling_only_s": sampling_s,
        "packets_decoded": decoded,
    }
    result.row(
        f"{count} videos, {duration:.0f} s at {width}x{height} {FPS} fps",
        f"{frames} frames kept of {every_frames}; {sum(found)} of {len(found)} scenes have one within 1 s of the cut",
    )
    result.row("(a) bare: same frames decoded + models", f"{b:.2f} s = {duration / b:.1f} s of video/s")
    result.row("(b) anyseek index end to end", f"{p:.2f} s = {duration / p:.1f} s of video/s")
    result.row("(b)/(a)", f"{ratio:.3f}", f"<= {GOAL}", ratio <= GOAL)
    result.row(
        "(b) / the models alone (the floor if decoding hid entirely behind them)",
        f"{p / m:.3f} (models {m:.2f} s)",
    )
    result.row(
        "no model: anyseek's sampling (gate, probes, kept frames)",
        f"{sampling_s:.2f} s, {decoded} of {every_frames} frames decoded",
    )
    result.row("no model: decoding every frame", f"{every_s:.2f} s")
    result.row("no model: 1 frame a second at full size", f"{blind_s:.2f} s, {blind_frames} frames for the model")
    result.row("bare runs / pipeline runs", ", ".join(f"{b:.1f}/{p:.1f}" for b, p in zip(bare_s, pipe_s)))
    return result
