"""Text in pictures as chunks of their item: a photo, a video's kept frames, the pages of a PDF that have no
text layer. The reading itself is ocr.py's; this module decides which pictures, gathers what they say into
chunks after the item's others, and keeps what the item records: which reader read it and what failed.

An item's `ocr` (records.Item.ocr) is the reader's name, with FAILED at its end when a picture's reading
failed or ran out of time (the run's report says which); OFF when its pictures were not read; None when it
has no picture to read. A run whose reader differs reads the pictures again (indexer/pipeline.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Chunk, Item, Modality
from anyseek.indexer.extract.ocr import PAGE_SIDE, PictureReader, PictureText
from anyseek.indexer.extract.ocr_layout import Window, text_chunks
from anyseek.media.image import Photo, open_photo, open_raw

OFF = "off"
FAILED = " (failed)"
# A scanned page is rendered at this resolution to be read (its boxes are in these pixels). 150 dpi puts
# 12 pt text ~25 px tall, well over what the recogniser needs; on tests/fixtures/ocr/scan.pdf it read 100%
# of the words in 3-4 s, where 200 dpi read 94% in 6.5 s (a larger page for the detector, no gain).
PDF_DPI = 150
PICTURED = (Modality.IMAGE, Modality.VIDEO)


@dataclass(slots=True)
class PictureTexts:
    """A file's pictures' text as it is read, picture by picture."""

    reader: PictureReader | None
    window: Window
    chunks: list[Chunk] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    chars: int = 0
    pictures: int = 0  # how many pictures the file has to read (read or not)

    def add(self, text: PictureText, first_ordinal: int, **where) -> list[Chunk]:
        if text.failure:
            self.failures.append(text.failure)
        chunks = text_chunks(text, self.window, first_ordinal + len(self.chunks), **where) if text.lines else []
        self.chunks += chunks
        self.chars += sum(len(chunk.text or "") for chunk in chunks)
        return chunks

    @property
    def state(self) -> str | None:
        """What the item records (see the module's doc)."""
        if not self.pictures:
            return None
        if self.reader is None:
            return OFF
        return self.reader.name + (FAILED if self.failures else "")

    def warnings(self, what: str = "picture") -> list[str]:
        if not self.failures:
            return []
        more = len(self.failures) - 1
        return [
            self.failures[0] + (f" (and in {more} more {what}{'s' if more > 1 else ''} of the file)" if more else "")
        ]


def reading_needed(item: Item, reader: str | None, retry_failed: bool) -> str | None:
    """What an unchanged, indexed item needs from a run whose reader is `reader` (None: OCR off):
    "pictures" (read its pictures again, keep the rest), "file" (extract it all again: a PDF's text and its
    read pages are one extraction) or None."""
    stored = item.ocr
    if item.status != "ok" or (stored is None and item.modality not in PICTURED):
        return None
    failed = stored is not None and stored.endswith(FAILED)
    read_by = (stored or OFF).removesuffix(FAILED)
    if read_by == (reader or OFF) and not (failed and retry_failed and reader):
        return None
    return "pictures" if item.modality in PICTURED else "file"


def photo_text(reader: PictureReader, path: bytes, fmt: str, max_pixels: int, photo: Photo | None) -> PictureText:
    """A photo's text: read from `photo` where the decode for the model kept it, else decoded here at the
    glance's size; the full resolution is decoded only where there is text to read."""
    opener = open_raw if fmt == "raw" else open_photo
    if photo is None:
        photo = opener(path, max_pixels, draft_size=PAGE_SIDE)
    return reader.read(photo.image, photo.size, lambda: opener(path, max_pixels).image)


def pdf_with_pictures(path: bytes, split, max_chars: int, pictures: PictureTexts) -> list[Chunk]:
    """A PDF's passages, plus the text read on its pages without a text layer (each with its page), in
    page order. A PDF that has no text at all, read or layered, is an error that says why."""
    from anyseek.media.documents import pdf_page_pictures, pdf_passages

    unread: list[int] = []
    layered = pdf_passages(path, split, max_chars, unread)
    pictures.pictures = len(unread)
    if unread and pictures.reader is not None:
        for page, picture in pdf_page_pictures(path, unread, PDF_DPI):
            pictures.add(pictures.reader.read(picture), 0, page=page)
            if pictures.chars > max_chars:
                raise ExtractionError(
                    f"document text is over the {max_chars / 2**20:.0f} MB cap (setting max_text_bytes)"
                )
    if not layered and not pictures.chunks:
        count = f"{len(unread)} page{'s' if len(unread) != 1 else ''}"
        if pictures.reader is None:
            raise ExtractionError(f"scanned PDF: no text layer on its {count}, and OCR is off (setting ocr)")
        found = f"OCR failed: {pictures.failures[0]}" if pictures.failures else "OCR found no text on them"
        raise ExtractionError(f"scanned PDF: no text layer on its {count}, and {found}")
    ordered = sorted(layered + pictures.chunks, key=lambda c: (c.page or 0, c.kind != "passage", c.ordinal))
    return [dataclasses.replace(chunk, ordinal=n) for n, chunk in enumerate(ordered)]


def frame_reader(pictures: PictureTexts) -> Callable:
    """What media/video.py hands each kept frame to: its text, read now, placed once the frames' times are
    known (see place_frames)."""
    read: list[tuple[int, PictureText]] = []

    def on_frame(index: int, picture) -> None:
        pictures.pictures += 1
        read.append((index, pictures.reader.read(picture)))

    on_frame.read = read  # type: ignore[attr-defined]
    return on_frame


def place_frames(pictures: PictureTexts, on_frame, spans: list[tuple[float, float]], first_ordinal: int) -> None:
    """The frames' text as chunks with their frames' times. A text that stays on screen across frames (a
    slide, a title) is one chunk whose time runs from its first frame to its last, not one per frame."""
    showing: dict[str, Chunk] = {}
    for index, text in on_frame.read:
        start, end = spans[index]
        added = pictures.add(text, first_ordinal, start_s=start, end_s=end)
        now: dict[str, Chunk] = {}
        for chunk in added:
            key = " ".join((chunk.text or "").lower().split())
            previous = showing.get(key)
            if previous is not None and previous.end_s is not None and abs(previous.end_s - start) < 1e-3:
                pictures.chunks.remove(chunk)
                pictures.chunks[pictures.chunks.index(previous)] = merged = dataclasses.replace(previous, end_s=end)
                now[key] = merged
            else:
                now[key] = chunk
        showing = now
    pictures.chunks = [dataclasses.replace(c, ordinal=first_ordinal + n) for n, c in enumerate(pictures.chunks)]
