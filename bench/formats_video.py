"""A video with subtitles: indexing time with Whisper and without it, and how far each hit's times are from
the truth (see bench/formats.py, part 3)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Result, log

FIXTURES = ROOT / "tests" / "fixtures"
TEST_MODELS = {"joint_model": "ViT-S-32", "joint_pretrained": "random", "device": "cpu"}


_ENCODERS = []


def encoders():
    """One set of models for every run (loaded once, Whisper included), as a long-lived process has."""
    if not _ENCODERS:
        from anyseek.engine.encoders import EncoderSet
        from anyseek.engine.settings import ModelSpecs, load_settings

        settings = load_settings(Path("/nonexistent"), TEST_MODELS)
        models = {k: v for k, v in TEST_MODELS.items() if k != "device"}
        _ENCODERS.append(EncoderSet(ModelSpecs(**models), settings))
    return _ENCODERS[0]


def long_talk(target: Path, repeats: int) -> list[tuple[float, float, str]]:
    """talk.mp4 played `repeats` times in a row (packets copied, timestamps shifted), and the true times of
    its sentences in the result."""
    import av

    truth = json.loads((FIXTURES / "speech" / "manifest.json").read_text())["files"]["meeting.mp3"]["sentences"]
    with av.open(str(FIXTURES / "video" / "talk.mp4")) as source:
        period = source.duration / 1e6 + 0.2  # a short gap between plays
        packets = [p for p in source.demux() if p.dts is not None]
        with av.open(str(target), "w") as out:
            streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
            for play in range(repeats):
                for packet in packets:
                    shift = round(play * period / packet.time_base)
                    copy = av.Packet(bytes(packet))
                    copy.stream, copy.time_base = streams[packet.stream.index], packet.time_base
                    copy.pts, copy.dts = packet.pts + shift, packet.dts + shift
                    copy.duration, copy.is_keyframe = packet.duration, packet.is_keyframe
                    out.mux(copy)
    return [(s["start_s"] + k * period, s["end_s"] + k * period, s["text"]) for k in range(repeats) for s in truth]


def _index(folder: Path, **settings) -> tuple[float, list]:
    from anyseek.engine import Engine

    with tempfile.TemporaryDirectory(prefix="anyseek-bench-video-") as home:
        engine = Engine.open(home, encoders=encoders(), **TEST_MODELS, **settings)
        engine.encoders.speech  # noqa: B018 - load Whisper outside the timing, as the text models are
        start = time.perf_counter()
        engine.index([folder])
        seconds = time.perf_counter() - start
        videos = [i for i in engine.store.items_under([os.fsencode(folder)]).values() if i.status == "ok"]
        chunks = [c for item in videos for c in engine.item(item.id).chunks]
        engine.close()
    return seconds, chunks


def _errors(starts: list[float], truth: list[tuple[float, float, str]]) -> list[float]:
    """For each true sentence, how far the nearest hit start is from its start."""
    return [min(abs(s - true) for s in starts) if starts else float("inf") for true, _, _ in truth]


def subtitles_against_whisper(work: Path, repeats: int, rounds: int, result: Result) -> None:
    from tests.fixtures.make_everyday_fixtures import srt

    folder = work / "film"
    folder.mkdir()
    truth = long_talk(folder / "talk.mp4", repeats)
    (folder / "talk.srt").write_text(srt(truth))
    embedded = work / "embedded"
    embedded.mkdir()
    _remux_with_track(folder / "talk.mp4", truth, embedded / "talk.mkv")
    times: dict[str, list[float]] = {"whisper": [], "subtitles": []}
    chunks: dict[str, list] = {}
    _index(embedded)  # loads the models and warms the decoders: not counted
    for r in range(rounds):
        for mode in ("whisper", "subtitles") if r % 2 == 0 else ("subtitles", "whisper"):
            seconds, chunks[mode] = _index(folder, subtitles_replace_speech=mode == "subtitles")
            times[mode].append(seconds)
            log(f"round {r + 1}/{rounds} {mode}: {seconds:.1f} s")
    _, chunks["embedded"] = _index(embedded)
    duration = truth[-1][1]
    whisper_s, subtitles_s = statistics.median(times["whisper"]), statistics.median(times["subtitles"])
    starts = {
        "cues beside the video (SRT)": [c.start_s for c in chunks["subtitles"] if c.kind == "cue"],
        "cues of the MKV's own track": [c.start_s for c in chunks["embedded"] if c.kind == "cue"],
        "Whisper windows (tiny.en)": [c.start_s for c in chunks["whisper"] if c.kind == "speech"],
    }
    errors = {name: _errors(found, truth) for name, found in starts.items()}
    result.figures["video"] = {"duration_s": duration, "seconds": times, "errors_s": errors}
    result.row(
        f"`anyseek index` of a {duration:.0f} s video with an SRT beside it, median of {rounds}",
        f"with Whisper {whisper_s:.1f} s, subtitles only {subtitles_s:.1f} s: {whisper_s / subtitles_s:.1f}x faster",
    )
    for name, values in errors.items():
        result.row(
            f"{name}: |hit start − true sentence start| over {len(truth)} sentences",
            f"median {statistics.median(values):.3f} s, max {max(values):.3f} s",
            "≤ 0.2 s" if "cue" in name else "",
            max(values) <= 0.2 if "cue" in name else None,
        )


def _remux_with_track(video: Path, cues: list[tuple[float, float, str]], target: Path) -> None:
    """The same video in an MKV with the cues as its own SubRip track."""
    import fractions

    import av

    with av.open(str(video)) as source, av.open(str(target), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
        track = out.add_stream("subrip")
        track.codec_context.subtitle_header = b"[Script Info]\nScriptType: v4.00+\n"
        track.time_base = fractions.Fraction(1, 1000)
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
        for start, end, words in cues:
            packet = av.Packet(words.encode())
            packet.stream, packet.time_base = track, track.time_base
            packet.pts = packet.dts = round(start * 1000)
            packet.duration = round((end - start) * 1000)
            out.mux(packet)
