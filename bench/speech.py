"""Speech: anyseek indexing recordings against bare faster-whisper transcribing the same decoded audio
with the same settings (tiny.en, int8 on CPU, beam 1, word timestamps, VAD). The pipeline figure is the
whole `Engine.index` of the recordings (decode, transcribe, windows, embed the windows, store), so
everything anyseek adds counts against it. Goal: pipeline / bare <= 1.05. Real-time factor = seconds of
compute per second of audio. Runs alternate (bare, pipeline, bare, ...) and the medians are compared.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

from bench.common import ROOT, Result, cache_dir, load_joint, log, timed_index

FIXTURES = ROOT / "tests" / "fixtures" / "speech"


def recordings(repeat: int) -> Path:
    """The committed speech fixtures, each also as a longer recording (the clip repeated)."""
    import av
    import numpy as np

    from anyseek.media.audio import decode_audio

    folder = cache_dir(f"speech-x{repeat}")
    if not any(folder.glob("*.wav")):
        for source in sorted(FIXTURES.glob("*.*")):
            if source.suffix not in (".wav", ".mp3"):
                continue
            samples = decode_audio(bytes(source), 3600)
            gap = np.zeros(8000, np.float32)
            long = np.concatenate([np.concatenate([samples, gap])] * repeat)
            pcm = (np.clip(long, -1, 1) * 32767).astype(np.int16)
            with av.open(str(folder / f"{source.stem}-x{repeat}.wav"), "w") as out:
                stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
                frame = av.AudioFrame.from_ndarray(pcm[None], format="s16", layout="mono")
                frame.rate = 16000
                for packet in stream.encode(frame):
                    out.mux(packet)
                for packet in stream.encode(None):
                    out.mux(packet)
    return folder


def bare(model, files: list[Path]) -> float:
    from anyseek.media.audio import decode_audio

    start = time.perf_counter()
    for path in files:
        audio = decode_audio(bytes(path), 3600)
        segments, _ = model.transcribe(
            audio, language="en", beam_size=1, word_timestamps=True, vad_filter=True, condition_on_previous_text=False
        )
        for _ in segments:
            pass
    return time.perf_counter() - start


def pipeline(encoders, models: dict, folder: Path) -> float:
    seconds, report, home = timed_index(encoders, models, folder)
    shutil.rmtree(home, ignore_errors=True)
    if report.failed or not report.chunks:
        raise RuntimeError(f"speech benchmark index run went wrong: {report.to_dict()}")
    return seconds


def run(quick: bool = False) -> Result:
    from anyseek.media.audio import decode_audio

    repeat, rounds = (1, 2) if quick else (6, 3)
    result = Result("speech")
    folder = recordings(repeat)
    files = sorted(folder.glob("*.wav"))
    duration = sum(len(decode_audio(bytes(p), 3600)) for p in files) / 16000
    encoders, models = load_joint("ViT-S-32")
    encoders.text  # noqa: B018 - every model loaded before timing
    model = encoders.speech.model  # the very same CTranslate2 model object: same weights, threads, int8
    bare(model, files[:1])  # warm-up
    pipeline(encoders, models, folder)
    bare_s, pipe_s = [], []
    for _ in range(rounds):
        bare_s.append(bare(model, files))
        pipe_s.append(pipeline(encoders, models, folder))
        log(f"speech: bare {bare_s[-1]:.2f}s, pipeline {pipe_s[-1]:.2f}s for {duration:.0f}s of audio")
    b, p = statistics.median(bare_s), statistics.median(pipe_s)
    ratio = p / b
    result.figures = {
        "audio_seconds": duration,
        "files": [f.name for f in files],
        "bare_s": bare_s,
        "pipeline_s": pipe_s,
        "ratio": ratio,
        "rtf_bare": b / duration,
        "rtf_pipeline": p / duration,
    }
    result.row(f"bare faster-whisper tiny.en ({duration:.0f} s audio)", f"{b:.2f} s, RTF {b / duration:.3f}")
    result.row("anyseek index of the same recordings", f"{p:.2f} s, RTF {p / duration:.3f}")
    result.row("pipeline / bare", f"{ratio:.3f}", "<= 1.05", ratio <= 1.05)
    return result
