"""A real text corpus nobody here wrote: the docstrings of Python's standard library and the system's
English man pages (troff source turned into plain paragraphs), split into paragraphs. Collected once into
.cache/bench/corpus/passages.json (same content every run on the same machine image).
"""

from __future__ import annotations

import gzip
import importlib
import inspect
import json
import pkgutil
import re
import sys
import warnings
from pathlib import Path

from bench.common import cache_dir, log

SKIP = ("antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3", "ensurepip")


def _modules():
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP)
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - platform-specific modules fail to import; skip them
            continue
        yield module
        for info in pkgutil.iter_modules(getattr(module, "__path__", []) or [], name + "."):
            if info.name.split(".")[-1].startswith("_") or any(s in info.name for s in SKIP):
                continue
            try:
                yield importlib.import_module(info.name)
            except Exception:  # noqa: BLE001
                continue


def _docstrings(module):
    yield module.__doc__
    for _, obj in inspect.getmembers(module):
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        yield getattr(obj, "__doc__", None)
        if inspect.isclass(obj):
            for _, member in inspect.getmembers(obj):
                if inspect.isfunction(member) or inspect.ismethoddescriptor(member):
                    yield getattr(member, "__doc__", None)


MAN = Path("/usr/share/man")
_ESCAPES = re.compile(r"\\f[BIRPC0-9]|\\f\(..|\\f\[[^]]*\]|\\\(..|\\\[[^]]*\]|\\[&|^%:e]|\\s[-+]?\d")


def _man_paragraphs():
    """Plain paragraphs from man page sources: text lines kept, macro lines end a paragraph (their text,
    for font macros such as .B and .I, is kept), escapes dropped."""
    for section in ("man1", "man5", "man7", "man8", "man3"):
        for page in sorted((MAN / section).glob("*.gz")) if (MAN / section).is_dir() else []:
            try:
                source = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
            except (OSError, EOFError):
                continue
            lines: list[str] = []
            for line in source.splitlines():
                if line.startswith((".", "'")):
                    macro, _, rest = line[1:].partition(" ")
                    if macro in ("B", "I", "BR", "IR", "RB", "RI", "BI", "IB") and rest:
                        lines.append(rest.replace('"', ""))
                        continue
                    if lines:
                        yield " ".join(lines)
                    lines = []
                    continue
                lines.append(_ESCAPES.sub("", line).replace("\\-", "-").replace("\\", ""))
            if lines:
                yield " ".join(lines)


def passages(minimum: int = 20_000) -> list[str]:
    """Unique paragraphs of at least 60 characters, whitespace-normalised, in a stable order: stdlib
    docstrings first, then man pages until well past `minimum`."""
    path = cache_dir("corpus") / "passages.json"
    if path.exists():
        cached = json.loads(path.read_text())
        if len(cached) >= minimum:
            return cached
    log("collecting Python standard-library docstrings")
    seen: set[str] = set()
    out: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in _modules():
            for doc in _docstrings(module):
                if not isinstance(doc, str):
                    continue
                for para in re.split(r"\n\s*\n", doc):
                    text = " ".join(para.split())
                    if len(text) >= 60 and text not in seen:
                        seen.add(text)
                        out.append(text)
    for para in _man_paragraphs():
        text = " ".join(para.split())
        if len(text) >= 60 and text not in seen:
            seen.add(text)
            out.append(text)
            if len(out) >= 2 * minimum:
                break
    path.write_text(json.dumps(out))
    return out


def queries(count: int = 200) -> list[str]:
    """Short questions made from the first words of passages (the shape of a typed query)."""
    texts = passages()
    step = max(1, len(texts) // count)
    return [" ".join(texts[i].split()[:8]) for i in range(0, step * count, step)][:count]
