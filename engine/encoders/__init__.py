"""Encoders, loaded lazily and once: importing this package loads no model."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from anyseek.engine import faults
from anyseek.engine.encoders.base import Fingerprint
from anyseek.engine.encoders.device import resolve_device
from anyseek.engine.settings import ModelSpecs, Settings

log = logging.getLogger(__name__)

__all__ = ["EncoderSet", "Fingerprint"]


class EncoderSet:
    """The models of one index. Each loads on first use, so a text-only search never loads Whisper."""

    def __init__(
        self, specs: ModelSpecs, settings: Settings, on_load: Callable[[Fingerprint], None] | None = None
    ) -> None:
        self.specs = specs
        self.settings = settings
        self._on_load = on_load or (lambda _fingerprint: None)
        self._lock = threading.Lock()
        self._joint = self._text = self._speech = None
        self._device: str | None = None

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = resolve_device(self.settings.device)
            if self.settings.torch_threads:
                import torch

                torch.set_num_threads(self.settings.torch_threads)
        return self._device

    @property
    def joint(self):
        with self._lock:
            if self._joint is None:
                from anyseek.engine.encoders.joint import ClipEncoder

                log.info("loading joint model %s (%s)", self.specs.joint_model, self.specs.joint_pretrained)
                faults.checkpoint("model.load")
                joint = ClipEncoder(self.specs.joint_model, self.specs.joint_pretrained, self.device)
                self._on_load(joint.fingerprint)  # may refuse a model that differs from the index's
                self._joint = joint
            return self._joint

    @property
    def text(self):
        with self._lock:
            if self._text is None:
                from anyseek.engine.encoders.text import SentenceEncoder

                log.info("loading text model %s", self.specs.text_model)
                text = SentenceEncoder(
                    self.specs.text_model,
                    self.device,
                    self.settings.text_batch,
                    self.settings.text_runtime,
                    self.settings.torch_threads,
                )
                self._on_load(text.fingerprint)
                self._text = text
            return self._text

    @property
    def speech(self):
        with self._lock:
            if self._speech is None:
                from anyseek.engine.encoders.speech import WhisperTranscriber

                log.info("loading speech model %s", self.specs.speech_model)
                speech = WhisperTranscriber(self.specs.speech_model, self.device, self.settings.torch_threads)
                self._on_load(speech.fingerprint)
                self._speech = speech
            return self._speech

    def passage_window(self, text_spaces: str):
        """The model whose token window cuts speech windows: the joint model's (77 tokens) when text goes
        into the joint space, else the text model's own (short windows seek precisely)."""
        return self.joint if "joint" in text_spaces.split(",") else self.text

    def document_window(self, text_spaces: str):
        """The model whose token window cuts document passages: the text model's whenever text goes into
        the text space, which ranks documents (see engine/search/routing.py); cut to the joint model's
        77 tokens (24 for the demo model), passages became fragments that neither MiniLM nor BM25 could
        match well (bench/quality.py). The joint space embeds a longer passage as the mean of its pieces."""
        return self.text if "text" in text_spaces.split(",") else self.joint

    def attach(self, on_load: Callable[[Fingerprint], None]) -> None:
        """Hand a shared EncoderSet to another index: its checks run now for the models already loaded."""
        self._on_load = on_load
        for fingerprint in self.loaded():
            on_load(fingerprint)

    def loaded(self) -> list[Fingerprint]:
        return [m.fingerprint for m in (self._joint, self._text, self._speech) if m is not None]
