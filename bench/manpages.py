"""A known-item corpus nobody here wrote: the system's man pages (sections 1 and 8).

Query = the description a page's author wrote on its NAME line ("ls - list directory contents" gives
"list directory contents"); document = the rest of the page, as plain paragraphs, cut to its first
WORDS words. Pages that only redirect (.so), generated stubs ("manual page for ..."), descriptions under
three words, descriptions shared by two pages and template-generated pages (GENERATED) are left
out; where a body repeats its description word for word, that sentence is removed. Collected once into
.cache/bench/quality/manpages.json, so a run does not change when packages are installed later.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

from bench.common import cache_dir, log

MAN = Path("/usr/share/man")
SECTIONS = ("man1", "man8")
WORDS = 200
# Pages generated from one template by the hundred (the Google Cloud SDK's): their bodies restate the
# description and differ by a word or two, which measures the template, not the search.
GENERATED = ("gcloud_", "gcloud-", "bq_", "gsutil")
_ESCAPES = re.compile(r"\\f[BIRPC0-9]|\\f\(..|\\f\[[^]]*\]|\\\(..|\\\[[^]]*\]|\\[&|^%:e]|\\s[-+]?\d|\\\*\(..|\\\*.")
_FONT_MACROS = {"B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB", "Nm", "Ar", "Fl", "Cm", "Pa", "Op"}


@dataclass(frozen=True, slots=True)
class Page:
    name: str  # "ls.1"
    description: str  # the NAME line's description: the query
    body: str  # the document


def _plain(line: str) -> str:
    return _ESCAPES.sub("", line).replace("\\-", "-").replace("\\", "").replace('"', "").strip()


def parse(source: str) -> tuple[str, str] | None:
    """(description, body) of a man(7) or mdoc(7) page, or None."""
    if source.lstrip().startswith(".so "):
        return None
    description, body, section = None, [], None
    for line in source.splitlines():
        if line.startswith((".", "'")):
            macro, _, rest = line[1:].strip().partition(" ")
            if macro in ("SH", "Sh"):
                section = _plain(rest).upper()
                continue
            if macro == "Nd":
                description = _plain(rest)
                continue
            if macro in _FONT_MACROS and rest and section not in (None, "NAME"):
                body.append(_plain(rest))
            continue
        text = _plain(line)
        if not text:
            continue
        if section == "NAME" and description is None and " - " in text:
            description = text.split(" - ", 1)[1].strip()
        elif section not in (None, "NAME"):
            body.append(text)
    if not description:
        return None
    return description, " ".join(" ".join(body).split()[:WORDS])


def pages() -> list[Page]:
    path = cache_dir("quality") / "manpages.json"
    if path.exists():
        return [Page(**row) for row in json.loads(path.read_text())]
    log("quality: reading man pages")
    found: dict[str, Page] = {}
    counts: dict[str, int] = {}
    for section in SECTIONS:
        for file in sorted((MAN / section).glob("*.gz")):
            try:
                parsed = parse(gzip.decompress(file.read_bytes()).decode("utf-8", "replace"))
            except (OSError, EOFError):
                continue
            if not parsed:
                continue
            if file.name.startswith(GENERATED):
                continue
            description, body = parsed
            body = re.sub(re.escape(description), " ", body, flags=re.I)  # the answer must not quote the query
            key = " ".join(description.lower().split())
            if len(description.split()) < 3 or "manual page for" in key or len(body.split()) < 40:
                continue
            counts[key] = counts.get(key, 0) + 1
            found.setdefault(key, Page(file.name.removesuffix(".gz"), description, body))
    out = sorted((page for key, page in found.items() if counts[key] == 1), key=lambda p: p.name)
    path.write_text(json.dumps([{"name": p.name, "description": p.description, "body": p.body} for p in out]))
    return out
