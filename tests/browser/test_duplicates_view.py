"""The duplicates view and collapsed search results, as a new user meets them: a folder holding copies of
photos is indexed, the Duplicates tab shows each group side by side with the keeper marked and what the
others take, a tier filter, and a button that copies the others' paths (what `anyseek duplicates --paths`
prints); a search with "One per duplicate group" shows one picture per group. Nothing is deleted."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.actions import search

pytestmark = pytest.mark.adds_to_index


@pytest.fixture(scope="module")
def copies(served):
    """Copies of three of the demo photos: the same bytes and a re-encode of the red circle, a smaller blue
    heart, the same bytes of the green square; indexed through the server's job API (the models are loaded there)."""
    photos, folder = served.media / "photos", served.scratch / "copies"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(photos / "red-circle.jpg", folder / "red-circle-copy.jpg")
    Image.open(photos / "red-circle.jpg").save(folder / "red-circle-q60.jpg", quality=60)
    Image.open(photos / "blue-heart.jpg").resize((160, 160)).save(folder / "blue-heart-small.jpg", quality=85)
    shutil.copyfile(photos / "green-square.jpg", folder / "green-square-copy.jpg")  # only the same bytes
    job = served.call("POST", "/jobs/index", {"path": str(folder)})
    deadline = time.monotonic() + 300
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
        job = served.call("GET", f"/jobs/{job['job_id']}")
    assert job["state"] == "completed", job
    return folder


def _names(locator) -> list[str]:
    return [Path(text).name for text in locator.all_inner_texts()]


def open_duplicates(page) -> None:
    page.click("#tab-duplicates")
    page.locator("#dup-groups .dup-group").first.wait_for()


def test_each_group_is_shown_side_by_side_with_its_keeper_and_the_bytes_to_free(page, served, copies):
    open_duplicates(page)
    groups = page.locator("#dup-groups .dup-group")
    by_names = {}
    for i in range(groups.count()):
        group = groups.nth(i)
        names = frozenset(_names(group.locator(".dup-file .thumb-name")))
        by_names[names] = group
        assert group.locator(".dup-file.keeper").count() == 1  # one keeper, marked
        assert group.locator(".keeper .keep-mark").inner_text() == "Keep"
        assert "frees" in group.locator(".dup-head").inner_text()
    circle = frozenset({"red-circle.jpg", "red-circle-copy.jpg", "red-circle-q60.jpg"})
    heart = frozenset({"blue-heart.jpg", "blue-heart-small.jpg"})
    assert circle in by_names and heart in by_names, list(by_names)
    assert _names(by_names[heart].locator(".keeper .thumb-name")) == ["blue-heart.jpg"]  # the larger picture
    # the pictures load: their thumbnail URLs carry the access codes the page needs (docs/security.md)
    page.wait_for_function("() => [...document.querySelectorAll('.dup-file img')].every(i => i.naturalWidth > 0)")
    page.select_option("#dup-tier", "exact")
    page.wait_for_function(
        "() => { const groups = [...document.querySelectorAll('.dup-group')];"
        " return groups.length && groups.every(g => g.dataset.tier === 'exact'); }"
    )
    exact = {frozenset(_names(g.locator(".thumb-name"))) for g in page.locator(".dup-group").all()}
    assert frozenset({"green-square.jpg", "green-square-copy.jpg"}) in exact
    assert circle not in exact  # a re-encode in a group makes it the duplicate tier
    assert "group" in page.locator("#dup-status").inner_text()


def test_copy_paths_of_the_others_gives_what_duplicates_paths_prints(page, served, copies):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_duplicates(page)
    page.click("#dup-copy-all")
    page.wait_for_function("() => document.getElementById('dup-copy-all').textContent === 'Copied'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    report = served.call("GET", "/duplicates?limit=1000")
    others = [item["path"] for group in report["groups"] for item in group["items"] if not item["keep"]]
    assert copied == "".join(path + "\n" for path in others)
    assert {Path(p).name for p in others} >= {"blue-heart-small.jpg"}
    assert all(Path(p).exists() for p in others)  # nothing was deleted
    first = page.locator("#dup-groups .dup-group").first
    first.locator(".dup-copy").click()
    one_group = page.evaluate("() => navigator.clipboard.readText()").splitlines()
    assert one_group == _names_paths(first)


def _names_paths(group) -> list[str]:
    return [t for t in group.locator(".dup-file:not(.keeper) .path").all_inner_texts()]


def test_one_per_duplicate_group_shows_one_picture_with_its_count(page, served, copies):
    circles = {"red-circle", "red-circle-copy", "red-circle-q60"}
    search(page, "a red circle")
    shown = {Path(n).stem for n in page.locator("#res-image .thumb-name").all_inner_texts()}
    assert len(shown & circles) >= 2  # every copy is a result of its own
    page.check("#collapse")
    page.wait_for_function("() => document.querySelector('#res-image .copies') !== null")
    shown = [Path(n).stem for n in page.locator("#res-image .thumb-name").all_inner_texts()]
    assert len(set(shown) & circles) == 1
    badge = page.locator("#res-image li").filter(has=page.locator(".copies")).filter(has_text="red-circle")
    assert badge.locator(".copies").inner_text() == "+2"
    page.select_option("#sort", "date")  # sorting by date keeps one per group
    page.wait_for_function("() => /result/.test(document.getElementById('status').textContent)")
    shown = [Path(n).stem for n in page.locator("#res-image .thumb-name").all_inner_texts()]
    assert len(set(shown) & circles) == 1
