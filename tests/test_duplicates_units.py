"""The pieces of duplicate finding that need no index: union-find, the text sketches, the frame rule, the
picture signals on generated pictures."""

from __future__ import annotations

from PIL import Image, ImageEnhance

from anyseek.engine.duplicates.fingerprints import (
    brightness_change,
    chroma_distance,
    colour_distance,
    hamming,
    picture_fingerprint,
)
from anyseek.engine.duplicates.grouping import UnionFind
from anyseek.engine.duplicates.texts import jaccard, sketch
from anyseek.engine.duplicates.videos import VideoRules, frames_agreement
from tests.media import photo


def _print(image: Image.Image):
    return picture_fingerprint(image, *image.size)


def test_union_find_merges_chains_and_keeps_the_weakest_link():
    links = UnionFind()
    links.union(1, 2, 0.99)
    links.union(3, 4, 0.9)
    links.union(2, 3, 0.95)
    links.union(7, 8, 1.0)
    assert sorted(links.sets()) == [[1, 2, 3, 4], [7, 8]]
    assert links.weakest[links.find(1)] == 0.9


def test_a_resized_reencoded_picture_keeps_its_hash_and_colours_and_another_does_not():
    original = photo(1, (640, 480))
    small = original.resize((200, 150))
    other = photo(2, (640, 480))
    a, b, c = _print(original), _print(small), _print(other)
    assert hamming(a.phash, b.phash) <= 6 and colour_distance(a.colour, b.colour) < 0.02
    assert hamming(a.phash, c.phash) > 16


def test_a_dark_variant_hashes_alike_but_its_light_does_not_match():
    original = photo(3, (640, 480))
    dark = ImageEnhance.Brightness(original).enhance(0.5)
    a, b = _print(original), _print(dark)
    assert hamming(a.phash, b.phash) <= 6  # the hash is blind to brightness by design...
    assert brightness_change(a.colour, b.colour) > 0.3  # ...the light is not
    assert chroma_distance(a.colour, a.colour) == 0.0


def test_black_and_flat_frames_are_marked_dark():
    assert _print(Image.new("RGB", (64, 64))).dark
    assert _print(Image.new("RGB", (64, 64), (200, 30, 30))).dark  # flat: one colour says nothing
    assert not _print(photo(4)).dark


def test_a_pdf_and_its_docx_text_match_despite_hyphens_and_ligatures():
    docx = "The efficient lighthouse keepers met twelve times this year to discuss the northern lamp and its lens."
    pdf = (
        "The efﬁcient light-\nhouse keepers met twelve times this year to discuss the northern lamp and its lens.\n\x0c"
    )
    other = "Tomatoes need full sun and regular watering; mulch keeps the soil moist in the summer months."
    assert jaccard(sketch(docx), sketch(pdf)) >= 0.85
    assert jaccard(sketch(docx), sketch(other)) < 0.2
    assert sketch("Too short to judge") is None


def test_videos_are_never_judged_by_fewer_than_three_frames():
    black = _print(Image.new("RGB", (64, 64)))
    scene = _print(photo(5))
    other = _print(photo(6))
    rules = VideoRules()
    mostly_black = (black,) * 7 + (scene, scene)
    assert frames_agreement(mostly_black, mostly_black, rules) is None
    assert frames_agreement((black,) * 4 + (scene,) * 5, (black,) * 4 + (scene,) * 5, rules) == 1.0
    assert frames_agreement((black,) * 4 + (scene,) * 5, (black,) * 4 + (other,) * 5, rules) == 0.0


def test_linking_a_block_of_pairs_at_once_gives_the_same_groups_and_weakest_links_as_one_by_one():
    """union_many is how a 100k-photo library's millions of candidate pairs are linked; it must change
    nothing but the time."""
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b, similarity = rng.integers(0, 200, 300), rng.integers(0, 200, 300), rng.uniform(0.5, 1.0, 300)
        one_by_one, at_once = UnionFind(), UnionFind()
        for x, y, s in zip(a.tolist(), b.tolist(), similarity.tolist()):
            one_by_one.union(x, y, s)
        at_once.union_many(a, b, similarity)
        assert sorted(one_by_one.sets()) == sorted(at_once.sets())
        for members in one_by_one.sets():
            weakest = one_by_one.weakest[one_by_one.find(members[0])]
            assert abs(at_once.weakest[at_once.find(members[0])] - weakest) < 1e-12
