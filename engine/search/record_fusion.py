"""Records in search: every part of a candidate record scored, the parts joined into one record hit.

A record's part chunks sit in the same vector indexes as files' chunks and are found by the same routes
(a screenshot by the visual route, a description or a voice note's transcript by the textual one). Once
any chunk of a record is a candidate, every chunk of that record gets its exact calibrated evidence on its
route (from its stored vectors, no model), so each part has a score even when only one part was found:
a user sees which part matched, and the join below sees every part.

- Late fusion: a part's score is its best chunk's; the record's is the join of its parts' scores
  (search/part_vectors.join_scores: weighted sum, max or mean), on the one calibrated scale.
- Early fusion: the record's score is its fused vector's evidence on a route of its own (ChunkKind.RECORD
  in routing.py), in the text space when the record is all text and the query is whole in that space (as
  passages are routed), else in the joint space, the one space that sees pictures and words together. The
  fused vector is recomputed from the parts' stored vectors with the query's weights; the stored one finds
  the candidates and gives the route its null.

Lexical evidence counts as for files: a part's words lift that part, and the record's best words lift an
early-fused record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from anyseek.engine.records import ChunkKind, Hit, PartHit, Space, display_path
from anyseek.engine.search.calibration import Null
from anyseek.engine.search.fusion import ChunkScore, Evidence
from anyseek.engine.search.part_vectors import RecordFusion, fuse, join_scores, part_vector
from anyseek.engine.search.routing import FUSED, Route
from anyseek.engine.store.record_rows import RecordChunk, StoredRecord
from anyseek.engine.store.store import ChunkContext, Store
from anyseek.engine.vectors.catalog import VectorCatalog


@dataclass(slots=True)
class RecordMatches:
    """The candidate records of one query: their chunks, and once folded, each one's best chunk per part."""

    chunks: dict[int, list[RecordChunk]]  # by item id
    owner: dict[int, int]  # chunk id -> record item id
    parts: dict[int, dict[str, ChunkScore]] = field(default_factory=dict)  # by item id, then field

    def part_chunk_ids(self, item_ids) -> set[int]:
        return {entry.chunk_id for item in item_ids for entry in self.parts.get(item, {}).values()}


