"""A batch of decoded files on its way through the models: transcribe audio, embed images, video frames and
text, and turn each file into one ItemWrite. A file whose model step fails becomes an error write."""

from __future__ import annotations

import dataclasses
import io
import logging

import numpy as np

from anyseek.engine.records import VISUAL_KINDS, EmbeddedChunk, Space
from anyseek.engine.settings import Settings
from anyseek.engine.store.store import ItemWrite
from anyseek.indexer.gpu_jpeg import GpuJpegDecoder
from anyseek.indexer.pixels import recipe_from_transform
from anyseek.indexer.prepare import Prepared, decode_failure
from anyseek.media.audio import WindowRules, speech_windows
from anyseek.media.image import open_photo
from anyseek.media.text import split_passages

log = logging.getLogger(__name__)


class EmbedBatch:
    def __init__(self, encoders, settings: Settings) -> None:
        self.encoders, self.settings = encoders, settings
        self._files: list[Prepared] = []
        self._plain: list[ItemWrite] = []
        self._jpegs: GpuJpegDecoder | None = None  # made when the first JPEG left for the device arrives

    def add(self, prepared: Prepared) -> None:
        self._files.append(prepared)

    def add_plain(self, write: ItemWrite) -> None:
        """A file with nothing to embed (failed or ignored), written with the batch."""
        self._plain.append(write)

    def __bool__(self) -> bool:
        return bool(self._files or self._plain)

    def ready(self) -> bool:
        images = sum(1 for p in self._files if p.extracted.pixels is not None or p.extracted.jpeg is not None)
        images += sum(len(p.extracted.frames) for p in self._files if p.extracted.frames is not None)
        texts = sum(1 for p in self._files for c in p.extracted.chunks if c.kind not in VISUAL_KINDS)
        texts += sum(len(m.chunks) for p in self._files for m in p.extracted.members)
        audio = sum(1 for p in self._files if p.extracted.audio is not None)
        return (
            images >= self.settings.image_batch
            or texts >= self.settings.text_batch
            or audio >= 1
            or len(self._plain) >= 256
        )

    def embed(self) -> tuple[list[ItemWrite], set[bytes]]:
        """Returns the writes and the paths that replace an earlier version (updates, not additions)."""
        files, plain = self._files, self._plain
        self._files, self._plain = [], []
        writes = list(plain)
        files = [p for p in files if self._transcribe(p, writes)]
        files = self._decode_jpegs(files, writes)
        image_vectors = self._embed_images(files)
        text_vectors = self._embed_texts(files)
        for prepared in files:
            chunks = []
            for chunk in prepared.extracted.chunks:
                key = (id(prepared), chunk.ordinal)
                if chunk.kind in VISUAL_KINDS:
                    vectors = {Space.JOINT: image_vectors[key]}
                else:
                    vectors = {space: by_key[key] for space, by_key in text_vectors.items()}
                chunks.append(EmbeddedChunk(chunk, vectors))
            entry, extracted = prepared.entry, prepared.extracted
            writes.append(
                ItemWrite(
                    entry.path,
                    entry.size,
                    entry.mtime_ns,
                    prepared.content_hash,
                    extracted.modality,
                    chunks,
                    captured_at=extracted.captured_at,
                )
            )
            writes += [_member_write(prepared, member, text_vectors) for member in extracted.members]
        replaced = {p.entry.path for p in files if p.previous is not None}
        return writes, replaced

    def _transcribe(self, prepared: Prepared, writes: list[ItemWrite]) -> bool:
        extracted = prepared.extracted
        if extracted.audio is None:  # nothing to hear: not a recording, or a video without a sound track
            return True
        try:
            words = self.encoders.speech.transcribe(extracted.audio)
        except (RuntimeError, ValueError) as exc:
            entry = prepared.entry
            writes.append(
                ItemWrite(
                    entry.path,
                    entry.size,
                    entry.mtime_ns,
                    prepared.content_hash,
                    None,
                    error=f"transcription failed: {exc}",
                )
            )
            return False
        window = self.encoders.passage_window(self.settings.text_spaces)
        rules = WindowRules(
            self.settings.speech_min_window_s,
            self.settings.speech_max_window_s,
            self.settings.speech_max_gap_s,
            window.max_tokens,
        )
        first = len(extracted.chunks)  # a video's frames come first; its speech windows follow
        windows = speech_windows(words, rules, window.count_tokens)
        extracted.chunks += [dataclasses.replace(w, ordinal=first + w.ordinal) for w in windows]
        extracted.audio = None  # release the samples as soon as they are transcribed
        return True

    def _decode_jpegs(self, files: list[Prepared], writes: list[ItemWrite]) -> list[Prepared]:
        """The batch's JPEGs left for the device, decoded there at once; a file that fails is that file's
        error write (see gpu_jpeg.py: the batch itself never fails)."""
        pending = [p for p in files if p.extracted.jpeg is not None]
        if not pending:
            return files
        results = self._jpeg_decoder().decode([p.extracted.jpeg for p in pending])
        failed = set()
        for prepared, pixels in zip(pending, results):
            prepared.extracted.jpeg = None
            if isinstance(pixels, Exception):
                entry = prepared.entry
                error = decode_failure(pixels)
                writes.append(
                    ItemWrite(entry.path, entry.size, entry.mtime_ns, prepared.content_hash, None, error=error)
                )
                failed.add(id(prepared))
            else:
                prepared.extracted.pixels = pixels
        return [p for p in files if id(p) not in failed]

    def _jpeg_decoder(self) -> GpuJpegDecoder:
        if self._jpegs is None:
            joint, cap = self.encoders.joint, self.settings.max_image_pixels

            def on_cpu(item):  # the CPU path on the same bytes: its result, or its error for the file
                return joint.preprocess(open_photo(io.BytesIO(item.data), cap).image)

            recipe = recipe_from_transform(getattr(joint, "transform", None))
            self._jpegs = GpuJpegDecoder(recipe, self.encoders.device, on_cpu) if recipe else CpuOnly(on_cpu)
        return self._jpegs

    def _embed_images(self, files: list[Prepared]) -> dict[tuple[int, int], np.ndarray]:
        keyed = [((id(p), 0), p.extracted.pixels) for p in files if p.extracted.pixels is not None]
        for p in files:
            if p.extracted.frames is not None:  # frame i is chunk ordinal i (frames come before speech)
                keyed += [((id(p), i), frame) for i, frame in enumerate(p.extracted.frames)]
        if not keyed:
            return {}
        out = {}
        step = self.settings.image_batch
        for start in range(0, len(keyed), step):
            part = keyed[start : start + step]
            inputs = stack([pixels for _, pixels in part], self.encoders.device)
            vectors = self.encoders.joint.encode_images(inputs)
            out.update({key: vector for (key, _), vector in zip(part, vectors)})
        for p in files:
            p.extracted.pixels = p.extracted.frames = None
        return out

    def _embed_texts(self, files: list[Prepared]) -> dict[Space, dict[tuple[int, int], np.ndarray]]:
        owners = [(id(p), p.extracted.chunks) for p in files]
        owners += [(id(m), m.chunks) for p in files for m in p.extracted.members]
        keyed = [
            ((owner, c.ordinal), c.text or "") for owner, chunks in owners for c in chunks if c.kind not in VISUAL_KINDS
        ]
        if not keyed:
            return {}
        texts = [text for _, text in keyed]
        keys = [key for key, _ in keyed]
        out = {}
        spaces = self.settings.text_spaces
        if Space.JOINT in spaces:
            out[Space.JOINT] = dict(zip(keys, self._embed_joint_texts(texts)))
        if Space.TEXT in spaces:
            out[Space.TEXT] = dict(zip(keys, self.encoders.text.encode_texts(texts)))
        return out

    def _embed_joint_texts(self, texts: list[str]) -> np.ndarray:
        """Each text in the joint space; one longer than the joint model's window (a document passage cut
        to the text model's) is the normalised mean of its window-sized pieces, so all of it counts."""
        joint = self.encoders.joint
        pieces: list[str] = []
        owners: list[int] = []
        for n, text in enumerate(texts):
            parts = [text]
            if joint.count_tokens(text) > joint.max_tokens:
                parts = [c.text or "" for c in split_passages(text, joint.count_tokens, joint.max_tokens)] or [text]
            pieces += parts
            owners += [n] * len(parts)
        step = self.settings.text_batch
        vectors = np.concatenate([joint.encode_texts(pieces[i : i + step]) for i in range(0, len(pieces), step)])
        sums = np.zeros((len(texts), vectors.shape[1]), np.float32)
        np.add.at(sums, np.asarray(owners), vectors)
        return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-6)


