"""Encoders, loaded lazily and once: importing this package loads no model."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from anyseek.engine import faults
from anyseek.engine.encoders.base import Fingerprint
from anyseek.engine.encoders.device import resolve_device
from anyseek.engine.records import Space
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
        self._joint = self._text = self._speech = self._ocr = None
        self._device: str | None = None
        self._torch_ready = False
        self._query: dict[str, object] = {}  # role -> torch-free text tower for queries, or None if there is none
        self._models_preferred = False

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = resolve_device(self.settings.device)
        return self._device

    def _prepare_torch(self) -> str:
        """Called before a model loads (torch is about to be imported anyway)."""
        device = self.device
        if not self._torch_ready:
            self._torch_ready = True
            if self.settings.torch_threads:
                import torch

                torch.set_num_threads(self.settings.torch_threads)
        return device

    def for_text_query(self, space: str):
        """What embeds a text query in the `joint` or `text` space (a Space, or its name): the model when
        it is loaded already; else its exported text tower on ONNX Runtime when there is one (a search in a
        fresh process then imports no torch, see query_runtime.py); else the model, loaded now, whose text
        tower is then exported for the next process. The model that fills a space has its name as role."""
        role = str(space)
        with self._lock:
            loaded = self._joint if role == "joint" else self._text
            if loaded is not None:
                return loaded
            if role not in self._query:
                self._query[role] = self._load_query_runtime(role)
            runtime = self._query[role]
        if runtime is not None:
            return runtime
        model = self.joint if role == "joint" else self.text
        if role == "joint" and self._query_runtime_allowed(role):
            from anyseek.engine.encoders import query_runtime

            specs = self.specs
            query_runtime.record_joint(model, query_runtime.joint_key(specs.joint_model, specs.joint_pretrained))
        return model

    def for_image_query(self):
        """What embeds an image query in the joint space (preprocess + encode_images): the model when it is
        loaded already; else its exported image tower on ONNX Runtime (see query_images.py); else the
        model, loaded now, whose image tower is then exported for the next process."""
        with self._lock:
            if self._joint is not None:
                return self._joint
            if "joint-image" not in self._query:
                self._query["joint-image"] = self._load_image_runtime()
            runtime = self._query["joint-image"]
        if runtime is not None:
            return runtime
        model = self.joint
        if self._query_runtime_allowed("joint"):
            from anyseek.engine.encoders import query_images, query_runtime

            query_images.record(model, query_runtime.joint_key(self.specs.joint_model, self.specs.joint_pretrained))
        return model

    def _load_image_runtime(self):
        if not self._query_runtime_allowed("joint"):
            return None
        from anyseek.engine.encoders import query_images, query_runtime

        key = query_runtime.joint_key(self.specs.joint_model, self.specs.joint_pretrained)
        runtime = query_images.load(key, self.settings.torch_threads or 1)
        if runtime is not None:
            self._on_load(runtime.fingerprint)  # the same checks as the model: it must be the index's
        return runtime

    def prefer_models(self) -> None:
        """Text queries load the models from now on (Engine.warm: a long-lived process)."""
        self._models_preferred = True

    def _query_runtime_allowed(self, role: str) -> bool:
        settings = self.settings
        if self._models_preferred or settings.query_runtime != "auto":
            return False
        return self.device == "cpu" and (role == "joint" or settings.text_runtime == "auto")

    def _load_query_runtime(self, role: str):
        if not self._query_runtime_allowed(role):
            return None
        from anyseek.engine.encoders import query_runtime

        if role == "joint":
            key = query_runtime.joint_key(self.specs.joint_model, self.specs.joint_pretrained)
        else:
            key = query_runtime.text_key(self.specs.text_model)
        # One thread unless told otherwise: a second one made a demo-index search 3-4x slower on 2 cores
        # (ONNX Runtime's spinning pool against FAISS's OpenMP team), and ViT-B-32's tower takes ~80 ms on one
        runtime = query_runtime.load(role, key, self.settings.torch_threads or 1)
        if runtime is not None:
            self._on_load(runtime.fingerprint)  # the same checks as the model: it must be the index's
        return runtime

    @property
    def joint(self):
        with self._lock:
            if self._joint is None:
                from anyseek.engine.encoders.joint import ClipEncoder

                log.info("loading joint model %s (%s)", self.specs.joint_model, self.specs.joint_pretrained)
                faults.checkpoint("model.load")
                joint = ClipEncoder(self.specs.joint_model, self.specs.joint_pretrained, self._prepare_torch())
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
                    self._prepare_torch(),
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
                speech = WhisperTranscriber(self.specs.speech_model, self._prepare_torch(), self.settings.torch_threads)
                self._on_load(speech.fingerprint)
                self._speech = speech
            return self._speech

    @property
    def ocr(self):
        """The OCR models (engine/encoders/ocr.py). Not one of the index's recorded models: its text goes
        into the text spaces like any passage, and another OCR model reads the pictures again instead of
        being refused (indexer/pipeline.py)."""
        with self._lock:
            if self._ocr is None:
                from anyseek.engine.encoders.ocr import OcrModel

                log.info("loading the OCR models")
                self._ocr = OcrModel()
            return self._ocr

    def passage_window(self, text_spaces: frozenset[Space]):
        """The model whose token window cuts speech windows: the joint model's (77 tokens) when text goes
        into the joint space, else the text model's own (short windows seek precisely)."""
        return self.joint if Space.JOINT in text_spaces else self.text

    def document_window(self, text_spaces: frozenset[Space]):
        """The model whose token window cuts document passages: the text model's whenever text goes into
        the text space, which ranks documents (see engine/search/routing.py); cut to the joint model's
        77 tokens (24 for the demo model), passages became fragments that neither MiniLM nor BM25 could
        match well (bench/quality.py). The joint space embeds a longer passage as the mean of its pieces."""
        return self.text if Space.TEXT in text_spaces else self.joint

    def attach(self, on_load: Callable[[Fingerprint], None]) -> None:
        """Hand a shared EncoderSet to another index: its checks run now for the models already loaded."""
        self._on_load = on_load
        for fingerprint in self.loaded():
            on_load(fingerprint)

    def report_loaded(self, fingerprint: Fingerprint) -> None:
        """A model of this set loaded in another process (a Ray worker): the index records and checks it as
        if it had loaded here, before any of its vectors are written."""
        self._on_load(fingerprint)

    def loaded(self) -> list[Fingerprint]:
        models = (self._joint, self._text, self._speech, *self._query.values())
        return list(dict.fromkeys(m.fingerprint for m in models if m is not None))
