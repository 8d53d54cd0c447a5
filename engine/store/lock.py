"""One writer per index: an advisory lock file that names its holder.

flock is released by the kernel when the holder dies, so a lock left by a killed process is never
stale: the next writer simply takes it. The pid inside is only for the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from anyseek.engine.errors import IndexLockedError
from anyseek.engine.privacy import open_private

LOCK_FILE = "writer.lock"


class WriterLock:
    def __init__(self, home: Path) -> None:
        self.path = home / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = open_private(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise IndexLockedError(
                f"index {self.path.parent} is locked by pid {holder}, which is writing to it; "
                "wait for it to finish (searching works meanwhile)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
