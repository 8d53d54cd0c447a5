"""A new index's folder, as Engine.open made it, so that a first run that fails before anything searchable
was committed leaves nothing behind.

The first `anyseek index FOLDER` without network fails on the default model (as it should), or on a folder
name with a typo. Without this it left `anyseek.db`, `vectors/` and `writer.lock` in a new index folder that
held nothing, which the next command then took for an index. The store must exist before the run (the run
is recorded in it, the writer lock lives beside it) and models load only once a file needs one, so the
folder is made as before and taken back when such a run fails: what the folder held before (a user's
`anyseek.toml`) stays, and so does every folder that existed before.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from anyseek.engine import privacy
from anyseek.engine.errors import StorageError


@dataclass(slots=True)
class NewIndexFolder:
    home: Path
    made: list[Path]  # the folders created for it, deepest first
    before: frozenset[str]  # the names the folder held before the index was created in it
    first_run_failed: bool = False

    @classmethod
    def make(cls, home: Path) -> NewIndexFolder:
        missing, folder = [], home
        while not os.path.lexists(folder) and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        try:
            privacy.make_private_dir(home)  # owner-only, whatever the umask (issue 26)
        except OSError as exc:
            raise StorageError(
                f"cannot create the index at {home}: {exc.strerror or exc}; choose another place with --index "
                f"or ANYSEEK_HOME"
            ) from None
        return cls(home, missing, frozenset(os.listdir(home)))

    def discard(self) -> None:
        """Remove what the index created (its database, vectors, lock) and the folders made for it, once the
        store is closed. Best effort: a file that cannot be removed stays, and so does a folder no longer empty."""
        try:
            names = set(os.listdir(self.home)) - self.before
        except OSError:
            return
        for name in names:
            path = self.home / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    path.unlink()
                except OSError:
                    pass
        for folder in self.made:
            try:
                folder.rmdir()
            except OSError:
                break
