"""Reference sets: what each model makes of targets that come from no user's folder (calibration.py).

Three kinds, one per route a query can take:
- `text`: the text model's vectors of generated passages (reference_text.py), for documents and speech;
- `joint-text`: the joint model's text vectors of the same passages, for documents reached through the
  joint space (a query holding a photo);
- `joint-image`: the joint model's vectors of generated pictures (reference_images.py), for photos and
  video frames.

Each is computed once per model at first use and cached like the ONNX exports (ANYSEEK_CACHE, else
~/.cache/anyseek, folder `null/`), keyed by the same model key as the query runtimes (name, weight
files' size and mtime, library version) plus REFERENCE_VERSION: new weights or a new generator make new
files. Indexing computes the kinds of the models it loaded (their cost hides in the run); a search that
finds one missing computes it with the encoder it has (once; a few seconds on a CPU), and a search whose
encoders cannot say which model they are (tests' fixed encoders) gets none and measures against the
index alone.
"""

from __future__ import annotations

import io
import logging
import threading

import numpy as np

from anyseek.engine.records import Space
from anyseek.engine.search.routing import VISUAL, Route

log = logging.getLogger(__name__)

REFERENCE_VERSION = 1
TEXT, JOINT_TEXT, JOINT_IMAGE = "text", "joint-text", "joint-image"
BATCH = 64


def kind_of(route: Route) -> str:
    if route.space is Space.TEXT:
        return TEXT
    return JOINT_IMAGE if route.kinds == VISUAL else JOINT_TEXT


class References:
    """The reference vectors of one index's models, loaded or computed on first use."""

    def __init__(self, encoders) -> None:
        self.encoders = encoders
        self._vectors: dict[str, np.ndarray | None] = {}
        self._lock = threading.Lock()

    def vectors(self, route: Route, dim: int) -> np.ndarray | None:
        """The route's reference vectors (unit rows, `dim` wide), or None when there can be none."""
        return self.vectors_of(kind_of(route), dim)

    def vectors_of(self, kind: str, dim: int) -> np.ndarray | None:
        """One kind's reference vectors (TEXT, JOINT_TEXT, JOINT_IMAGE)."""
        if kind not in self._vectors:
            with self._lock:
                if kind not in self._vectors:
                    self._vectors[kind] = self._load_or_build(kind, dim)
        return self._vectors[kind]

    def prepare(self, loaded: set[str]) -> None:
        """Compute the missing reference sets of the models already loaded (`joint`, `text`): called after
        indexing, so a later search never waits for them."""
        for kind, role in ((TEXT, "text"), (JOINT_TEXT, "joint"), (JOINT_IMAGE, "joint")):
            if role in loaded:
                self.vectors_of(kind, 0)

    def _load_or_build(self, kind: str, dim: int) -> np.ndarray | None:
        path = self._path(kind)
        if path is None:
            return None
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.ndim == 2 and (not dim or vectors.shape[1] == dim):
                return vectors.astype(np.float32)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:  # damaged: computed again below
            log.info("reference set %s unreadable (%s); computing it again", path, exc)
        try:
            vectors = self._build(kind)
        except Exception as exc:  # noqa: BLE001 - calibration falls back to the index's own targets
            log.warning("cannot compute the %s reference set (%s); scores use the index alone", kind, exc)
            return None
        if dim and vectors.shape[1] != dim:
            return None
        from anyseek.engine.encoders.query_runtime import write_atomic

        buffer = io.BytesIO()
        np.save(buffer, vectors.astype(np.float16))
        write_atomic(path, buffer.getvalue())
        return vectors

    def _build(self, kind: str) -> np.ndarray:
        log.info("computing the %s reference set for score calibration (once per model)", kind)
        if kind == JOINT_IMAGE:
            from anyseek.engine.search.reference_images import pictures

            encoder = self.encoders.for_image_query()
            images = pictures()
            parts = [
                encoder.encode_images(np.stack([encoder.preprocess(image) for image in images[s : s + BATCH]]))
                for s in range(0, len(images), BATCH)
            ]
        else:
            from anyseek.engine.search.reference_text import passages

            encoder = self.encoders.for_text_query("text" if kind == TEXT else "joint")
            texts = passages()
            parts = [encoder.encode_texts(texts[s : s + BATCH]) for s in range(0, len(texts), BATCH)]
        return np.concatenate(parts).astype(np.float32)

    def _path(self, kind: str):
        specs = getattr(self.encoders, "specs", None)
        if specs is None:
            return None
        from anyseek.engine.encoders.onnx_text import cache_root
        from anyseek.engine.encoders.query_runtime import joint_key, text_key

        key = text_key(specs.text_model) if kind == TEXT else joint_key(specs.joint_model, specs.joint_pretrained)
        return cache_root() / "null" / f"{kind}-v{REFERENCE_VERSION}-{key}.npy"
