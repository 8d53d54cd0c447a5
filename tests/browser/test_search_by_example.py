"""Searching with a picture (dropped, pasted or picked) or with a question (uploaded or spoken into the
microphone), and what the page says when the server cannot use the file."""

from __future__ import annotations

import pytest

from data.demo_scenes import draw_scene
from tests.browser.actions import banner_text, drop_file, image_names, paste_file, words
from tests.browser.harness import QUESTION, silent_wav


@pytest.fixture(scope="module")
def drawing(tmp_path_factory):
    """A new drawing of a blue square (not the indexed one)."""
    path = tmp_path_factory.mktemp("query") / "my-blue-square.png"
    draw_scene("blue", "square", seed=1000).resize((256, 256)).save(path)
    return path


def wait_done(page) -> None:
    page.wait_for_function(
        "() => /result|No results/.test(document.getElementById('status').textContent)"
        " || !document.getElementById('banner').hidden"
    )


def test_a_dropped_picture_finds_the_same_colour_and_shape(page, drawing):
    drop_file(page, drawing, "image/png")
    wait_done(page)
    assert "blue-square" in image_names(page, 3)


def test_a_pasted_picture_searches_too(page, drawing):
    paste_file(page, drawing, "image/png")
    wait_done(page)
    assert "blue-square" in image_names(page, 3)


def test_an_uploaded_recording_shows_what_was_heard_and_finds_it(page):
    page.set_input_files("#file", QUESTION)
    wait_done(page)
    heard = page.locator("#heard")
    assert heard.is_visible()
    assert {"red", "circle"} <= words(heard.inner_text())
    assert "red-circle" in image_names(page, 3)


def test_a_question_spoken_into_the_microphone_is_heard(page):
    # Chromium's fake microphone plays the recorded question "Find a red circle." on a loop.
    page.click("#mic")
    page.wait_for_function("() => document.getElementById('mic').getAttribute('aria-pressed') === 'true'")
    page.wait_for_timeout(5500)  # the 2.3 s question twice over, so one whole copy is heard wherever the loop starts
    page.click("#mic")
    wait_done(page)
    assert page.locator("#banner").is_hidden(), page.locator("#banner").inner_text()
    assert words(page.locator("#heard").inner_text()) & {"red", "circle"}


def test_a_recording_with_no_speech_says_nothing_was_heard(page, tmp_path):
    page.set_input_files("#file", silent_wav(tmp_path / "silence.wav"))
    assert "No speech was heard" in banner_text(page)
    assert page.locator("#res-image .thumb").count() == 0


def test_a_file_that_is_not_a_picture_or_recording_is_rejected_with_the_reason(page, tmp_path):
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"%PDF-1.4 not something to search with")
    page.set_input_files("#file", notes)
    message = banner_text(page)
    assert "Could not search with notes.pdf" in message
    reason = message.split(":", 1)[1].lower()
    assert "image" in reason or "recording" in reason, "the server's reason is not shown"
