"""Opening a result: the larger view, the whole document or transcript, "more like this", the file's place."""

from __future__ import annotations

import json

from tests.browser.actions import image_names, search, status_text, words
from tests.browser.harness import SPEECH
from tests.browser.test_search_page import SENTENCE


def test_an_opened_picture_shows_it_large_with_its_location(page, served):
    search(page, "a pink heart")
    page.locator("#res-image .thumb").filter(has_text="pink-heart").first.click()
    dialog = page.locator("#detail")
    dialog.locator("img.large").wait_for()
    assert dialog.locator("img.large").evaluate("img => img.decode().then(() => img.naturalWidth)") >= 256
    path = dialog.locator("#detail-path").inner_text()
    assert path.startswith(str(served.media)) and path.endswith("pink-heart.jpg")


def test_a_screenshot_found_by_its_words_marks_where_they_are(page):
    search(page, "connection refused by the database server")
    thumb = page.locator("#res-image .thumb").filter(has_text="error-dialog").first
    mark = thumb.locator(".text-box")
    mark.wait_for()
    picture, box = thumb.locator(".pic").bounding_box(), mark.bounding_box()
    # the thumbnail shows the middle square of the 560 x 190 dialog; the lines start 56 px from its top
    # (tests/fixtures/ocr/manifest.json) and run wider than the square
    assert abs((box["y"] - picture["y"]) / picture["height"] - 56 / 190) < 0.06
    assert box["x"] < picture["x"] + picture["width"] / 2 < box["x"] + box["width"]
    thumb.click()
    large = page.locator("#detail .large-pic")
    large.locator("img.large").wait_for()
    shown, marked = large.bounding_box(), large.locator(".text-box").bounding_box()
    # 18 px from the left of a 560 px wide picture, 56 px from the top of its 190 px
    assert abs((marked["x"] - shown["x"]) / shown["width"] - 18 / 560) < 0.03
    assert abs((marked["y"] - shown["y"]) / shown["height"] - 56 / 190) < 0.06


def test_an_opened_document_shows_the_whole_text_with_the_passage_marked(page):
    search(page, "fishing boats at the harbour")
    page.locator("#res-text .title").filter(has_text="harbour.txt").click()
    current = page.locator("#detail .passage.current")
    current.wait_for()
    assert "gulls follow them" in current.inner_text()
    assert current.locator("mark").count() > 0


def test_an_opened_recording_seeks_to_each_transcript_window_clicked(page):
    manifest = json.loads((SPEECH / "speech-manifest.json").read_text())["speech/walkthrough.ogg"]
    search(page, "a yellow star next to a blue circle")
    page.locator("#res-audio .title").filter(has_text="walkthrough.ogg").click()
    windows = page.locator("#detail .window")
    windows.first.wait_for()
    assert windows.count() >= 2
    assert len(words(page.locator("#detail .window.current").inner_text()) & SENTENCE) >= 3
    player = page.locator("#detail audio")
    first = windows.filter(has_text="drawings")  # "Here are my notes about the drawings."
    target = float(first.get_attribute("data-start"))
    assert abs(target - manifest[0]["start_s"]) <= 1.0
    first.click()
    page.wait_for_function(
        "([a, t]) => a.readyState >= 1 && Math.abs(a.currentTime - t) < 0.5", arg=[player.element_handle(), target]
    )


def test_more_like_this_searches_with_the_opened_item(page):
    search(page, "a red circle")
    page.locator("#res-image .thumb").filter(has_text="red-circle").first.click()
    page.click("#detail-like")
    page.wait_for_function("() => /results? for files like/.test(document.getElementById('status').textContent)")
    assert "like red-circle.jpg" in status_text(page)
    assert page.locator("#detail").evaluate("d => !d.open")
    assert len(image_names(page, 12)) > 0
