"""`anyseek duplicates` end to end, in subprocesses, as a user runs it: index a photo folder holding copies,
find the groups, hand the non-keepers' paths to a script. Nothing is deleted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import duplicate_media
from tests.duplicate_media import DEMO_MODEL
from tests.test_cli_e2e import anyseek


@pytest.fixture(scope="module")
def photo_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    expected = duplicate_media.pictures(folder)
    index = tmp_path_factory.mktemp("photo-index")
    done = anyseek("index", str(folder), "--joint-model", str(DEMO_MODEL), "--json", index=index)
    assert done.returncode == 0, done.stderr
    return folder, index, expected


def test_the_table_lists_each_group_with_its_keeper_and_the_bytes_to_free(photo_index):
    folder, index, expected = photo_index
    done = anyseek("duplicates", index=index)
    assert done.returncode == 0, done.stderr
    assert f"{len(expected)} groups among" in done.stdout
    assert "keep" in done.stdout and "p2-small.jpg" in done.stdout
    assert "in files other than the keepers" in done.stdout


def test_paths_are_the_non_keepers_only_and_nothing_is_deleted(photo_index):
    folder, index, expected = photo_index
    before = sorted(p.name for p in folder.iterdir())
    done = anyseek("duplicates", "--paths", index=index)
    assert done.returncode == 0, done.stderr
    printed = {Path(line).name for line in done.stdout.splitlines()}
    assert len(printed) == len(expected)  # one per group of two
    assert printed & {"p2-small.jpg", "p4-crop.jpg"} == {"p2-small.jpg", "p4-crop.jpg"}  # the larger stays
    assert not printed & {"p2.jpg", "p4.jpg"}
    assert all(any(name in group for group in expected.values()) for name in printed)
    assert sorted(p.name for p in folder.iterdir()) == before


def test_json_has_the_documented_shape(photo_index):
    _, index, expected = photo_index
    done = anyseek("duplicates", "--json", index=index)
    data = json.loads(done.stdout)
    assert data["version"] == 1
    groups = [{Path(i["path"]).name for i in g["items"]} for g in data["groups"]]
    assert sorted(map(sorted, groups)) == sorted(map(sorted, expected.values()))
    assert {g["kind"] for g in data["groups"]} == {"image"}
    assert all(sum(i["keep"] for i in g["items"]) == 1 for g in data["groups"])


def test_an_unknown_tier_is_one_line_of_error(photo_index):
    _, index, _ = photo_index
    done = anyseek("duplicates", "--tier", "blurry", index=index)
    assert done.returncode == 2  # a usage error, as for any bad argument
    assert done.stderr.strip().splitlines()[0].startswith("error:") and "tier" in done.stderr


def test_search_collapses_duplicates_into_one_hit_with_the_others(photo_index):
    folder, index, expected = photo_index
    query = ("search", "--like", str(folder / "p1.jpg"), "-t", "image", "-k", "20")
    plain = json.loads(anyseek(*query, "--json", index=index).stdout)["hits"]
    done = anyseek(*query, "--collapse-duplicates", "--json", index=index)
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)["hits"]
    group_of = {name: frozenset(group) for group in expected.values() for name in group}
    shown = [Path(h["path"]).name for h in hits]
    assert len({group_of.get(n, n) for n in shown}) == len(shown)  # one hit per group
    assert {Path(h["path"]).name for h in plain} - set(shown) <= set(group_of)  # only copies went away
    p1 = next(h for h in hits if Path(h["path"]).name in expected["p1"])
    assert p1["group_size"] == 2
    assert [Path(d["path"]).name for d in p1["duplicates"]] == list(expected["p1"] - {Path(p1["path"]).name})
    assert all("duplicates" not in h for h in hits if Path(h["path"]).name not in group_of)
    table = anyseek(*query, "--collapse-duplicates", index=index)
    assert "+1 duplicate" in table.stdout
