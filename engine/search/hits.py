"""A merged entry turned into the Hit a caller sees: its chunk's context, a snippet, its strong moments."""

from __future__ import annotations

from anyseek.engine.records import ChunkKind, Hit, Moment
from anyseek.engine.store.store import ChunkContext

SNIPPET_CHARS = 240


def moments_of(entries, contexts: dict[int, ChunkContext]) -> tuple[Moment, ...]:
    """Timed chunks only (frames, speech windows): a passage has no moment."""
    moments = []
    for entry in entries:
        chunk = contexts[entry.chunk_id].chunk if entry.chunk_id in contexts else None
        if chunk is not None and chunk.start_s is not None:
            moments.append(Moment(chunk.start_s, chunk.end_s or chunk.start_s, entry.score, chunk.kind))
    return tuple(moments)


def snippet(text: str | None) -> str | None:
    if text and len(text) > SNIPPET_CHARS:
        return text[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def hit_of(entry, context: ChunkContext, moments: tuple[Moment, ...] = ()) -> Hit:
    chunk, item = context.chunk, context.item
    text = snippet(chunk.text)
    return Hit(
        item_id=item.id,
        path=item.display_path,
        modality=item.modality,
        score=entry.score,
        similarity=entry.similarity,
        chunk_id=chunk.id,
        snippet=text,
        start=chunk.start_s,
        end=chunk.end_s,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        raw_path=item.path,
        # text read in a picture says so: the route that found it, then "ocr"
        route=f"{entry.route}+ocr" if chunk.kind is ChunkKind.OCR else entry.route,
        page=chunk.page,
        captured_at=item.captured_at,
        moments=moments,
        slide=chunk.slide,
        sheet=chunk.sheet,
        row=chunk.row,
        row_end=chunk.row_end,
        box=chunk.box,
    )
