"""Regenerates docs/screenshots/ (`make screenshots`): the page's main views on a desktop and a phone, light
and dark, served by a real `anyseek serve` on the demo media indexed with the demo model."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

from tests.browser.harness import ROOT, browser_missing_reason, build_job_folder, launch, serve_fixture

OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 360, "height": 780}}
QUERY = "a yellow star next to a blue circle"


def ready(page) -> None:
    page.wait_for_function("() => /result/.test(document.getElementById('status').textContent)")
    page.wait_for_function("() => [...document.querySelectorAll('#results img')].every(i => i.complete)")


def search_view(page) -> None:
    page.fill("#q", QUERY)
    page.press("#q", "Enter")
    ready(page)
    page.evaluate("() => document.activeElement.blur()")


def detail_view(page) -> None:
    search_view(page)
    page.locator("#res-audio .title").first.click()
    page.locator("#detail .window").first.wait_for()
    page.wait_for_timeout(300)


def index_view(page, job_folder: Path | None) -> None:
    page.click("#tab-index")
    page.locator("#index-summary .card").first.wait_for()
    if job_folder is None:
        return
    page.fill("#job-path", str(job_folder))
    page.press("#job-path", "Enter")
    page.wait_for_function("() => document.getElementById('job-text').dataset.state === 'completed'", timeout=120_000)
    page.wait_for_load_state("networkidle")  # the summary is read again once the job is done
    page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")


def save(page, name: str, full_page: bool) -> None:
    target = OUT / f"{name}.png"
    page.screenshot(path=str(target), full_page=full_page)
    # a palette of 256 colours keeps these flat UI pictures small without visible loss
    with Image.open(target) as shot:
        shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    print(f"{target.relative_to(ROOT)}  {target.stat().st_size // 1024} KiB")


def shoot(browser, server, base: Path, views: tuple[str, ...]) -> None:
    for device, viewport in SIZES.items():
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            for view in views:
                page = context.new_page()
                page.goto(server.page)
                page.wait_for_selector("#q:focus")
                if view == "search":
                    search_view(page)
                elif view == "result":
                    detail_view(page)
                else:
                    # a phone's first screen does not reach the job: only the desktop runs one
                    index_view(page, build_job_folder(base / scheme) if device == "desktop" else None)
                # a phone shows its first screen; a desktop the whole page (but a dialog covers one screen)
                save(page, f"{view}-{device}-{scheme}", full_page=device == "desktop" and view != "result")
                page.close()
            context.close()


def main() -> None:
    if reason := browser_missing_reason():
        sys.exit(f"cannot take screenshots: {reason}")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.gettempdir()) / "anyseek-demo"  # a short, stable path for the pictures to show
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    try:
        server, _ = serve_fixture(base)
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                shoot(browser, server, base, ("search", "result"))
                shoot(browser, server, base, ("index",))  # last: its jobs add notes to the index
                browser.close()
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
