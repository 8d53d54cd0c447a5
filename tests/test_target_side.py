"""The target's view of a cross-modal score (engine/search/target_side.py): what it may lift, and what it
may never do (reorder a route, lift past the stronger view, reach within-modality routes)."""

from __future__ import annotations

import numpy as np

from anyseek.engine.records import Space
from anyseek.engine.search.reference import JOINT_IMAGE, JOINT_TEXT
from anyseek.engine.search.routing import TEXTUAL, VISUAL, Route
from anyseek.engine.search.target_side import IMAGE_QUERY, TEXT_QUERY, bank_of, lifted, rows_null


def test_a_match_that_stands_out_from_its_own_side_is_lifted_and_the_order_kept():
    cosines = np.array([0.88, 0.44, 0.20])
    query_view = np.array([1.0, -1.7, -2.2])  # the photo of the caption, then two others
    own_view = np.array([4.2, -0.5, 0.9])  # the third stands out more from its side than the second
    out = lifted(query_view, own_view, cosines)
    assert out[0] == 4.2  # the match gets what its own view says
    assert out[0] > out[1] > out[2]  # the route's order, its cosines', is kept
    assert out[1] == -1.7 + 1.2 and out[2] == -2.2 + 1.2  # a lift never exceeds a closer target's


def test_a_lift_is_never_above_the_stronger_view_nor_below_the_query_view():
    rng = np.random.default_rng(0)
    for _ in range(50):
        cosines = rng.uniform(-0.2, 0.9, 20)
        query_view, own_view = rng.normal(0, 2, 20), rng.normal(0, 2, 20)
        out = lifted(query_view, own_view, cosines)
        assert np.all(out >= query_view - 1e-12)
        assert np.all(out <= np.maximum(query_view, own_view) + 1e-12)
        order = np.argsort(-cosines)
        assert np.all(np.diff(out[order] - query_view[order]) <= 1e-12)  # lifts shrink down the list


def test_a_hub_at_the_top_lifts_nothing_below_it():
    cosines = np.array([0.9, 0.8, 0.7])
    out = lifted(np.array([0.5, 0.0, -0.5]), np.array([0.2, 5.0, 5.0]), cosines)
    assert list(out) == [0.5, 0.0, -0.5]


def test_only_cross_modal_routes_have_a_target_side():
    photos, joint_texts, texts = Route(Space.JOINT, VISUAL), Route(Space.JOINT, TEXTUAL), Route(Space.TEXT, TEXTUAL)
    assert bank_of(photos, TEXT_QUERY) == JOINT_TEXT  # a caption's photos, seen against generated passages
    assert bank_of(joint_texts, IMAGE_QUERY) == JOINT_IMAGE  # a photo's passages, against generated pictures
    assert bank_of(photos, IMAGE_QUERY) is None  # a photo that finds itself: the query's view is the story
    assert bank_of(texts, TEXT_QUERY) is None
    assert bank_of(photos, None) is None  # a vector or an item: its modality is unknown


def test_a_target_null_matches_the_query_null_of_the_same_cosines():
    from anyseek.engine.search.calibration import null_of

    cosines = np.random.default_rng(1).uniform(-0.3, 0.8, (3, 1200))
    bars, units, spreads = rows_null(cosines)
    for row, bar, unit, spread in zip(cosines, bars, units, spreads):
        null = null_of(row, np.array([]), 0)
        # the same statistics; the query's weighted ranks may pick a neighbouring order statistic
        assert np.isclose(null.bar, bar, rtol=0.01) and np.isclose(null.spread, spread, rtol=0.01)
        assert np.isclose(null.unit, unit, rtol=0.01)
