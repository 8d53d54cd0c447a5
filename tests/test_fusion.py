"""Fusion of ranked lists from several spaces."""

from __future__ import annotations

import numpy as np

from anyseek.engine.search.fusion import best_per_item, fuse

IMAGE, PASSAGE = 1, 2
JOINT_ONLY, BOTH = frozenset({"joint"}), frozenset({"joint", "text"})


def ranked(*ids: int) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(0.9, 0.5, len(ids)).astype(np.float32), np.asarray(ids, np.int64)


def test_an_image_is_not_outranked_just_because_passages_sit_in_two_spaces():
    lists = {"joint": ranked(IMAGE, PASSAGE), "text": ranked(PASSAGE)}
    spaces = {IMAGE: JOINT_ONLY, PASSAGE: BOTH}
    fair = fuse(lists, {"joint": 1.0, "text": 1.0}, "rrf", 60, spaces.__getitem__)
    summed = fuse(lists, {"joint": 1.0, "text": 1.0}, "rrf", 60)
    assert [c.chunk_id for c in summed] == [PASSAGE, IMAGE]  # what a plain sum would do
    assert [c.chunk_id for c in fair] == [IMAGE, PASSAGE]


def test_space_weights_decide_between_disagreeing_spaces():
    lists = {"joint": ranked(10, 20), "text": ranked(20, 10)}
    spaces = dict.fromkeys((10, 20), BOTH)
    assert fuse(lists, {"joint": 3.0, "text": 1.0}, "rrf", 60, spaces.__getitem__)[0].chunk_id == 10
    assert fuse(lists, {"joint": 1.0, "text": 3.0}, "rrf", 60, spaces.__getitem__)[0].chunk_id == 20


def test_similarity_is_the_best_cosine_and_max_fusion_ranks_by_it():
    lists = {
        "joint": (np.array([0.3, 0.2], np.float32), np.array([1, 2])),
        "text": (np.array([0.8], np.float32), np.array([2])),
    }
    fused = fuse(lists, {}, "max", 60)
    assert [c.chunk_id for c in fused] == [2, 1] and fused[0].similarity == np.float32(0.8)


def test_best_chunk_per_item_keeps_order_and_drops_unknown_chunks():
    lists = {"joint": ranked(1, 2, 3, 4)}
    scored = fuse(lists, {}, "rrf", 60)
    owner = {1: 100, 2: 100, 4: 200}  # chunk 3's item vanished
    assert [c.chunk_id for c in best_per_item(scored, owner)] == [1, 4]
