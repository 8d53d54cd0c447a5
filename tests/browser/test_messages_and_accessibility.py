"""A clear message for each failure, and an automated accessibility check (axe-core) of the main views."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.actions import banner_text, search
from tests.browser.harness import PHONE

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


@pytest.mark.stops_server
def test_a_server_that_has_stopped_is_said_plainly(page, served):
    search(page, "a red circle")
    served.stop()
    page.fill("#q", "a blue square")
    page.press("#q", "Enter")
    assert "Cannot reach the anyseek server" in banner_text(page)
    page.click("#tab-index")
    page.locator("#index-summary .error").wait_for()
    assert "Cannot reach" in page.locator("#index-summary").inner_text()


def test_an_empty_query_asks_for_something_to_search_for(page):
    page.press("#q", "Enter")
    assert "Type something to search for" in banner_text(page)
    page.keyboard.press("Escape")
    assert page.locator("#banner").is_hidden()


def test_a_query_the_server_rejects_shows_the_servers_reason(page):
    page.fill("#q", "- cartoon")
    page.press("#q", "Enter")
    assert "positive term" in banner_text(page)


def critical_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations)")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("critical", "serious")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_search_view_with_results_has_no_serious_accessibility_violations(open_page, scheme):
    page = open_page(color_scheme=scheme)
    search(page, "a yellow star next to a blue circle")
    page.locator("#res-audio .rec").first.wait_for()
    assert critical_violations(page) == []


def test_an_opened_result_has_no_serious_accessibility_violations(open_page):
    page = open_page(viewport=PHONE, color_scheme="dark")
    search(page, "a yellow star next to a blue circle")
    page.locator("#res-audio .title").first.click()
    page.locator("#detail .window").first.wait_for()
    assert critical_violations(page) == []


def test_the_index_view_has_no_serious_accessibility_violations(open_page):
    page = open_page(color_scheme="dark")
    page.click("#tab-index")
    page.locator("#index-summary .card").first.wait_for()
    assert critical_violations(page) == []
