"""Text queries without torch: the text towers of both spaces on ONNX Runtime, for a cold `anyseek search`.

A search in a fresh process used to import torch, open_clip, transformers and sentence-transformers and
build both models (~10 s on 2 cores) to embed one sentence. Once a model has been loaded the slow way on
the CPU, its text tower is exported here (the text model's ONNX file already exists, see onnx_text.py),
checked against PyTorch on probe texts (token ids equal, cosine >= 0.99999), and described by a small
manifest. A later process finds the manifest by a key computed without loading anything (model name,
weight files' size and mtime, library version) and embeds the query with ONNX Runtime and a torch-free
tokenizer. Whatever is missing or unexpected means "load the model as before": this path may only make a
search start faster, never give other vectors.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anyseek.engine.encoders.base import Fingerprint
from anyseek.engine.encoders.onnx_text import (
    EXPORT_VERSION,
    MIN_PROBE_COSINE,
    PROBES,
    cache_root,
    cpu_session,
    export_tower,
    tokenizer_of,
)

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
QUERY_PROBES = [*PROBES, "Café naïve résumé &amp; 日本語 😀", "  A   RED  square!!  ", "foo_bar --flag v1.2"]


@dataclass(slots=True)
class QueryTextEncoder:
    """encode_texts(texts) -> unit vectors, like the full encoder of the same role (and fingerprint)."""

    role: str
    fingerprint: Fingerprint
    dim: int
    _session: object
    _feeds: object  # texts -> {input name: array}

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._session.run(None, self._feeds(texts))[0], dtype=np.float32)


# --- finding and loading ------------------------------------------------------------------------------
def text_key(model_name: str) -> str:
    from anyseek.engine.encoders.resolve import local_text_model

    return _key("text", model_name, _files_signature(local_text_model(model_name)), _version("sentence-transformers"))


def joint_key(model_name: str, pretrained: str) -> str:
    from anyseek.engine.encoders.joint import model_identifier

    identifier = model_identifier(model_name)
    folder = Path(identifier.split(":", 1)[1]) if identifier.startswith("local-dir:") else None
    weights = Path(pretrained).expanduser()
    signature = _files_signature(folder) + _files_signature(weights if weights.is_file() else None)
    return _key("joint", identifier, pretrained, signature, _version("open_clip_torch"))


def load(role: str, key: str, threads: int) -> QueryTextEncoder | None:
    """The exported text tower for this key, or None (not exported yet, or unusable: use the model)."""
    manifest_file = manifest_path(role, key)
    try:
        manifest = json.loads(manifest_file.read_text())
        if manifest.get("version") != MANIFEST_VERSION:
            return None
        session = cpu_session(Path(manifest["onnx"]), threads)
        feeds = _feeds_for(manifest["tokenizer"], manifest_file.parent)
        fingerprint = Fingerprint(**manifest["fingerprint"])
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - an optional speed-up: anything unexpected means "load the model"
        log.info("the %s query runtime is unusable (%s); loading the model", role, exc)
        return None
    return QueryTextEncoder(role, fingerprint, fingerprint.dim, session, feeds)


def _feeds_for(tokenizer: dict, folder: Path):
    if tokenizer["kind"] == "wordpiece":
        from tokenizers import Tokenizer

        rust = Tokenizer.from_file(str(folder / tokenizer["file"]))
        rust.enable_truncation(int(tokenizer["max_length"]))
        rust.enable_padding(pad_id=int(tokenizer["pad_id"]), pad_token=tokenizer["pad_token"])

        def wordpiece(texts: list[str]) -> dict[str, np.ndarray]:
            encoded = rust.encode_batch([text.strip() for text in texts])
            return {
                "input_ids": np.asarray([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encoded], dtype=np.int64),
            }

        return wordpiece
    if tokenizer["kind"] == "clip-bpe":
        from anyseek.engine.encoders.clip_bpe import ClipBpeTokenizer

        bpe = ClipBpeTokenizer(_clip_merges_file(), int(tokenizer["context_length"]))
        return lambda texts: {"tokens": bpe(texts)}
    raise ValueError(f"unknown tokenizer kind {tokenizer['kind']!r}")


# --- recording (after a model was loaded the slow way) ----------------------------------------------
def record_text(encoder, onnx_path: Path, key: str) -> None:
    """Describe the text model's verified ONNX export (a SentenceEncoder on CPU) for torch-free queries."""
    if recorded("text", key, onnx_path):
        return
    with recording("text"):
        tokenizer = encoder.model.tokenizer
        backend = tokenizer.backend_tokenizer
        folder = manifest_path("text", key).parent
        folder.mkdir(parents=True, exist_ok=True)
        tokenizer_file = f"text-{key}.tokenizer.json"
        write_atomic(folder / tokenizer_file, backend.to_str().encode())
        spec = {
            "kind": "wordpiece",
            "file": tokenizer_file,
            "max_length": int(encoder.model.max_seq_length),
            "pad_id": int(tokenizer.pad_token_id),
            "pad_token": str(tokenizer.pad_token),
        }
        feeds = _feeds_for(spec, folder)
        expected = tokenizer_of(encoder.model)(QUERY_PROBES)["input_ids"]
        if not np.array_equal(feeds(QUERY_PROBES)["input_ids"], expected):
            log.info("the text model's tokenizer cannot be reproduced without torch; queries load the model")
            return
        _verify_and_write("text", key, onnx_path, spec, encoder, feeds)


