"""Real text to classify: this machine's man pages, labelled by their manual section.

A record is one page: its NAME line's description and its body (the first WORDS words, as plain text) as
two text parts, labelled by section ("system calls", "library functions" ...). Sections with too few pages
here are left out. Examples and test pages are drawn at random (seeded) from the pages that parse, never
the same page twice; the draw is cached in .cache/bench/classify so a run does not change when packages are
installed later.
"""

from __future__ import annotations

import gzip
import json
import random

from bench.common import cache_dir, log
from bench.manpages import GENERATED, MAN, parse

SECTIONS = {
    "man1": "user commands",
    "man2": "system calls",
    "man3": "library functions",
    "man5": "file formats",
    "man7": "overviews and conventions",
    "man8": "administration commands",
}
MIN_WORDS = 40


def _section_pages(folder: str, wanted: int, rng: random.Random) -> list[dict]:
    files = sorted((MAN / folder).glob("*.gz"))
    rng.shuffle(files)
    out = []
    for file in files:
        if len(out) >= wanted:
            break
        if file.name.startswith(GENERATED):
            continue
        try:
            parsed = parse(gzip.decompress(file.read_bytes()).decode("utf-8", "replace"))
        except (OSError, EOFError):
            continue
        if not parsed or len(parsed[1].split()) < MIN_WORDS:
            continue
        description, body = parsed
        name = file.name.removesuffix(".gz")
        out.append({"id": name, "description": description, "body": body, "label": SECTIONS[folder]})
    return out


def dataset(examples_per_class: int = 20, test_per_class: int = 60, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(examples, test) rows of a record manifest; a section with fewer pages gives what it has to test."""
    path = cache_dir("classify") / f"manpages-{examples_per_class}-{test_per_class}-{seed}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return data["examples"], data["test"]
    log("classify: reading man pages by section")
    rng = random.Random(seed)
    examples, test = [], []
    for folder in SECTIONS:
        pages = _section_pages(folder, examples_per_class + test_per_class, rng)
        if len(pages) < examples_per_class + 10:
            log(f"classify: {folder} has {len(pages)} usable pages here; left out")
            continue
        examples += pages[:examples_per_class]
        test += pages[examples_per_class:]
    path.write_text(json.dumps({"examples": examples, "test": test}))
    return examples, test