def _member_write(prepared: Prepared, member, text_vectors) -> ItemWrite:
    """A mailbox's message as an item of its own, at `<mailbox path>/<key>`; its hash names the mailbox's
    content and the message, so it is never taken for a file's duplicate."""
    chunks = [
        EmbeddedChunk(c, {space: by_key[(id(member), c.ordinal)] for space, by_key in text_vectors.items()})
        for c in member.chunks
    ]
    entry = prepared.entry
    path = entry.path + b"/" + member.key.encode()
    content_hash = f"{prepared.content_hash}/{member.key}"
    write = ItemWrite(path, 0, entry.mtime_ns, content_hash, prepared.extracted.modality, chunks, member=True)
    write.captured_at = member.captured_at
    return write


class CpuOnly:
    """Stands in for GpuJpegDecoder when the model's transform has no recipe: every JPEG on the CPU path."""

    def __init__(self, on_cpu) -> None:
        self.on_cpu = on_cpu

    def decode(self, items) -> list:
        out = []
        for item in items:
            try:
                out.append(self.on_cpu(item))
            except Exception as exc:  # noqa: BLE001 - the file boundary, as in GpuJpegDecoder
                out.append(exc)
        return out


def stack(inputs: list, device: str):
    """Model inputs as one float32 batch: NumPy when all came from the CPU (frames are float16), else a
    tensor on the device, where the JPEGs decoded there already are."""
    if all(isinstance(x, np.ndarray) for x in inputs):
        return np.stack(inputs).astype(np.float32, copy=False)
    import torch

    return torch.stack([torch.as_tensor(x).to(device=device, dtype=torch.float32) for x in inputs])
