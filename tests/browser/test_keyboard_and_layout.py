"""The page with the keyboard alone, and on a phone-width screen."""

from __future__ import annotations

from tests.browser.actions import image_names, search
from tests.browser.harness import PHONE


def active(page, script: str):
    return page.evaluate(f"() => {{ const a = document.activeElement; return {script}; }}")


def tab_until(page, selector: str, limit: int = 30) -> int:
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab")


def test_the_keyboard_alone_searches_moves_through_the_grid_and_opens_a_result(page):
    assert active(page, "a.id") == "q"  # the search box has the focus on arrival
    page.keyboard.type("a blue square")
    page.keyboard.press("Enter")
    page.locator("#res-image .thumb").nth(5).wait_for()
    tab_until(page, "#file")  # the focus order passes the file picker on the way to the results
    tab_until(page, "#res-image .thumb")
    first = active(page, "a.dataset.item")
    page.keyboard.press("ArrowRight")
    second = active(page, "a.dataset.item")
    assert second != first
    page.keyboard.press("ArrowLeft")
    assert active(page, "a.dataset.item") == first
    columns = page.evaluate(
        "() => { const b = [...document.querySelectorAll('#res-image .thumb')];"
        " return b.filter(x => x.offsetTop === b[0].offsetTop).length; }"
    )
    page.keyboard.press("ArrowDown")
    assert active(page, "[...document.querySelectorAll('#res-image .thumb')].indexOf(a)") == columns
    page.keyboard.press("Enter")
    page.locator("#detail img.large").wait_for()
    page.keyboard.press("Escape")
    assert page.locator("#detail").evaluate("d => !d.open")
    assert active(page, "[...document.querySelectorAll('#res-image .thumb')].indexOf(a)") == columns
    page.keyboard.press("/")  # anywhere outside a text field, "/" goes back to the search box
    assert active(page, "a.id") == "q"


def test_at_phone_width_nothing_overflows_and_results_fit(open_page):
    page = open_page(viewport=PHONE)
    search(page, "a red circle")
    assert "red-circle" in image_names(page, 4)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    boxes = [page.locator("#res-image .thumb").nth(i).bounding_box() for i in range(3)]
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] for box in boxes)
    assert boxes[1]["y"] == boxes[0]["y"], "the grid shows one thumbnail per row on a phone"
    page.locator("#res-audio .rec audio").first.wait_for()
    page.locator("#res-image .thumb").first.click()
    box = page.locator("#detail").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
