"""Typing a query: pictures as a grid, documents with the matched words marked, recordings with a player
that starts at the moment that matched."""

from __future__ import annotations

import json

from tests.browser.actions import image_names, search, status_text, words
from tests.browser.harness import SPEECH

SENTENCE = {"yellow", "star", "next", "blue", "circle"}


def test_a_typed_query_shows_the_matching_picture_among_the_first_thumbnails(page):
    search(page, "a pink heart")
    assert "pink-heart" in image_names(page, 3)
    thumb = page.locator("#res-image .thumb img").first
    # the thumbnail is made on its first request: wait for it to load (or fail) rather than sample it once
    loaded = thumb.evaluate("img => img.decode().then(() => img.naturalWidth > 0, () => false)")
    assert loaded, "the thumbnail did not load"
    assert "result" in status_text(page)


def test_documents_show_a_snippet_with_the_query_words_marked(page):
    search(page, "fishing boats at the harbour")
    docs = page.locator("#res-text .doc")
    titles = docs.locator(".title").all_inner_texts()
    assert "harbour.txt" in titles[:2]
    harbour = docs.filter(has_text="harbour.txt")
    marked = {m.lower() for m in harbour.locator(".snippet mark").all_inner_texts()}
    assert marked & {"fishing", "boats", "harbour"}, f"no query word marked, got {marked}"


def test_a_recording_hit_plays_from_where_the_words_were_said(page):
    truth = json.loads((SPEECH / "speech-manifest.json").read_text())["speech/walkthrough.ogg"][1]["start_s"]
    search(page, "a yellow star next to a blue circle")
    row = page.locator("#res-audio .rec").filter(has_text="walkthrough.ogg")
    row.wait_for()
    assert len(words(row.locator(".snippet").inner_text()) & SENTENCE) >= 3  # Whisper's words vary by CPU
    player = row.locator("audio")
    start = float(player.get_attribute("data-start"))
    assert abs(start - truth) <= 1.0, f"hit starts at {start:.2f} s, the sentence at {truth:.2f} s"
    page.wait_for_function("a => a.readyState >= 1 && a.currentTime > 0", arg=player.element_handle())
    assert abs(player.evaluate("a => a.currentTime") - start) <= 0.3
    player.evaluate("a => a.play()")
    page.wait_for_function("a => !a.paused || a.ended", arg=player.element_handle())
    assert player.evaluate("a => a.currentTime") >= start - 0.3, "pressing play went back to the beginning"


def test_type_filters_leave_out_the_unchecked_kinds(page):
    page.uncheck("input[value=image]")
    search(page, "a blue square")
    assert page.locator("#res-image").is_hidden()
    assert page.locator("#res-text .doc, #res-audio .rec").count() > 0
    page.check("input[value=image]")  # a change of filter searches again
    page.locator("#res-image .thumb").first.wait_for()
    assert "blue-square" in image_names(page, 3)


def test_a_folder_with_nothing_in_it_says_there_are_no_results(page):
    page.click(".options summary")
    page.fill("#folder", "/no/such/folder")
    search(page, "a red circle")
    assert "No results" in status_text(page)
    assert page.locator("#res-image .thumb, #res-text .doc, #res-audio .rec").count() == 0


def test_only_the_positive_text_terms_of_a_query_are_marked(page):
    marked = page.evaluate(
        """() => import('/static/render.js').then((m) => [
            m.queryWords('dog + 2:beach - cartoon'),
            m.queryWords('- cartoon + fishing boats'),
            [...m.highlight('Boats and dogs on a beach', m.queryWords('dog + boat')).querySelectorAll('mark')]
                .map((e) => e.textContent),
        ])"""
    )
    assert marked == [["dog", "beach"], ["fishing", "boats"], ["Boats", "dogs"]]


def test_the_token_leaves_the_address_bar_and_stays_with_the_tab(page, served):
    assert "token" not in page.url
    assert page.evaluate("() => sessionStorage.getItem('anyseek.token')") == served.token
    page.reload()  # a reload keeps it: starting a job still works without the link
    assert page.evaluate("() => sessionStorage.getItem('anyseek.token')") == served.token


def test_newest_first_asks_for_the_same_matches_in_capture_date_order(page):
    search(page, "a pink heart")
    best_first = set(image_names(page, 30))
    page.select_option("#sort", "date")
    with page.expect_request(lambda r: r.url.endswith("/search") and '"sort":"date"' in (r.post_data or "")):
        search(page, "a pink heart")
    assert set(image_names(page, 30)) == best_first  # the same hits, another order
