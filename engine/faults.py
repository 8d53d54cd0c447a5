"""Named crash points for the crash-safety tests.

`ANYSEEK_CRASH_AT=name[:n]` makes the process SIGKILL itself the n-th time (default 1st) it reaches the
point `name`, so a test can kill an indexing run exactly inside a commit or a vector save. Without the
variable a checkpoint is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_target: tuple[str, int] | None = None
_counts: dict[str, int] = {}
_loaded = False


def _load() -> None:
    global _target, _loaded
    spec = os.environ.get("ANYSEEK_CRASH_AT", "")
    if spec:
        name, _, nth = spec.partition(":")
        _target = (name, int(nth or 1))
    _loaded = True


def checkpoint(name: str) -> None:
    if not _loaded:
        _load()
    if _target is None or _target[0] != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= _target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
