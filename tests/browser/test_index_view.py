"""The index view: what is indexed, and indexing a folder with live progress and a way to stop it."""

from __future__ import annotations

import re

import pytest

WATCH_STATES = """() => {
    window.seenStates = [];
    new MutationObserver(() => window.seenStates.push(document.getElementById('job-text').dataset.state))
        .observe(document.getElementById('job-text'), { attributes: true, childList: true, characterData: true });
}"""


def facts(page, card: str) -> dict[str, str]:
    section = page.locator("#index-summary .card").filter(has=page.locator(f"h3:text-is('{card}')"))
    terms = section.locator("dt").all_inner_texts()
    values = section.locator("dd").all_inner_texts()
    return dict(zip(terms, values))


def open_index(page) -> None:
    page.click("#tab-index")
    page.locator("#index-summary .card").first.wait_for()


def count(text: str) -> int:
    return int(text.replace(",", "").replace("\u202f", "").replace(".", ""))


def start_job(page, folder) -> None:
    page.evaluate(WATCH_STATES)
    page.fill("#job-path", str(folder))
    page.press("#job-path", "Enter")


def final_state(page) -> str:
    page.wait_for_function(
        "() => ['completed', 'cancelled', 'failed', 'error']"
        ".includes(document.getElementById('job-text').dataset.state)",
        timeout=120_000,
    )
    return page.locator("#job-text").get_attribute("data-state")


def test_the_index_view_shows_counts_models_and_the_files_that_failed(page):
    open_index(page)
    files = facts(page, "Files")
    assert count(files["Images"]) >= 12 and count(files["Documents"]) >= 3 and count(files["Recordings"]) >= 2
    assert any("demo-model" in value for value in facts(page, "Models").values())
    assert facts(page, "Runs")["Last run"].startswith("index")
    assert "broken.jpg" in page.locator("#index-summary .errors").inner_text()


@pytest.mark.adds_to_index
def test_indexing_a_folder_shows_live_progress_and_its_errors(page, served):
    open_index(page)
    before = count(facts(page, "Files")["Documents"])
    start_job(page, served.job_folder)
    assert final_state(page) == "completed", page.locator("#job-text").inner_text()
    assert "running" in page.evaluate("window.seenStates"), "no progress was shown while the job ran"
    done = re.search(r"Done: (\d+) files", page.locator("#job-text").inner_text())
    assert done and int(done.group(1)) >= 12
    assert "scan.png" in page.locator("#job-errors").inner_text()
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#index-summary dd')].some(d => parseInt(d.textContent) >= {before + 12})"
    )


@pytest.fixture()
def big_folder(served):
    folder = served.scratch / "receipts"
    folder.mkdir(exist_ok=True)
    for i in range(1000):
        (folder / f"receipt-{i:03d}.txt").write_text(f"Receipt {i}: {i % 7} litres of paint, paid in cash.")
    return folder


@pytest.mark.adds_to_index
def test_a_running_index_job_can_be_cancelled(page, big_folder):
    open_index(page)
    start_job(page, big_folder)
    page.locator("#job-cancel").wait_for(state="visible")
    page.click("#job-cancel")
    assert final_state(page) == "cancelled", page.locator("#job-text").inner_text()
    assert "Cancelled after" in page.locator("#job-text").inner_text()
    assert page.locator("#job-cancel").is_hidden()


def test_without_the_token_the_page_says_how_to_get_it(open_page, served):
    page = open_page(with_token=False)
    page.fill("#q", "a red circle")
    page.press("#q", "Enter")
    page.wait_for_function("() => document.body.innerText.includes('open the link that `anyseek serve` printed')")
    assert page.locator("#results img").count() == 0
    page.click("#tab-index")
    summary = page.locator("#index-summary .error")
    summary.wait_for()  # every read needs the token, the index view's too
    assert "This needs the access token: open the link that `anyseek serve` printed." in summary.inner_text()
    start_job(page, served.job_folder)
    assert final_state(page) == "error"
    assert "token" in page.locator("#job-text").inner_text()
