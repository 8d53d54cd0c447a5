"""Duplicate finding on a real index of real files (the demo model's joint space, MiniLM, Whisper): which
files are grouped, in which tier, and which one is kept. Memberships, never exact similarities."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import duplicate_media
from tests.duplicate_media import DEMO_MODEL


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from anyseek.engine import Engine

    root = tmp_path_factory.mktemp("library")
    expected = {
        **duplicate_media.pictures(root / "pictures"),
        **duplicate_media.documents(root / "docs"),
        **duplicate_media.recordings(root / "recordings"),
        **duplicate_media.videos(root / "videos"),
    }
    bursts = duplicate_media.burst(root / "burst")
    eng = Engine.open(tmp_path_factory.mktemp("index"), joint_model=str(DEMO_MODEL), device="cpu")
    report = eng.index([root])
    assert not report.errors
    yield eng, root, expected, bursts
    eng.close()


def _names(report, tier: str | None = None) -> list[set[str]]:
    return [{Path(i.path).name for i in g.items} for g in report.groups if tier is None or g.tier == tier]


@pytest.mark.parametrize("use_embeddings", [True, False], ids=["hash-and-model", "hash-only"])
def test_copies_reencodes_resizes_crops_and_conversions_are_grouped_and_lookalikes_are_not(library, use_embeddings):
    from anyseek.engine.duplicates import DuplicateRules

    eng, _, expected, _ = library
    report = eng.duplicates(rules=DuplicateRules(use_embeddings=use_embeddings))
    found = _names(report)
    assert sorted(map(sorted, found)) == sorted(map(sorted, expected.values()))
    # the dark variant, the half and the mirrored picture stand alone (they are in no group at all)
    grouped = set().union(*found)
    assert not grouped & {"p6.jpg", "p6-dark.jpg", "p6-mirrored.jpg", "p7.jpg", "p7-half.jpg", "next-day.jpg"}


def test_identical_bytes_are_the_exact_tier_and_other_copies_the_duplicate_tier(library):
    eng, *_ = library
    report = eng.duplicates()
    assert _names(report, "exact") == [{"p0.jpg", "p0-copy.jpg"}]
    kinds = {(g.modality.value, g.tier.value) for g in report.groups}
    assert {("image", "duplicate"), ("text", "duplicate"), ("audio", "duplicate"), ("video", "duplicate")} <= kinds
    assert all(g.similarity == 1.0 for g in report.groups if g.tier == "exact")
    assert all(0.5 < g.similarity <= 1.0 for g in report.groups)


def test_the_keeper_is_the_largest_picture_and_the_freed_bytes_are_the_others(library):
    eng, root, *_ = library
    report = eng.duplicates(modalities="image")
    by_names = {frozenset(Path(i.path).name for i in g.items): g for g in report.groups}
    resized = by_names[frozenset({"p2.jpg", "p2-small.jpg"})]
    assert Path(resized.keeper.path).name == "p2.jpg"
    assert resized.bytes_freed == (root / "pictures" / "p2-small.jpg").stat().st_size
    assert resized.items[0].keep and not resized.items[1].keep  # the keeper comes first
    cropped = by_names[frozenset({"p4.jpg", "p4-crop.jpg"})]
    assert Path(cropped.keeper.path).name == "p4.jpg"
    assert report.bytes_freed == sum(g.bytes_freed for g in report.groups)


def test_of_identical_files_the_oldest_is_kept(library, tmp_path):
    eng, root, *_ = library
    original, copy = root / "pictures" / "p0.jpg", root / "pictures" / "p0-copy.jpg"
    os.utime(copy, ns=(10**18, 10**18))
    os.utime(original, ns=(2 * 10**18, 2 * 10**18))
    eng.index([root])
    try:
        group = next(g for g in eng.duplicates(tiers="exact").groups)
        assert Path(group.keeper.path).name == "p0-copy.jpg"
    finally:
        os.utime(original, ns=(10**18, 10**18))
        eng.index([root])


def test_bursts_are_reported_only_when_asked_and_apart_from_duplicates(library):
    eng, _, _, bursts = library
    assert not _names(eng.duplicates(), "similar")
    report = eng.duplicates(similar=True)
    similar = _names(report, "similar")
    assert similar == [bursts]  # the shot of the same place a day later is not in the burst
    assert _names(eng.duplicates(tiers="similar"), None) == [bursts]


def test_groups_are_paged_and_filtered_by_tier_and_kind(library):
    eng, *_ = library
    everything = eng.duplicates()
    first, rest = eng.duplicates(limit=2), eng.duplicates(offset=2)
    assert first.total == rest.total == everything.total == len(everything.groups)
    assert [g.items for g in first.groups + rest.groups] == [g.items for g in everything.groups]
    assert {g.modality.value for g in eng.duplicates(modalities=["text"]).groups} == {"text"}
    assert {g.tier.value for g in eng.duplicates(tiers=["duplicate"]).groups} == {"duplicate"}


def test_bad_paging_or_tier_is_a_clear_error(library):
    from anyseek.engine.errors import QueryError

    eng, *_ = library
    with pytest.raises(QueryError, match="tier"):
        eng.duplicates(tiers="blurry")
    with pytest.raises(QueryError, match="offset"):
        eng.duplicates(offset=-1)


def test_json_is_versioned_and_names_each_item_and_its_keeper(library):
    eng, *_ = library
    data = eng.duplicates().to_dict()
    assert data["version"] == 1
    group = data["groups"][0]
    assert {"kind", "similarity", "items"} <= set(group)
    # version 1's keys, plus keys added beside them (size, bytes_freed) that a v1 reader ignores
    assert all({"item_id", "path", "keep", "size"} <= set(item) for item in group["items"])
    assert sum(item["keep"] for item in group["items"]) == 1
    assert group["bytes_freed"] == sum(item["size"] for item in group["items"] if not item["keep"])
    assert type(eng.duplicates()).from_dict(eng.duplicates().to_dict(exact=True)) == eng.duplicates()


def test_fingerprints_are_kept_and_a_changed_picture_is_fingerprinted_again(library):
    from anyseek.engine.duplicates.signatures import CACHE_DIR

    eng, root, *_ = library
    eng.duplicates()
    assert (eng.home / CACHE_DIR / "pictures.npz").exists()
    assert (eng.home / CACHE_DIR / "frames.npz").exists()
    changed = root / "pictures" / "p1-q55.jpg"
    saved = changed.read_bytes()
    try:
        duplicate_media.photo(99, (640, 480)).save(changed, quality=60)
        eng.index([root])
        assert {"p1.jpg", "p1-q55.jpg"} not in _names(eng.duplicates())
    finally:
        changed.write_bytes(saved)
        eng.index([root])
    assert {"p1.jpg", "p1-q55.jpg"} in _names(eng.duplicates())


def test_a_file_gone_since_indexing_is_named_and_the_rest_still_grouped(library, tmp_path):
    eng, root, *_ = library
    gone = root / "pictures" / "p5-bright.webp"
    saved = gone.read_bytes()
    from anyseek.engine.duplicates.signatures import CACHE_DIR

    cache = eng.home / CACHE_DIR / "pictures.npz"
    cache.unlink(missing_ok=True)
    gone.unlink()
    try:
        report = eng.duplicates(modalities=("image", "video"), tiers="duplicate,exact", limit=50)
        assert any("p5-bright.webp" in w for w in report.warnings)
        assert {"p1.jpg", "p1-q55.jpg"} in _names(report)
    finally:
        gone.write_bytes(saved)


def test_http_pages_the_groups_and_filters_by_tier(library):
    from tests.server_helpers import API, client_for

    eng, *_ = library
    client = client_for(eng)
    everything = eng.duplicates()
    first = client.get(f"{API}/duplicates", params={"limit": 3})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["version"] == 1 and body["total"] == everything.total and len(body["groups"]) == 3
    rest = client.get(f"{API}/duplicates", params={"offset": 3, "limit": 100}).json()
    seen = [g["items"][0]["item_id"] for g in body["groups"] + rest["groups"]]
    assert seen == [g.items[0].item_id for g in everything.groups]
    exact = client.get(f"{API}/duplicates", params={"tier": "exact"}).json()
    assert {g["tier"] for g in exact["groups"]} == {"exact"}
    bursts = client.get(f"{API}/duplicates", params=[("tier", "similar"), ("type", "image")]).json()
    assert [g["tier"] for g in bursts["groups"]] == ["similar"]
    assert client.get(f"{API}/duplicates", params={"tier": "blurry"}).status_code == 422


# --- search with collapse_duplicates (engine/search/collapse.py) -------------------------------------


def _groups_by_name(eng) -> dict[str, frozenset[str]]:
    """file name -> the names of its exact or duplicate group."""
    out = {}
    for group in eng.duplicates().groups:
        names = frozenset(Path(i.path).name for i in group.items)
        out.update(dict.fromkeys(names, names))
    return out


def test_a_collapsed_search_shows_one_hit_per_group_the_best_ranked_with_the_others(library):
    eng, root, expected, _ = library
    groups = _groups_by_name(eng)
    query = {"query": "a photo", "modalities": "image", "k": 50}  # every picture (`like` leaves itself out)
    plain, collapsed = eng.search(**query), eng.search(**query, collapse_duplicates=True)
    plain_names = [Path(h.path).name for h in plain]
    assert {"p1.jpg", "p1-q55.jpg"} <= set(plain_names)  # both copies are hits without collapsing
    shown = [Path(h.path).name for h in collapsed]
    assert len(shown) == len(set(map(groups.get, shown)) - {None}) + sum(n not in groups for n in shown)
    best = {}
    for hit in plain:  # each group's best score among the plain hits: its shown hit has it (ties either way)
        key = groups.get(Path(hit.path).name, hit.path)
        best[key] = max(best.get(key, 0.0), hit.score)
    for hit in collapsed:
        name = Path(hit.path).name
        assert hit.score == pytest.approx(best[groups.get(name, hit.path)], abs=1e-6)
        if name in groups:
            assert hit.group_size == len(groups[name])
            assert {Path(d.path).name for d in hit.duplicates} == groups[name] - {name}
        else:
            assert hit.group_size is None and not hit.duplicates
    # nothing but the other copies went away
    assert set(plain_names) - set(shown) <= {n for h in collapsed for n in (Path(d.path).name for d in h.duplicates)}
    wire = collapsed.hits[0].to_dict(exact=True)
    assert type(collapsed.hits[0]).from_dict(wire) == collapsed.hits[0]


def test_collapsed_pages_follow_each_other_and_sort_by_date_keeps_one_per_group(library):
    eng, root, *_ = library
    groups = _groups_by_name(eng)
    query = {"query": "a photo", "modalities": "image", "collapse_duplicates": True}
    everything = eng.search(**query, k=200)
    first, rest = eng.search(**query, k=4), eng.search(**query, k=200, offset=4)
    assert len(first) == 4
    pages = [h.item_id for h in first] + [h.item_id for h in rest]
    assert len(pages) == len(set(pages)) and set(pages) == {h.item_id for h in everything}
    dated = eng.search(**query, k=200, sort="date")
    names = [Path(h.path).name for h in dated]
    assert len({groups.get(n, n) for n in names}) == len(names)
    times = [h.captured_at for h in dated if h.captured_at is not None]
    assert times == sorted(times, reverse=True) and times  # the burst's shots are dated


def test_the_groups_are_kept_on_disk_so_a_new_process_collapses_without_grouping(library, monkeypatch):
    from anyseek.engine import Engine
    from anyseek.engine.duplicates import DuplicateFinder

    eng, root, *_ = library
    eng.duplicates()  # the current revision's groups, kept in <index>/duplicates/groups.json
    query = {"like": str(root / "pictures" / "p2.jpg"), "modalities": "image", "k": 50, "collapse_duplicates": True}
    expected = [h.item_id for h in eng.search(**query)]

    def grouping_again(*_args, **_kwargs):
        raise AssertionError("the groups were computed again for one query")

    monkeypatch.setattr(DuplicateFinder, "find", grouping_again)
    with Engine.open(eng.home, joint_model=str(DEMO_MODEL), device="cpu") as fresh:
        assert [h.item_id for h in fresh.search(**query)] == expected


def test_a_new_copy_is_collapsed_once_it_is_indexed(library):
    import shutil

    eng, root, *_ = library
    query = {"like": str(root / "pictures" / "p3.jpg"), "modalities": "image", "k": 50, "collapse_duplicates": True}
    extra = root / "pictures" / "p3-again.jpg"
    shutil.copyfile(root / "pictures" / "p3.jpg", extra)
    eng.index([root])
    try:
        hit = next(h for h in eng.search(**query) if Path(h.path).name.startswith("p3"))
        assert hit.group_size == 3
        assert "p3-again.jpg" in {Path(d.path).name for d in hit.duplicates} | {Path(hit.path).name}
    finally:
        extra.unlink()
        eng.index([root])
