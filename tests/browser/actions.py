"""What a person does on the page, as small functions the browser tests share."""

from __future__ import annotations

import base64
import re
from pathlib import Path

THUMB_NAMES = "#res-image .thumb .thumb-name"


def search(page, query: str) -> None:
    page.fill("#q", query)
    page.press("#q", "Enter")
    page.wait_for_function("() => /result|No results/.test(document.getElementById('status').textContent)")


def image_names(page, limit: int = 4) -> list[str]:
    return [Path(name).stem for name in page.locator(THUMB_NAMES).all_inner_texts()[:limit]]


def status_text(page) -> str:
    return page.locator("#status").inner_text()


def banner_text(page) -> str:
    page.locator("#banner").wait_for(state="visible")
    return page.locator("#banner").inner_text()


def drop_file(page, path: Path, mime: str, target: str = "#drop") -> None:
    """A real drop event carrying the file, as a drag from the desktop delivers it."""
    data = base64.b64encode(path.read_bytes()).decode()
    page.evaluate(
        """([data, name, mime, target]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            const zone = document.querySelector(target);
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
        }""",
        [data, path.name, mime, target],
    )


def paste_file(page, path: Path, mime: str) -> None:
    data = base64.b64encode(path.read_bytes()).decode()
    page.evaluate(
        """([data, name, mime]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            const init = { clipboardData: transfer, bubbles: true, cancelable: true };
            document.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        [data, path.name, mime],
    )


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))
