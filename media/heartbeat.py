"""A long decode says it is still moving, so whoever runs it under a time limit can tell slow from stuck.

The decoders cannot know who runs them: the indexer's decode pool (indexer/workers.py) listens on its
threads; anywhere else (a query file, a thumbnail, a test) nobody listens and a heartbeat costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_local = threading.local()


def listen(on_beat: Callable[[], None] | None) -> None:
    """Call `on_beat` whenever a decoder running in this thread says it is still working (None: stop)."""
    _local.on_beat = on_beat


def still_working() -> None:
    """Called from inside a decode that is slow but progressing (a long video decodes for minutes)."""
    on_beat = getattr(_local, "on_beat", None)
    if on_beat is not None:
        on_beat()
