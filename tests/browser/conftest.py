"""Browser tests: Debian's Chromium driven by Playwright against one real `anyseek serve` per session, on an
index of the demo media built with the offline demo model. Where no browser can run they are all skipped
with one line saying why (`make test` installs Chromium when it can)."""

from __future__ import annotations

import pytest

from tests.browser.harness import (
    DESKTOP,
    QUESTION,
    browser_missing_reason,
    build_job_folder,
    launch,
    serve_fixture,
    to_wav,
)

MISSING = browser_missing_reason()


def pytest_collection_modifyitems(config, items):
    # Tests that index more files into the shared index run after every test that searches it, and the
    # test that stops the shared server runs last of all.
    items.sort(
        key=lambda item: (
            item.get_closest_marker("stops_server") is not None,
            item.get_closest_marker("adds_to_index") is not None,
        )
    )
    if MISSING is None:
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: {MISSING}")
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "adds_to_index: indexes more files into the shared index (runs late)")
    config.addinivalue_line("markers", "stops_server: stops the shared server (runs last)")


def pytest_terminal_summary(terminalreporter):
    if MISSING is not None:
        terminalreporter.write_line(f"!!! BROWSER TESTS SKIPPED: {MISSING} !!!", yellow=True, bold=True)


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    server, media = serve_fixture(base)
    server.media, server.scratch = media, base
    server.job_folder = build_job_folder(base)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    microphone = to_wav(QUESTION, tmp_path_factory.mktemp("microphone") / "question.wav")
    with sync_playwright() as playwright:
        chromium = launch(playwright, microphone)
        yield chromium
        chromium.close()


def _open(browser, served, viewport, color_scheme="light", with_token=True):
    context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    page.goto(served.page if with_token else served.base + "/")
    page.wait_for_selector("#q:focus")
    return page


@pytest.fixture()
def open_page(browser, served):
    """Opens the page (desktop by default) in a fresh context; fails the test on any uncaught script error."""
    pages = []

    def _open_page(viewport=DESKTOP, color_scheme="light", with_token=True):
        page = _open(browser, served, viewport, color_scheme, with_token)
        pages.append(page)
        return page

    yield _open_page
    for page in pages:
        errors = page.errors
        page.context.close()
        assert not errors, f"script errors on the page: {errors}"


@pytest.fixture()
def page(open_page):
    return open_page()