class RecordScorer:
    def __init__(self, store: Store, catalog: VectorCatalog) -> None:
        self.store, self.catalog = store, catalog
        self._revision: int | None = None
        self._any = False

    def refresh(self, revision: int) -> None:
        if revision != self._revision:
            self._revision, self._any = revision, self.store.has_records()

    def routes(self, routes: list[Route], vectors: dict[Space, np.ndarray], fusion: RecordFusion) -> list[Route]:
        """Early fusion searches the records' fused vectors too, in each space the query has."""
        if fusion.mode != "early" or not self._any or not routes:
            return routes
        return routes + [Route(space, FUSED) for space in (Space.TEXT, Space.JOINT) if space in vectors]

    def complete(
        self,
        found: dict[int, Evidence],
        owners: dict[int, tuple[ChunkKind, int]],
        nulls: dict[Route, Null],
        vectors: dict[Space, np.ndarray],
        fusion: RecordFusion,
    ) -> RecordMatches | None:
        """Evidence for every chunk of every record among the candidates (added to `found` and `owners`)."""
        if not self._any:
            return None
        chunks = self.store.record_chunks({item for _, item in owners.values()})
        if not chunks:
            return None
        matches = RecordMatches({}, {})
        for chunk in chunks:
            matches.chunks.setdefault(chunk.item_id, []).append(chunk)
            matches.owner[chunk.chunk_id] = chunk.item_id
            owners[chunk.chunk_id] = (chunk.kind, chunk.item_id)
        stored = self._vectors(chunks, nulls)
        for route, null in nulls.items():
            if route.kinds == FUSED:
                continue
            for chunk in chunks:
                vector = stored.get(route.space, {}).get(chunk.chunk_id)
                if chunk.kind in route.kinds and vector is not None:
                    _score(found, chunk.chunk_id, route, null, float(vector @ vectors[route.space]))
        if fusion.mode == "early":
            for item_chunks in matches.chunks.values():
                self._score_fused(item_chunks, found, stored, nulls, vectors, fusion)
        return matches

    def _vectors(self, chunks: list[RecordChunk], nulls) -> dict[Space, dict[int, np.ndarray]]:
        out: dict[Space, dict[int, np.ndarray]] = {}
        for space in {route.space for route in nulls}:
            wanted = np.asarray([c.chunk_id for c in chunks if c.kind is not ChunkKind.RECORD], np.int64)
            ids, vecs = self.store.vectors(space, wanted, self.catalog.dims[space])
            out[space] = dict(zip(ids.tolist(), vecs))
        return out

    @staticmethod
    def _score_fused(item_chunks, found, stored, nulls, vectors, fusion: RecordFusion) -> None:
        fused_chunk = next((c for c in item_chunks if c.kind is ChunkKind.RECORD), None)
        parts = [c for c in item_chunks if c.kind is not ChunkKind.RECORD]
        if fused_chunk is None or not parts:
            return
        text_whole = all(c.chunk_id in stored.get(Space.TEXT, {}) for c in parts)
        space = Space.TEXT if text_whole and Route(Space.TEXT, FUSED) in nulls else Space.JOINT
        route = Route(space, FUSED)
        if route not in nulls:
            return
        by_field: dict[str, list[np.ndarray]] = {}
        for chunk in parts:
            if (vector := stored[space].get(chunk.chunk_id)) is not None:
                by_field.setdefault(chunk.field or "", []).append(vector)
        fused = fuse({name: part_vector(vs) for name, vs in by_field.items()}, fusion)
        if fused is None:
            return
        _score(found, fused_chunk.chunk_id, route, nulls[route], float(fused @ vectors[space]), force=True)
        words = [found[c.chunk_id].bm25 for c in parts if c.chunk_id in found and found[c.chunk_id].bm25]
        found[fused_chunk.chunk_id].bm25 = max(words, default=None)

    @staticmethod
    def fold(scored: list[ChunkScore], matches: RecordMatches, fusion: RecordFusion) -> list[ChunkScore]:
        """Each record's chunks become one entry, scored by its fused chunk (early) or its parts (late);
        the list is ordered by score (a monotone function of the key, so files keep their order)."""
        out: list[ChunkScore] = []
        grouped: dict[int, list[ChunkScore]] = {}
        for entry in scored:
            item = matches.owner.get(entry.chunk_id)
            if item is None:
                out.append(entry)
            else:
                grouped.setdefault(item, []).append(entry)
        kinds = {c.chunk_id: c for chunks in matches.chunks.values() for c in chunks}
        for item, entries in grouped.items():
            parts: dict[str, ChunkScore] = {}
            fused = None
            for entry in entries:  # best first: `scored` is ordered by key
                chunk = kinds[entry.chunk_id]
                if chunk.kind is ChunkKind.RECORD:
                    fused = fused or entry
                elif chunk.field is not None and chunk.field not in parts:
                    parts[chunk.field] = entry
            if not parts:
                continue
            matches.parts[item] = parts
            out.append(_record_entry(parts, fused, fusion))
        return sorted(out, key=lambda e: (-e.score, -e.key, e.chunk_id))

    def decorate(
        self, hits: list[Hit], matches: RecordMatches, contexts: dict[int, ChunkContext], snippet
    ) -> list[Hit]:
        """Record hits get their id, label, metadata and parts (`snippet` shortens a part's text as a hit's
        is); file hits are returned as they are."""
        records = self.store.records_by_item(h.item_id for h in hits if h.item_id in matches.parts)
        return [
            _record_hit(h, records[h.item_id], matches, contexts, snippet) if h.item_id in records else h for h in hits
        ]


def _score(found: dict[int, Evidence], chunk_id: int, route: Route, null: Null, cosine: float, force=False) -> None:
    entry = found.setdefault(chunk_id, Evidence(chunk_id))
    if entry.z is None or force:
        entry.z, entry.similarity, entry.route = null.evidence(cosine), cosine, route.name


def _record_entry(parts: dict[str, ChunkScore], fused: ChunkScore | None, fusion: RecordFusion) -> ChunkScore:
    best = max(parts.items(), key=lambda item: (fusion.weight(item[0]) > 0, item[1].key))[1]
    if fusion.mode == "early" and fused is not None:
        return ChunkScore(best.chunk_id, fused.key, fused.score, fused.similarity, f"fused:{fused.route}")
    joined = join_scores({name: entry.score for name, entry in parts.items()}, fusion)
    score = best.score if joined is None else joined
    return ChunkScore(best.chunk_id, best.key, score, best.similarity, f"parts:{fusion.join}")


def _record_hit(hit: Hit, record: StoredRecord, matches: RecordMatches, contexts, snippet) -> Hit:
    scored = matches.parts.get(hit.item_id, {})
    parts = []
    for stored in record.parts:
        entry = scored.get(stored.field)
        context = contexts.get(entry.chunk_id) if entry else None
        chunk = context.chunk if context else None
        parts.append(
            PartHit(
                field=stored.field,
                kind=stored.kind,
                score=entry.score if entry else None,
                modality=stored.modality,
                chunk_id=chunk.id if chunk else None,
                snippet=snippet(chunk.text) if chunk else None,
                start=chunk.start_s if chunk else None,
                end=chunk.end_s if chunk else None,
                char_start=chunk.char_start if chunk else None,
                char_end=chunk.char_end if chunk else None,
                page=chunk.page if chunk else None,
                path=display_path(stored.path) if stored.path is not None else None,
                raw_path=stored.path or b"",
                error=stored.error,
            )
        )
    return dataclasses.replace(
        hit, record_id=record.record_id, label=record.label, metadata=record.metadata, parts=tuple(parts), moments=()
    )
