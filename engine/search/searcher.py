"""Any-to-any search: encode each query part into every space that applies, combine the parts per
space, search each space with oversampling, fuse the ranked lists, and return one hit per item."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

import numpy as np

from anyseek.engine.errors import NoSpeechError, QueryError
from anyseek.engine.records import ChunkKind, Hit, Query, QueryPart, SearchResults, Space
from anyseek.engine.search.fusion import best_per_item, fuse
from anyseek.engine.settings import Settings
from anyseek.engine.store.store import ChunkContext, Store
from anyseek.engine.vectors.catalog import VectorCatalog

log = logging.getLogger(__name__)

SNIPPET_CHARS = 240
MIN_FETCH = 50


def spaces_of_kind(text_spaces: str) -> dict[ChunkKind, frozenset[str]]:
    """Which spaces hold a chunk of each kind: images only the joint space (see DESIGN), text chunks the
    index's text_spaces. Fusion averages a chunk's ranks over these, so a passage is not penalised for
    missing from a space it was never put in."""
    text = frozenset(text_spaces.split(","))
    return {ChunkKind.IMAGE: frozenset({Space.JOINT.value}), ChunkKind.PASSAGE: text, ChunkKind.SPEECH: text}


@dataclass(slots=True)
class EncodedQuery:
    vectors: dict[Space, np.ndarray] = field(default_factory=dict)
    transcripts: list[str] = field(default_factory=list)
    exclude_items: set[int] = field(default_factory=set)


class Searcher:
    def __init__(
        self, store: Store, catalog: VectorCatalog, encoders, settings: Settings, decode_audio, open_image
    ) -> None:
        self.store, self.catalog, self.encoders, self.settings = store, catalog, encoders, settings
        self._decode_audio, self._open_image = decode_audio, open_image
        self._spaces_of_kind = spaces_of_kind(settings.text_spaces)

    def search(self, query: Query) -> SearchResults:
        encoded = self.encode(query.parts)
        filters = query.filters
        exclude = encoded.exclude_items | set(filters.exclude_items)
        allowed = (
            self.store.allowed_chunk_ids(filters.modalities, filters.path_prefix) if filters.restricts_ids else None
        )
        if allowed is not None and not len(allowed):
            return SearchResults((), tuple(encoded.transcripts))
        fetch = max(query.k * self.settings.oversample, MIN_FETCH)
        while True:
            ranked = self._ranked(encoded, fetch, allowed, filters.min_similarity)
            hits, exhausted = self._hits(ranked, query.k, exclude, fetch)
            if len(hits) >= query.k or exhausted:
                return SearchResults(tuple(hits), tuple(encoded.transcripts))
            fetch *= 4  # many chunks of few items filled the list: look deeper

    # --- encoding -------------------------------------------------------------------------------
    def encode(self, parts: tuple[QueryPart, ...] | list[QueryPart]) -> EncodedQuery:
        if not parts:
            raise QueryError("empty query: give text, an image, a recording or an item")
        if not any(part.weight > 0 for part in parts):
            raise QueryError("the query has no positive part that can be searched")
        encoded = EncodedQuery()
        sums: dict[Space, np.ndarray] = {}
        positive: set[Space] = set()
        for part in parts:
            for space, vector in self._encode_part(part, encoded).items():
                sums[space] = sums.get(space, 0) + part.weight * vector
                if part.weight > 0:
                    positive.add(space)
        for space in positive:
            norm = float(np.linalg.norm(sums[space]))
            if norm > 1e-6:
                encoded.vectors[space] = (sums[space] / norm).astype(np.float32)
        return encoded

    def _holds_vectors(self, space: Space) -> bool:
        """An empty space (the joint space of a documents-only index, say) is not worth a model pass."""
        return space in self.catalog.dims and len(self.catalog.index(space, sync=False)) > 0

    def _encode_part(self, part: QueryPart, encoded: EncodedQuery) -> dict[Space, np.ndarray]:
        if part.text is not None:
            return self._encode_text(part.text)
        if part.image is not None:
            source = io.BytesIO(part.image) if isinstance(part.image, bytes | bytearray) else part.image
            image = self._open_image(source)
            if not self._holds_vectors(Space.JOINT):
                return {}
            joint = self.encoders.joint
            return {Space.JOINT: joint.encode_images(joint.preprocess(image)[None])[0]}
        if part.audio is not None:
            transcript = self.encoders.speech.transcript(self._decode_audio(part.audio))
            encoded.transcripts.append(transcript)
            if not transcript:
                raise NoSpeechError(f"no speech recognised in {part.audio}")
            return self._encode_text(transcript)
        return self._item_vectors(part.item_id, encoded)

    def _encode_text(self, text: str) -> dict[Space, np.ndarray]:
        if not text.strip():
            raise QueryError("empty text query")
        encoders = {Space.JOINT: lambda: self.encoders.joint, Space.TEXT: lambda: self.encoders.text}
        return {
            space: encoder().encode_texts([text])[0]
            for space, encoder in encoders.items()
            if self._holds_vectors(space)
        }

    def _item_vectors(self, item_id: int, encoded: EncodedQuery) -> dict[Space, np.ndarray]:
        """More like this: the mean of the item's stored vectors per space; no model needed."""
        vectors = self.store.item_vectors(item_id, self.catalog.dims)
        if not vectors:
            raise QueryError(f"item {item_id} is not in the index or has nothing searchable")
        encoded.exclude_items.add(item_id)
        return {
            space: m.mean(axis=0) / max(float(np.linalg.norm(m.mean(axis=0))), 1e-6) for space, m in vectors.items()
        }

    # --- searching ------------------------------------------------------------------------------
    def _ranked(self, encoded: EncodedQuery, fetch: int, allowed, min_similarity) -> dict[str, tuple]:
        ranked = {}
        for space, vector in encoded.vectors.items():
            if space not in self.catalog.dims:
                continue  # nothing was ever stored in this space
            scores, ids = self.catalog.index(space, sync=False).search(vector[None], fetch, allowed)[0]
            if min_similarity is not None:
                keep = scores >= min_similarity
                scores, ids = scores[keep], ids[keep]
            ranked[space.value] = (scores, ids, len(ids) < fetch)
        return ranked

    def _hits(self, ranked: dict[str, tuple], k: int, exclude: set[int], fetch: int) -> tuple[list[Hit], bool]:
        weights = {Space.JOINT.value: self.settings.joint_weight, Space.TEXT.value: self.settings.text_weight}
        lists = {space: (scores, ids) for space, (scores, ids, _) in ranked.items()}
        # kinds and owners of every candidate (a light read); full rows only for the k hits returned
        owners = self.store.chunk_owners({int(i) for _, ids in lists.values() for i in ids})

        def spaces_of(chunk_id: int) -> frozenset[str]:
            owner = owners.get(chunk_id)
            return self._spaces_of_kind[owner[0]] if owner else frozenset()

        scored = fuse(lists, weights, self.settings.fusion, self.settings.rrf_k, spaces_of)
        owner = {cid: item_id for cid, (_, item_id) in owners.items() if item_id not in exclude}
        best = best_per_item(scored, owner)[:k]
        contexts = self.store.chunk_contexts([entry.chunk_id for entry in best])
        exhausted = all(done for _, _, done in ranked.values())
        return [_hit(entry, contexts[entry.chunk_id]) for entry in best if entry.chunk_id in contexts], exhausted


def _hit(entry, context: ChunkContext) -> Hit:
    chunk, item = context.chunk, context.item
    snippet = chunk.text
    if snippet and len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return Hit(
        item_id=item.id,
        path=item.display_path,
        modality=item.modality,
        score=entry.score,
        similarity=entry.similarity,
        chunk_id=chunk.id,
        snippet=snippet,
        start=chunk.start_s,
        end=chunk.end_s,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        raw_path=item.path,
    )
