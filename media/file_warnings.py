"""Warnings that decoder libraries raise while a file decodes belong to that file.

Pillow says `Palette images with Transparency expressed in bytes should be converted to RGBA images` or
`Tag data larger than file. Skipping tag 36867` through Python's warnings, which print on stderr with the
library's own file and line number and without the file they came from. Collected per file at the decode
boundary, they become that file's `warning FILE: …` lines in the run's report, in words a user can act on,
or are dropped when they say nothing a user can act on (the file was indexed correctly anyway).

Python's warning machinery is process-wide (`catch_warnings` is not thread-safe before 3.14), so one hook is
installed for the run and each decode thread collects through a thread-local list; a warning raised in a
thread that collects nothing goes on to wherever it went before.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator

log = logging.getLogger(__name__)

_local = threading.local()
_install_lock = threading.Lock()

# Libraries whose UserWarnings speak about the file being decoded. They are shown on every occurrence while
# a run collects them (Python's default shows a warning once per place: the second file with the same
# damage would go unreported).
DECODER_MODULES = r"(PIL|pillow_heif|av|pypdfium2|docx|ebooklib|bs4|anyseek\.(media|indexer))(\.|$)"

DAMAGED_EXIF = "damaged EXIF metadata was skipped (its capture date or orientation may be missing)"
# What a decoder says, as a user would want it said; None: nothing to act on, so it is not reported.
REWORDED: tuple[tuple[str, str | None], ...] = (
    # The picture is converted to RGB either way (the model sees no transparency): nothing is lost.
    ("Palette images with Transparency", None),
    *((words, DAMAGED_EXIF) for words in ("Corrupt EXIF", "corrupt EXIF", "Tag data larger than", "Metadata Warning")),
)
# Warnings about code rather than about the file (a library's deprecations): for developers, not users.
DEVELOPER_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning, ResourceWarning)


def user_message(message: str, category: type[Warning]) -> str | None:
    """A decoder's warning as one line for the run's report, or None when it means nothing to the user."""
    if issubclass(category, DEVELOPER_CATEGORIES) or category.__name__ == "DecompressionBombWarning":
        return None  # (anyseek refuses images over max_image_pixels itself, with its own error)
    for starts, said in REWORDED:
        if starts in message:
            return said
    first = message.strip().splitlines()[0] if message.strip() else category.__name__
    return first[:200]


def _show(message, category, filename, lineno, file=None, line=None) -> None:
    sink = getattr(_local, "sink", None)
    if sink is None:
        return _passed_on(message, category, filename, lineno, file, line)
    said = user_message(str(message), category)
    if said is None:
        log.debug("decoder warning dropped: %s:%s: %s", filename, lineno, message)
    elif said not in sink:
        sink.append(said)


def _passed_on(message, category, filename, lineno, file=None, line=None) -> None:
    """Outside a file's decoding: as before the hook, shown once per place for decoder modules (their
    warnings are shown on every occurrence while the hook collects them)."""
    key = (str(message), category, filename, lineno)
    if key in _shown:
        return
    _shown.add(key)
    _original(message, category, filename, lineno, file, line)


_shown: set[tuple] = set()
_original = warnings.showwarning


def install() -> None:
    """Route warnings through the per-file collector. Called at the start of every run (cheap when in
    place): a test runner or an app's catch_warnings may have restored the previous hook and filters."""
    global _original
    with _install_lock:
        if warnings.showwarning is not _show:
            _original = warnings.showwarning
            warnings.showwarning = _show
        wanted = ("always", None, UserWarning, DECODER_MODULES)
        if not any(_same_filter(f, wanted) for f in warnings.filters):
            warnings.filterwarnings("always", category=UserWarning, module=DECODER_MODULES)


def _same_filter(existing, wanted) -> bool:
    action, message, category, module, _lineno = existing
    pattern = getattr(module, "pattern", module)
    return (action, category, pattern) == (wanted[0], wanted[2], wanted[3])


@contextlib.contextmanager
def collected() -> Iterator[list[str]]:
    """The warnings raised in this thread while the block runs, as report lines (each once)."""
    previous = getattr(_local, "sink", None)
    sink: list[str] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous


def note(message: str, category: type[Warning] = UserWarning) -> None:
    """A warning raised elsewhere on this file's behalf (a decode process) joins this thread's collection;
    outside a collection it is logged."""
    sink = getattr(_local, "sink", None)
    said = user_message(message, category)
    if said is None:
        return
    if sink is None:
        log.warning("%s", said)
    elif said not in sink:
        sink.append(said)
