"""Any-to-any search: encode each query part into every space that applies, combine the parts per space,
route each class of targets to the space that serves it (routing.py), calibrate each route's cosines to
one scale (calibration.py), add lexical evidence (hybrid mode), merge (fusion.py) and return one hit per
item."""

from __future__ import annotations

import dataclasses
import io
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from anyseek.engine.contracts import Decoder, Encoders
from anyseek.engine.errors import NoSpeechError, QueryError
from anyseek.engine.records import ChunkKind, Query, QueryPart, SearchResults, Space
from anyseek.engine.search import lexical
from anyseek.engine.search.allowed import AllowedIds
from anyseek.engine.search.calibration import Calibration, Null
from anyseek.engine.search.fusion import Evidence, best_per_item, merge, strong_chunks
from anyseek.engine.search.hits import hit_of, moments_of, snippet
from anyseek.engine.search.part_vectors import record_fusion
from anyseek.engine.search.query_vector import checked_vector
from anyseek.engine.search.record_fusion import RecordScorer
from anyseek.engine.search.reference import References
from anyseek.engine.search.routing import Mode, Route, plan
from anyseek.engine.search.target_side import IMAGE_QUERY, TEXT_QUERY, TargetSide, lifted
from anyseek.engine.settings import Settings
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog

log = logging.getLogger(__name__)

MIN_FETCH = 50
# A timed hit (video, recording) lists its other strong moments: chunks within this share of its best
# chunk's fused score, at most this many.
MOMENT_RATIO = 0.8
MAX_MOMENTS = 5


@dataclass(slots=True)
class EncodedQuery:
    vectors: dict[Space, np.ndarray] = field(default_factory=dict)
    covers_all: set[Space] = field(default_factory=set)  # spaces in which every part is represented
    words: list[str] = field(default_factory=list)  # text and transcripts of the positive parts
    transcripts: list[str] = field(default_factory=list)
    exclude_items: set[int] = field(default_factory=set)
    modality: str | None = None  # TEXT_QUERY or IMAGE_QUERY when every positive part is of that kind


@dataclass(slots=True)
class WordHits:
    """The lexical route's chunks, best first, with what the merge needs of them: their kinds and their
    stored vectors per space (chunks only the words found get a cosine from these, without a model)."""

    ids: np.ndarray
    bm25: np.ndarray
    evidence: np.ndarray  # lexical.lexical_evidence of each
    owners: dict[int, tuple[ChunkKind, int]]
    vectors: dict[Route, tuple[np.ndarray, np.ndarray]]  # of the chunks of the route's kinds


@dataclass(slots=True)
class Candidates:
    found: dict[int, Evidence]
    exhausted: bool
    owners: dict[int, tuple[ChunkKind, int]] = field(default_factory=dict)  # those known already
    nulls: dict[Route, Null] = field(default_factory=dict)  # each route's chance level for this query


