"""The models as the decode workers see them: loaded on first real use, so a run whose files all fail to
decode (or need no model) never pays for loading one."""

from __future__ import annotations

import threading

from anyseek.engine.records import Space


class ModelLoads:
    """Counts model loads under way in the decode workers: a file's decode timer must not run while the
    worker that holds it waits for a model to load (seconds to a minute, once per run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loading = 0
        self.finished = 0

    def resolve(self, get):
        with self._lock:
            self.loading += 1
        try:
            return get()
        finally:
            with self._lock:
                self.loading -= 1
                self.finished += 1


class LazyJoint:
    """The joint model as the decode workers see it, loaded on first real use: a run whose files all fail
    to decode (or need no model) never pays for loading one. The input size comes from the model's config
    when it can, since a JPEG is decoded at reduced scale before the model is needed."""

    def __init__(self, encoders, loads: ModelLoads) -> None:
        self._encoders, self._loads = encoders, loads
        self._image_size: int | None = None
        self._model = None

    @property
    def image_size(self) -> int:
        if self._image_size is None:
            from anyseek.engine.encoders.joint import configured_image_size

            try:
                self._image_size = configured_image_size(self._encoders.specs.joint_model)
            except (OSError, ValueError, KeyError):
                self._image_size = None
            self._image_size = self._image_size or self._get().image_size
        return self._image_size

    def _get(self):
        if self._model is None:
            self._model = self._loads.resolve(lambda: self._encoders.joint)
        return self._model

    def __getattr__(self, name: str):
        return getattr(self._get(), name)


class LazyWindow:
    """The passage window's model, loaded when the first text needs cutting."""

    def __init__(self, encoders, text_spaces: frozenset[Space], loads: ModelLoads) -> None:
        self._encoders, self._text_spaces, self._loads = encoders, text_spaces, loads
        self._model = None

    def __getattr__(self, name: str):
        if self._model is None:
            self._model = self._loads.resolve(lambda: self._encoders.document_window(self._text_spaces))
        return getattr(self._model, name)
