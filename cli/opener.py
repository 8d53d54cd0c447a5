"""`search --open`: the first hit shown, opened with the system's own opener, as a file manager would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from anyseek.engine.errors import AnyseekError
from anyseek.engine.records import SearchResults

OPENERS = {"darwin": "open"}  # elsewhere (Linux, the BSDs) the freedesktop opener


def open_first(results: SearchResults) -> None:
    """Start the opener and return at once: the viewer, player or editor outlives this command."""
    if not results.hits:
        return
    hit = results.hits[0]
    path = hit.raw_path or os.fsencode(hit.path)  # the exact bytes: a name that is not UTF-8 still opens
    if not os.path.exists(path):
        raise AnyseekError(f"cannot open {hit.path}: the file is gone since it was indexed")
    if sys.platform == "win32":  # pragma: no cover - no Windows here
        os.startfile(os.fsdecode(path))  # noqa: S606 - the platform's opener, on purpose
        return
    name = OPENERS.get(sys.platform, "xdg-open")
    program = shutil.which(name)
    if program is None:
        raise AnyseekError(f"cannot open {hit.path}: no {name} on this system to open files with")
    subprocess.Popen(  # noqa: S603 - a fixed program and a path the index holds, no shell
        [program, path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in this terminal later must not kill the viewer
    )
