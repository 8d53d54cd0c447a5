"""The text space's model on ONNX Runtime, for CPU.

The same sentence-transformers model, exported once to ONNX (transformer, pooling and normalisation in one
graph) and cached on disk under a key made from its weights. On CPU it is ~1.3x PyTorch for MiniLM
(bench/txtai_compare.py): ONNX Runtime runs the whole graph in C++ with fused kernels, and single-threaded
sessions on mini-batches in parallel use small cores better than one batch split across an OpenMP team.
Anything unexpected (an export the model does not survive, vectors that differ from PyTorch's) falls back
to PyTorch: this path may only make indexing faster, never different or broken.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from anyseek.engine.paths import cache_root

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the exported graph changes shape or meaning
MINI_BATCH = 16  # texts per session run: measured best on 2 cores (16: 83/s, 32: 69/s, 64: 59/s)
PROBES = ["a", "How often should tomatoes be watered in a hot summer?", "word " * 400]
MIN_PROBE_COSINE = 0.99999


class OnnxTextRunner:
    """encode(texts) -> unit vectors, as SentenceTransformer.encode(normalize_embeddings=True) gives them."""

    def __init__(self, session, tokenize, dim: int, threads: int, path: Path) -> None:
        self._session, self._tokenize, self.dim, self.path = session, tokenize, dim, path
        self._tokenize_lock = threading.Lock()  # the model's tokenizer is not safe to share across threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="anyseek-onnx") if threads > 1 else None

    @classmethod
    def build(cls, model, dim: int, threads: int) -> OnnxTextRunner | None:
        """An ONNX runner equivalent to `model` (a SentenceTransformer on CPU), or None to keep PyTorch."""
        try:
            import onnxruntime  # noqa: F401 - only whether it is installed
        except ImportError:
            return None
        try:
            tokenize = tokenizer_of(model)
            path = _exported(model, tokenize)
            # one thread per session: parallel across mini-batches instead; see the module docstring
            try:
                session = cpu_session(path, threads=1)
            except Exception:  # noqa: BLE001 - a damaged cache file (disk full, say): export it again once
                path.unlink(missing_ok=True)
                _marker(path).unlink(missing_ok=True)
                path = _exported(model, tokenize)
                session = cpu_session(path, threads=1)
            runner = cls(session, tokenize, dim, threads, path)
            if not _verified(path) and not runner._matches(model):
                log.warning("ONNX export of the text model differs from PyTorch; using PyTorch")
                runner.close()
                return None
            _mark_verified(path)
            return runner
        except Exception as exc:  # noqa: BLE001 - an optional speed-up: any failure means "use PyTorch"
            log.info("text model stays on PyTorch (ONNX Runtime path unavailable: %s)", exc)
            log.debug("ONNX export failed", exc_info=True)
            return None

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
        batches = [order[i : i + MINI_BATCH] for i in range(0, len(order), MINI_BATCH)]
        # tokenize here, under a lock: a fast tokenizer fails ("Already borrowed") when called concurrently
        with self._tokenize_lock:
            feeds = [self._tokenize([texts[j] for j in batch]) for batch in batches]
        runs = self._pool.map(self._run, feeds) if self._pool and len(feeds) > 1 else map(self._run, feeds)
        for batch, vectors in zip(batches, runs):
            out[batch] = vectors
        return out

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=False)

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self._session.run(None, feed)[0]

    def _matches(self, model) -> bool:
        reference = model.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return bool(np.min(np.sum(reference * self.encode(PROBES), axis=1)) >= MIN_PROBE_COSINE)


def cpu_session(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_onnx(module, inputs: tuple, path: Path, dynamic_axes: dict) -> None:
    """`module` (whose output is "embedding", batch first) as an ONNX graph at `path`, written to a
    temporary file and renamed: a concurrent or killed export never leaves half a file under the name."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=".onnx")
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                inputs,
                tmp,
                input_names=list(dynamic_axes),
                output_names=["embedding"],
                dynamic_axes={**dynamic_axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def export_tower(model, encode: str, sample, path: Path, input_name: str) -> None:
    """`model.<encode>(x, normalize=True)` (open_clip's encode_text or encode_image) as an ONNX graph at
    `path`, batch size dynamic."""
    import torch

    class Tower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model  # a submodule: its weights become initialisers, not traced constants

        def forward(self, inputs):
            return getattr(self.model, encode)(inputs, normalize=True)

    export_onnx(Tower(), (sample,), path, {input_name: {0: "batch"}})


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _verified(path: Path) -> bool:
    """The parity check belongs to the export, not to every start: once an exported file gave PyTorch's
    vectors, a marker next to it says so (the file name is a hash of the weights and toolchain, so a marker
    can only vouch for the very file it was written for)."""
    return _marker(path).is_file()


def _mark_verified(path: Path) -> None:
    if not _verified(path):
        try:
            _marker(path).write_text(f"matches PyTorch to cosine >= {MIN_PROBE_COSINE}\n")
        except OSError as exc:  # a read-only cache only costs the check again next time
            log.info("cannot record the ONNX parity check: %s", exc)


def tokenizer_of(model):
    preprocess = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 6 / older

    def tokenize(texts: list[str]) -> dict[str, np.ndarray]:
        features = preprocess(texts)
        return {
            "input_ids": features["input_ids"].numpy().astype(np.int64),
            "attention_mask": features["attention_mask"].numpy().astype(np.int64),
        }

    return tokenize


def _weights_key(model) -> str:
    """Same weights, architecture and toolchain -> same file; ~0.1 s for MiniLM's 90 MB."""
    import torch
    import transformers

    digest = hashlib.sha256(f"{EXPORT_VERSION}|{torch.__version__}|{transformers.__version__}".encode())
    digest.update(repr(model).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def _exported(model, tokenize) -> Path:
    path = cache_root() / "onnx" / f"text-{_weights_key(model)}.onnx"
    if path.exists():
        return path
    _marker(path).unlink(missing_ok=True)  # a marker left without its file vouches for nothing new
    import torch

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            embedding = self.model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]
            return torch.nn.functional.normalize(embedding, dim=-1)

    sample = {k: torch.from_numpy(v) for k, v in tokenize(PROBES[:2]).items()}
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    export_onnx(Graph(), (sample["input_ids"], sample["attention_mask"]), path, dynamic)
    log.info("exported the text model to %s", path)
    return path
