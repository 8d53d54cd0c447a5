"""Routing, calibration and the merge of routes into one ranked list (pure functions: no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from anyseek.engine.records import ChunkKind, Space
from anyseek.engine.search import lexical
from anyseek.engine.search.calibration import E_MID, evidence_score
from anyseek.engine.search.fusion import Evidence, best_per_item, merge
from anyseek.engine.search.routing import FUSED, TEXTUAL, VISUAL, Mode, Route, plan

BOTH = frozenset({Space.JOINT, Space.TEXT})


def test_text_queries_reach_documents_through_the_text_space_and_images_through_the_joint_space():
    routes = plan({Space.JOINT, Space.TEXT}, {Space.JOINT, Space.TEXT}, BOTH, Mode.HYBRID)
    assert set(routes) == {Route(Space.JOINT, VISUAL), Route(Space.TEXT, TEXTUAL)}


def test_a_query_with_an_image_reaches_documents_through_the_joint_space():
    # "dog + beach.jpg": the text space has no vector for the photo, so it cannot answer the whole query
    routes = plan({Space.JOINT, Space.TEXT}, {Space.JOINT}, BOTH, Mode.HYBRID)
    assert set(routes) == {Route(Space.JOINT, VISUAL), Route(Space.JOINT, TEXTUAL)}


def test_documents_only_in_the_joint_space_are_searched_there():
    routes = plan({Space.JOINT}, {Space.JOINT}, frozenset({Space.JOINT}), Mode.DENSE)
    assert Route(Space.JOINT, TEXTUAL) in routes


def test_the_lexical_mode_has_no_dense_route():
    assert plan({Space.JOINT, Space.TEXT}, BOTH, BOTH, Mode.LEXICAL) == []


def test_every_chunk_kind_belongs_to_exactly_one_class():
    assert VISUAL | TEXTUAL | FUSED == frozenset(ChunkKind)
    assert not VISUAL & TEXTUAL and not (VISUAL | TEXTUAL) & FUSED
    assert ChunkKind.IMAGE in VISUAL and ChunkKind.SPEECH in TEXTUAL


def _noise_and_perfect_text_space(rng, documents: int = 300):
    """A text space that ranks the right document first and a joint space of pure noise, both holding
    the documents (text_spaces = joint,text)."""
    dim = 64
    docs = rng.standard_normal((documents, dim))
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    text_query = docs[7] + 0.05 * rng.standard_normal(dim)
    joint_docs = rng.standard_normal((documents, dim))
    joint_docs /= np.linalg.norm(joint_docs, axis=1, keepdims=True)
    joint_query = rng.standard_normal(dim)
    return docs @ text_query / np.linalg.norm(text_query), joint_docs @ joint_query / np.linalg.norm(joint_query)


def test_a_joint_space_of_noise_cannot_move_the_right_document_off_rank_one():
    text_scores, _ = _noise_and_perfect_text_space(np.random.default_rng(0))
    routes = plan({Space.JOINT, Space.TEXT}, BOTH, BOTH, Mode.DENSE)
    textual = [r for r in routes if r.kinds == TEXTUAL]
    assert textual == [Route(Space.TEXT, TEXTUAL)]  # the noise never gets a say over documents
    found = _calibrated({cid: s for cid, s in enumerate(text_scores)}, "text")
    assert merge(found, Mode.DENSE, 1.0)[0].chunk_id == 7


def _calibrated(cosines: dict[int, float], route: str, offset: int = 0) -> dict[int, Evidence]:
    """Evidence as the searcher computes it: robust z-scores against the route's own cosines."""
    values = np.asarray(list(cosines.values()))
    median = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - median)))
    return {offset + c: Evidence(offset + c, (s - median) / spread, s, route) for c, s in cosines.items()}


def test_a_relevant_photo_rises_above_hundreds_of_passages_despite_the_modality_gap():
    rng = np.random.default_rng(1)
    # text-to-text cosines sit around 0.6, text-to-image around 0.25; one photo matches the query
    passages = {i: float(0.6 + 0.04 * rng.standard_normal()) for i in range(500)}
    photos = {i: float(0.25 + 0.02 * rng.standard_normal()) for i in range(40)}
    photos[3] = 0.36
    raw = sorted([*passages.values(), *photos.values()], reverse=True)
    assert raw.index(0.36) > 400  # ranked by raw cosine, the photo is buried
    found = {**_calibrated(passages, "text"), **_calibrated(photos, "joint", offset=10_000)}
    ranked = [c.chunk_id for c in merge(found, Mode.DENSE, 1.0)]
    assert ranked.index(10_003) < 3