def record_joint(encoder, key: str) -> None:
    """Export the joint model's text tower (a ClipEncoder on CPU) for torch-free queries, once."""
    if recorded("joint", key):
        return
    with recording("joint"):
        tokenizer = encoder.tokenizer
        clean = getattr(getattr(tokenizer, "clean_fn", None), "__name__", "")
        if type(tokenizer).__name__ != "SimpleTokenizer" or clean != "_clean_lower" or tokenizer.reduction_fn:
            log.info("the joint model's tokenizer has no torch-free twin here; queries load the model")
            return
        if getattr(tokenizer, "vocab_size", None) != 49408:  # extra special tokens: not OpenAI's vocabulary
            return
        spec = {"kind": "clip-bpe", "context_length": int(encoder.context_length)}
        feeds = _feeds_for(spec, manifest_path("joint", key).parent)
        if not np.array_equal(feeds(QUERY_PROBES)["tokens"], tokenizer(QUERY_PROBES).numpy()):
            log.info("the torch-free CLIP tokenizer differs from open_clip's here; queries load the model")
            return
        path = cache_root() / "onnx" / f"joint-{key}.onnx"
        _export_joint_text(encoder, path)
        _verify_and_write("joint", key, path, spec, encoder, feeds)


def _verify_and_write(role: str, key: str, onnx_path: Path, spec: dict, encoder, feeds) -> None:
    fingerprint = encoder.fingerprint
    runner = QueryTextEncoder(role, fingerprint, fingerprint.dim, cpu_session(onnx_path, os.cpu_count() or 1), feeds)
    reference = encoder.encode_texts(QUERY_PROBES)
    cosine = float(np.min(np.sum(reference * runner.encode_texts(QUERY_PROBES), axis=1)))
    if cosine < MIN_PROBE_COSINE:
        log.warning("the %s model's ONNX text tower differs from PyTorch (cosine %.6f); not used", role, cosine)
        return
    manifest = {
        "version": MANIFEST_VERSION,
        "onnx": str(onnx_path),
        "tokenizer": spec,
        "fingerprint": fingerprint.as_dict(),
        "min_probe_cosine": cosine,
    }
    write_atomic(manifest_path(role, key), json.dumps(manifest, indent=1).encode())
    log.info("%s text tower ready for torch-free queries (%s)", role, onnx_path)


def _export_joint_text(encoder, path: Path) -> None:
    """The text tower over the full context, batch size dynamic. Not trimmed to the longest text as
    joint.py does on PyTorch: the legacy exporter bakes the sequence length into the attention's reshapes,
    and a query is one short text (the full 77 positions of ViT-B-32's tower: ~75 ms on one core here,
    against seconds of loading torch; a warmed process uses the trimmed model, see Engine.warm)."""
    import torch

    sample = torch.from_numpy(encoder.tokenizer(PROBES[:2]).numpy())
    export_tower(encoder.model, "encode_text", sample, path, "tokens")


@contextlib.contextmanager
def recording(role: str):
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - an optional speed-up: a failure only keeps queries on PyTorch
        log.info("the %s tower stays on PyTorch for queries (%s)", role, exc)
        log.debug("query runtime export failed", exc_info=True)


# --- small helpers ------------------------------------------------------------------------------------
def recorded(role: str, key: str, onnx_path: Path | None = None) -> bool:
    try:
        manifest = json.loads(manifest_path(role, key).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("version") == MANIFEST_VERSION and onnx_path in (None, Path(manifest.get("onnx", "")))


def manifest_path(role: str, key: str) -> Path:
    return cache_root() / "query" / f"{role}-{key}.json"


def _key(*parts: object) -> str:
    return hashlib.sha256(repr((MANIFEST_VERSION, EXPORT_VERSION, *parts)).encode()).hexdigest()[:32]


def _files_signature(path: Path | None) -> list[tuple[str, int, int]]:
    """Name, size and mtime of a model's files (two levels deep): changed weights -> another key."""
    if path is None:
        return []
    if path.is_file():
        stat = path.stat()
        return [(str(path.resolve()), stat.st_size, stat.st_mtime_ns)]
    files = [p for p in (*path.glob("*"), *path.glob("*/*")) if p.is_file()]
    return [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(files)]


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _clip_merges_file() -> Path:
    """open_clip's BPE merges, found without importing open_clip (which imports torch)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("open_clip is not installed")
    return Path(spec.origin).parent / "bpe_simple_vocab_16e6.txt.gz"


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".write-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
