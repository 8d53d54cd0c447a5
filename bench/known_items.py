"""The man pages' known-item task, shared by bench/quality.py and bench/quality_mixed.py: which pages, which
of them are asked for (by their one-line description), the pages as files, and the metrics of a ranking."""

from __future__ import annotations

from pathlib import Path

from bench.common import cache_dir
from bench.manpages import Page, pages

QUERIES = 400


def corpus(quick: bool) -> tuple[list[Page], list[int]]:
    """The documents and the indexes of the pages whose descriptions are the queries (evenly spread)."""
    docs = pages()[: 300 if quick else None]
    count = min(60 if quick else QUERIES, len(docs))
    return docs, [round(i * len(docs) / count) for i in range(count)]


def write_files(docs: list[Page]) -> Path:
    folder = cache_dir("quality", f"docs-{len(docs)}")
    if not (folder / ".ready").exists():
        for page in docs:
            (folder / f"{page.name}.txt").write_text(page.body + "\n", encoding="utf-8")
        (folder / ".ready").write_text("ok")
    return folder


def metrics_of(rankings: list[list[int]], answers: list[int]) -> dict[str, float]:
    from anyseek.engine.evaluation import metrics

    m = metrics([[str(i) for i in r] for r in rankings], [frozenset({str(a)}) for a in answers])
    return m.to_dict()