def test_lexical_evidence_lifts_a_chunk_by_what_its_words_are_worth():
    found = {
        1: Evidence(1, z=5.0, similarity=0.7, route="text"),
        2: Evidence(2, z=4.5, similarity=0.6, route="text", bm25=12.0, lexical=lexical.FULL_MATCH),
        3: Evidence(3, z=2.5, similarity=0.3, route="text", bm25=12.0, lexical=lexical.FULL_MATCH),
        4: Evidence(4, z=4.8, similarity=0.3, route="text", bm25=2.0, lexical=0.1),
    }
    ranked = merge(found, Mode.HYBRID, 1.0)
    assert [c.chunk_id for c in ranked] == [2, 3, 1, 4]  # every rare word verbatim outranks closeness alone
    assert ranked[0].route == "text+lexical" and ranked[2].route == "text"
    assert [c.chunk_id for c in merge(found, Mode.DENSE, 1.0)] == [1, 4, 2, 3]


def test_a_photo_outranks_a_passage_holding_the_words_only_with_stronger_evidence():
    passage = Evidence(1, z=0.5, similarity=0.3, route="text", bm25=9.0, lexical=lexical.FULL_MATCH)
    weak_photo = Evidence(2, z=2.0, similarity=0.5, route="joint")
    strong_photo = Evidence(3, z=9.0, similarity=0.95, route="joint")
    assert merge({1: passage, 2: weak_photo}, Mode.HYBRID, 1.0)[0].chunk_id == 1
    assert merge({1: passage, 3: strong_photo}, Mode.HYBRID, 1.0)[0].chunk_id == 3


def test_word_evidence_is_absolute_and_grows_with_rarity_and_coverage():
    evidence = lexical.lexical_evidence(np.asarray([0.0, 4.0, 8.0, 16.0]), 16.0)
    assert evidence[0] == 0.0 and evidence[3] == pytest.approx(lexical.FULL_MATCH)
    assert evidence[1] < evidence[2] / 3 < evidence[3] / 3  # half the words' evidence lifts a quarter as far
    common = lexical.lexical_evidence(np.asarray([1.0]), 1.0)  # every word matched, but they are common
    assert common[0] < lexical.FULL_MATCH / 4


def test_scores_are_calibrated_into_zero_to_one_and_keep_the_order():
    found = {i: Evidence(i, z=z, similarity=0.1 * i, route="joint") for i, z in enumerate([-3, 0, 3, 6, 40])}
    ranked = merge(found, Mode.DENSE, 1.0)
    scores = [c.score for c in ranked]
    assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    assert evidence_score(E_MID) == pytest.approx(0.5)  # E_MID spreads above the bar of chance
    assert evidence_score(0.0) < 0.3  # as close as the closest 1% of unrelated targets


def test_the_lexical_mode_ranks_by_bm25_alone_and_scores_by_the_words_evidence():
    found = {
        1: Evidence(1, bm25=3.0, lexical=0.2),
        2: Evidence(2, bm25=9.0, lexical=lexical.FULL_MATCH),
        3: Evidence(3, z=9.0),
    }
    ranked = merge(found, Mode.LEXICAL, 1.0)
    assert [c.chunk_id for c in ranked] == [2, 1] and all(c.similarity is None for c in ranked)
    assert ranked[0].score > 0.6 > 0.3 > ranked[1].score


def test_best_chunk_per_item_keeps_order_and_drops_unknown_chunks():
    found = {i: Evidence(i, z=10.0 - i, similarity=0.5, route="text") for i in (1, 2, 3, 4)}
    owner = {1: 100, 2: 100, 4: 200}  # chunk 3's item vanished
    assert [c.chunk_id for c in best_per_item(merge(found, Mode.DENSE, 1.0), owner)] == [1, 4]


@pytest.mark.parametrize(
    "text, required, expression",
    [
        ("red bicycle", None, '"red" OR "bicycle"'),
        ('the "red bicycle" outside', '"red bicycle"', '"red bicycle" AND ("red bicycle" OR "the" OR "outside")'),
        ("foo_bar --flag v1.2", None, '"foo_bar" OR "--flag" OR "v1.2"'),
        ('say "hi"" there', '"hi"', '"hi" AND ("hi" OR "say" OR "there")'),
        ("NEAR AND OR * -", None, '"near" OR "and" OR "or"'),
    ],
)
def test_query_words_become_safe_fts5_phrases(text, required, expression):
    query = lexical.parse([text])
    assert query.required == required and query.expression == expression