class Searcher:
    def __init__(
        self, store: Store, catalog: VectorCatalog, encoders: Encoders, settings: Settings, decoder: Decoder
    ) -> None:
        self.store, self.catalog, self.encoders, self.settings = store, catalog, encoders, settings
        self.decoder = decoder
        self.text_spaces = settings.text_spaces
        references = References(encoders)
        self.calibration = Calibration(store, catalog, self.text_spaces, references)
        self.target_side = TargetSide(store, catalog, references)
        self.lexical = lexical.Lexical(store)
        self.records = RecordScorer(store, catalog)
        self.allowed = AllowedIds(store)

    def search(self, query: Query) -> SearchResults:
        mode = Mode(query.mode or self.settings.search_mode)
        filters = query.filters
        if mode is Mode.LEXICAL and filters.min_similarity is not None:
            raise QueryError("--min-similarity filters cosines, which the lexical mode has none of")
        revision = self.store.revision()
        self.calibration.refresh(revision)
        self.target_side.refresh(revision)
        self.lexical.refresh(revision)
        self.records.refresh(revision)
        self.allowed.refresh(revision)
        fusion = record_fusion(query.fusion, query.join, dict(query.weights), self.settings)
        fetch = max(query.k * self.settings.oversample, MIN_FETCH)
        early = self._words_early(query, mode, fetch)
        encoded = self.encode(query.parts, dense=mode is not Mode.LEXICAL)
        if query.spaces is not None:
            encoded.vectors = {s: v for s, v in encoded.vectors.items() if s in query.spaces}
        words = lexical.parse(encoded.words) if mode is not Mode.DENSE else lexical.LexicalQuery()
        if mode is Mode.LEXICAL and not words:
            raise QueryError("the lexical mode searches words; the query has none")
        exclude = encoded.exclude_items | set(filters.exclude_items)
        allowed = self.allowed.of(filters)
        if words.required:
            required = self.store.lexical_matches(words.required)
            allowed = required if allowed is None else np.intersect1d(allowed, required)
        if allowed is not None and not len(allowed):
            return SearchResults((), tuple(encoded.transcripts))
        routes = plan(set(encoded.vectors), encoded.covers_all, self.text_spaces, mode)
        routes = self.records.routes(routes, encoded.vectors, fusion)
        while True:
            found_words, early = early.result() if early else None, None
            candidates = self._candidates(routes, encoded, words, fetch, allowed, query, found_words)
            hits, cut = self._hits(candidates, mode, query.k, exclude, filters.min_score, encoded, fusion)
            if len(hits) >= query.k or candidates.exhausted or cut:
                return SearchResults(tuple(hits), tuple(encoded.transcripts))
            fetch *= 4  # many chunks of few items filled the list: look deeper

    def _words_early(self, query: Query, mode: Mode, fetch: int) -> Future | None:
        """A hybrid query of text searches its words in a thread while the models encode it: SQLite and
        the models release the GIL, so with a core to spare the words cost little time."""
        texts = [part.text or part.transcript for part in query.parts if part.weight > 0]
        texts = [text for text in texts if text is not None]
        unheard = any(part.audio is not None and part.transcript is None for part in query.parts)
        if mode is not Mode.HYBRID or not texts or unheard:
            return None  # a recording's words are known only once it is transcribed
        words = lexical.parse(texts)
        if not words:
            return None
        spaces = {space for space in (Space.JOINT, Space.TEXT) if self._holds_vectors(space)}  # as encoded
        spaces &= set(query.spaces) if query.spaces is not None else spaces
        routes = plan(spaces, spaces, self.text_spaces, mode)
        return _in_thread(self._word_hits, words, fetch, query.filters, routes)

    def _word_hits(self, words: lexical.LexicalQuery, fetch: int, filters, routes: list[Route]) -> WordHits:
        ids, bm25 = self.lexical.search(words, fetch, filters.modalities, filters.path_prefix)
        evidence = self.lexical.evidence(words, ids)
        hits = WordHits(ids, bm25, evidence, self.store.chunk_owners(ids.tolist()), {})
        for route in routes:
            self._route_vectors(hits, route)
        return hits

    def _route_vectors(self, hits: WordHits, route: Route) -> tuple[np.ndarray, np.ndarray]:
        if route not in hits.vectors:
            ids = np.asarray([c for c in hits.ids.tolist() if hits.owners.get(c, (None,))[0] in route.kinds], np.int64)
            hits.vectors[route] = self.store.vectors(route.space, ids, self.catalog.dims[route.space])
        return hits.vectors[route]

    # --- encoding -------------------------------------------------------------------------------
    def encode(self, parts: tuple[QueryPart, ...] | list[QueryPart], dense: bool = True) -> EncodedQuery:
        if not parts:
            raise QueryError("empty query: give text, an image, a recording or an item")
        if not any(part.weight > 0 for part in parts):
            raise QueryError("the query has no positive part that can be searched")
        encoded = EncodedQuery()
        sums: dict[Space, np.ndarray] = {}
        positive: set[Space] = set()
        covers: set[Space] | None = None
        for part in parts:
            vectors = self._encode_part(part, encoded, dense)
            covers = set(vectors) if covers is None else covers & set(vectors)
            for space, vector in vectors.items():
                sums[space] = sums.get(space, 0) + part.weight * vector
                if part.weight > 0:
                    positive.add(space)
        for space in positive:
            norm = float(np.linalg.norm(sums[space]))
            if norm > 1e-6:
                encoded.vectors[space] = (sums[space] / norm).astype(np.float32)
        encoded.covers_all = covers or set()
        kinds = {_modality(part) for part in parts if part.weight > 0}
        encoded.modality = kinds.pop() if len(kinds) == 1 else None
        return encoded

    def hear(self, parts: list[QueryPart]) -> list[QueryPart]:
        """The parts, each recording transcribed: the slow step of a spoken query, which needs neither the
        vector indexes nor the store, so a caller can run it before taking its turn at searching."""
        return [dataclasses.replace(p, transcript=self._heard(p)) if p.audio is not None else p for p in parts]

    def _heard(self, part: QueryPart) -> str:
        if part.transcript is not None:
            return part.transcript
        return self.encoders.speech.transcript(self.decoder.recording(part.audio))

    def _holds_vectors(self, space: Space) -> bool:
        """An empty space (the joint space of a documents-only index, say) is not worth a model pass."""
        return space in self.catalog.dims and len(self.catalog.index(space, sync=False)) > 0

    def _encode_part(self, part: QueryPart, encoded: EncodedQuery, dense: bool) -> dict[Space, np.ndarray]:
        if part.text is not None:
            if not part.text.strip():
                raise QueryError("empty text query")
            if part.weight > 0:
                encoded.words.append(part.text)
            return self._encode_text(lexical.unquoted(part.text)) if dense else {}
        if part.audio is not None:
            transcript = self._heard(part)
            encoded.transcripts.append(transcript)
            if not transcript:
                raise NoSpeechError(f"no speech recognised in {part.audio}")
            if part.weight > 0:
                encoded.words.append(transcript)
            return self._encode_text(transcript) if dense else {}
        if not dense:
            raise QueryError(
                "the lexical mode searches words: an image, an item or a vector as a query needs a dense mode"
            )
        if part.vector is not None:
            return {part.space: checked_vector(part.vector, part.space, self.catalog.dims)}
        if part.image is not None:
            source = io.BytesIO(part.image) if isinstance(part.image, bytes | bytearray) else part.image
            if not self._holds_vectors(Space.JOINT):
                self.decoder.query_image(source)  # a bad image is an error all the same
                return {}
            joint = self.encoders.for_image_query()
            # Decoded as the indexer decodes it (a JPEG at the same reduced scale for this input size), so
            # an indexed file used as the query finds its own vector (cosine ~1), not a near copy of it.
            image = self.decoder.query_image(source, joint.image_size)
            return {Space.JOINT: joint.encode_images(joint.preprocess(image)[None])[0]}
        return self._item_vectors(part.item_id, encoded)

    def _encode_text(self, text: str) -> dict[Space, np.ndarray]:
        if not text:
            return {}
        return {
            space: self.encoders.for_text_query(space).encode_texts([text])[0]
            for space in (Space.JOINT, Space.TEXT)
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
    def _candidates(self, routes, encoded, words, fetch: int, allowed, query: Query, found_words=None) -> Candidates:
        """`found_words`: the lexical route's WordHits for this fetch, when it ran already."""
        found: dict[int, Evidence] = {}
        exhausted = True
        nulls = self._nulls(routes, encoded)
        for route in routes:
            scores, ids = self._dense(route, encoded.vectors[route.space], fetch, allowed, query)
            evidence = self._evidence(route, nulls[route], encoded, ids, scores)
            for chunk_id, z, cosine in zip(ids.tolist(), evidence, scores.tolist()):
                found[chunk_id] = Evidence(chunk_id, z, cosine, route.name)
            exhausted &= len(ids) < fetch
        if words:
            if found_words is None:
                found_words = self._word_hits(words, fetch, query.filters, routes)
            ids, bm25, lexical_evidence = found_words.ids, found_words.bm25, found_words.evidence
            if allowed is not None:  # filters the FTS query does not apply itself (capture dates, phrases)
                keep = np.isin(ids, allowed)
                ids, bm25, lexical_evidence = ids[keep], bm25[keep], lexical_evidence[keep]
            exhausted &= len(ids) < fetch
            unseen = []
            for chunk_id, score, evidence in zip(ids.tolist(), bm25.tolist(), lexical_evidence.tolist()):
                if chunk_id not in found:
                    found[chunk_id] = Evidence(chunk_id)
                    unseen.append(chunk_id)
                found[chunk_id].bm25, found[chunk_id].lexical = score, evidence
            if routes:
                self._score_unseen(found, unseen, found_words, routes, nulls, encoded, query.filters.min_similarity)
        return Candidates(found, exhausted, found_words.owners if words else {}, nulls)

    def _nulls(self, routes: list[Route], encoded: EncodedQuery) -> dict[Route, Null]:
        """Each route's chance level and spread. Routes through one space share the widest spread: the
        modality gap shifts a space's cosines between kinds of targets, it does not make one kind's
        differences mean more, so a kind whose cosines happen to bunch up (images against passages) must
        not turn small differences into large evidence."""
        nulls = {route: self.calibration.null(route, encoded.vectors[route.space]) for route in routes}
        widest: dict[Space, float] = {}
        for route, null in nulls.items():
            widest[route.space] = max(widest.get(route.space, 0.0), null.spread)
        return {route: null.widened(widest[route.space]) for route, null in nulls.items()}

    def _dense(self, route: Route, vector, fetch: int, allowed, query: Query):
        selector = self.calibration.selector(route)
        if selector is not None and allowed is not None:
            selector = self.allowed.narrowed(route, selector, allowed)
        elif selector is None:
            selector = allowed
        if selector is not None and not len(selector):
            return np.empty(0, np.float32), np.empty(0, np.int64)
        scores, ids = self.catalog.index(route.space, sync=False).search(vector[None], fetch, selector)[0]
        if query.filters.min_similarity is not None:
            keep = scores >= query.filters.min_similarity
            scores, ids = scores[keep], ids[keep]
        return scores, ids

    def _score_unseen(self, found, unseen: list[int], hits: WordHits, routes, nulls, encoded, min_similarity) -> None:
        """Chunks only the words found get their exact cosine from their class's dense route, so the merge
        weighs both kinds of evidence for every candidate (a handful of stored vectors, no model)."""
        for route in routes:
            stored, vectors = self._route_vectors(hits, route)
            row = {chunk_id: i for i, chunk_id in enumerate(stored.tolist())}
            ids = [c for c in unseen if c in row]
            if not ids:
                continue
            cosines = vectors[[row[c] for c in ids]] @ encoded.vectors[route.space]
            for chunk_id, cosine in zip(ids, cosines.tolist()):
                if min_similarity is not None and cosine < min_similarity:
                    del found[chunk_id]
                    continue
                entry = found[chunk_id]
                # the query's view alone: these lie below the dense list, whose closer targets bound any lift
                entry.z, entry.similarity, entry.route = nulls[route].evidence(cosine), cosine, route.name

    def _evidence(self, route: Route, null: Null, encoded: EncodedQuery, ids, cosines) -> list[float]:
        """Each of a route's dense targets' evidence: the query's view (its cosine against the query's null),
        lifted on a cross-modal route as far as the targets' own views allow (target_side.py)."""
        evidence = [null.evidence(c) for c in cosines.tolist()]
        own = self.target_side.evidence(route, encoded.modality, ids, cosines)
        return evidence if own is None else lifted(np.asarray(evidence), own, cosines).tolist()

    def _hits(
        self, candidates: Candidates, mode: Mode, k: int, exclude, min_score, encoded, fusion
    ) -> tuple[list, bool]:
        """The hits, and whether min_score cut the list (then looking deeper finds only lower scores)."""
        found = candidates.found
        owners = candidates.owners | self.store.chunk_owners([c for c in found if c not in candidates.owners])
        records = self.records.complete(found, owners, candidates.nulls, encoded.vectors, fusion)
        scored = merge(found, mode, self.settings.lexical_weight)
        if records:
            scored = self.records.fold(scored, records, fusion)
        owner = {cid: item_id for cid, (_, item_id) in owners.items() if item_id not in exclude}
        best = best_per_item(scored, owner)[:k]
        cut = False
        if min_score is not None:
            kept = [entry for entry in best if entry.score >= min_score]
            best, cut = kept, len(kept) < len(best)
        strong = strong_chunks(scored, owner, {owner[e.chunk_id] for e in best}, MOMENT_RATIO, MAX_MOMENTS)
        moment_ids = [entry.chunk_id for entries in strong.values() for entry in entries]
        parts = records.part_chunk_ids(owner[e.chunk_id] for e in best) if records else set()
        contexts = self.store.chunk_contexts({entry.chunk_id for entry in best} | set(moment_ids) | parts)
        hits = []
        for entry in best:
            if entry.chunk_id in contexts:
                moments = moments_of(strong.get(owner[entry.chunk_id], []), contexts)
                hits.append(hit_of(entry, contexts[entry.chunk_id], moments))
        return (self.records.decorate(hits, records, contexts, snippet) if records else hits), cut


def _modality(part: QueryPart) -> str | None:
    """What a query part is to the target side: words (typed or spoken), a picture, or neither (an item,
    a vector: their modality is unknown)."""
    if part.text is not None or part.audio is not None or part.transcript is not None:
        return TEXT_QUERY
    return IMAGE_QUERY if part.image is not None else None


def _in_thread(call, *args) -> Future:
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(call(*args))
        except Exception as exc:  # noqa: BLE001 - raised again in the caller's thread by result()
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future
