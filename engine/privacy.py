"""An index is private to its owner: its folder and everything anyseek keeps in it are owner-only (folders
0700, files 0600), whatever the umask.

Everything is created with its final mode (mkdir(0o700), open(O_CREAT, 0o600)): the umask can take bits
away, never add them, so no file is readable by others even for the moment a chmod-after-create would leave
open. SQLite creates its -wal and -shm files with the database file's mode, so the database file is created
here, empty and 0600, before SQLite opens it (left to itself SQLite makes it 0644 whatever the umask).

An index made before this (umask bits: anyseek.db rw-r--r-- in an rwxr-xr-x folder) is tightened by the
first process that opens it with write access; one that is read-only here is left as it is and `status`
says so. Only anyseek's own entries are touched (INDEX_FILES, INDEX_DIRS): a file someone put in the
folder keeps its mode. Standard library only (and engine/errors.py): the CLI's client imports the
ownership check on every start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import stat
from pathlib import Path

from anyseek.engine.errors import StorageError

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
OTHERS = 0o077  # group and other bits

# What anyseek keeps in an index folder (store/database.py, store/lock.py, settings.py, vectors/catalog.py,
# item_files.py, server/security.py, server/discovery.py); the folders are anyseek's through and through.
# Anything else someone put in the folder is theirs, and its modes are left alone.
INDEX_FILES = ("anyseek.db", "anyseek.db-wal", "anyseek.db-shm", "anyseek.db-journal", "writer.lock", "anyseek.toml")
SERVER_FILES = ("server.token", "server.json")
INDEX_DIRS = ("vectors", "thumbnails")
TEMP_PREFIXES = (".server-",)


def make_private_dir(path: Path) -> None:
    """`mkdir -p` whose new folders are owner-only; folders that exist already are left to tighten()."""
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it a moment ago
            os.mkdir(folder, DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create `path` empty and owner-only unless it exists (SQLite then opens it and keeps its mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))


def open_private(path: Path, flags: int) -> int:
    """os.open for a file anyseek writes: created owner-only, never through a symbolic link."""
    return os.open(path, flags | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)


def read_own_file(path: Path, limit: int = 1 << 16) -> bytes | None:
    """The file's bytes when it is a regular file of this user's, else None (missing, unreadable, a link, or
    someone else's: the CLI must neither trust a server another user announces nor send them a token)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return None
        return os.read(fd, limit)
    finally:
        os.close(fd)


def exposed(home: Path) -> list[tuple[Path, int]]:
    """anyseek's entries in the index folder that other local users may read or enter, with their modes.
    A folder that is already private is not looked into: nobody else can reach what it holds."""
    found: list[tuple[Path, int]] = []
    home = _real(home)
    home_mode = _mode(home)
    if home_mode is not None and home_mode & OTHERS:
        found.append((home, home_mode))
    for entry in _own_entries(home):
        mode = _mode(entry)
        if mode is None:
            continue
        if mode & OTHERS:
            found.append((entry, mode))
            if entry.name in INDEX_DIRS:
                found.extend(_exposed_inside(entry))
    return found


def tighten(home: Path) -> list[tuple[Path, int]]:
    """Take the group and other bits off what exposed() finds (this user's entries only, links not
    followed). Returns what it changed, with the old modes."""
    changed = []
    for path, mode in exposed(home):
        try:
            info = os.lstat(path)
            if info.st_uid != os.geteuid() or stat.S_ISLNK(info.st_mode):
                continue
            os.chmod(path, stat.S_IMODE(mode) & ~OTHERS)
        except OSError:
            continue  # gone meanwhile, or not ours to change: status reports what is still open
        changed.append((path, mode))
    return changed


def describe(home: Path, entries: list[tuple[Path, int]]) -> str:
    """'anyseek.db was rw-r--r--' for the first few, in words a user can check with ls -l."""
    shown = [f"{_name(home, path)} was {stat.filemode(mode)[1:]}" for path, mode in entries[:3]]
    more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
    return ", ".join(shown) + more


def exposure_warning(home: Path) -> str | None:
    """The line `status` shows for an index that other users can read and this process cannot tighten."""
    entries = exposed(home)
    if not entries:
        return None
    what = describe(home, entries).replace(" was ", " is ")
    return (
        f"the index at {home} can be read by other local users ({what}); left as it is, since this process "
        f"cannot change it (read-only here): its owner can run `chmod -R go= {home}`, or any anyseek command "
        f"that writes to it"
    )


def check_readable(home: Path, db_file: str) -> None:
    """A clear error, before anything else reads the folder, when the index is another user's."""
    try:
        os.stat(home / db_file)
    except PermissionError:
        raise StorageError(unreadable_message(home)) from None
    except OSError:
        pass  # missing: the caller creates it or says there is no index


def secure_on_open(home: Path, writable: bool, new: bool) -> None:
    """Tighten an index that this process may write; a read-only one is left for `status` to report."""
    if not writable:
        return
    changed = tighten(home)
    if changed and not new:
        log.warning(
            "the index at %s could be read by other local users (%s); made it owner-only (folders 0700, files 0600)",
            home,
            describe(home, changed),
        )


def unreadable_message(home: Path) -> str:
    """Why the index at `home` cannot be opened by this user (it is another user's, private to them)."""
    try:
        owner = pwd.getpwuid(os.stat(home).st_uid).pw_name
    except (OSError, KeyError):
        owner = "another user"
    return (
        f"cannot read the index at {home}: permission denied (it belongs to {owner}, and an index is private "
        f"to its owner); use your own index with --index or ANYSEEK_HOME"
    )


def _own_entries(home: Path) -> list[Path]:
    names = (*INDEX_FILES, *SERVER_FILES, *INDEX_DIRS)
    try:
        listed = os.listdir(home)
    except OSError:
        return []
    return [home / name for name in listed if name in names or name.startswith(TEMP_PREFIXES)]


def _exposed_inside(folder: Path) -> list[tuple[Path, int]]:
    found = []
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            path = Path(root) / name
            mode = _mode(path)
            if mode is not None and mode & OTHERS:
                found.append((path, mode))
    return found


def _mode(path: Path) -> int | None:
    """The full st_mode (type and permission bits) of the entry itself, or None for a link or a vanished one."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return None if stat.S_ISLNK(info.st_mode) else info.st_mode


def _real(home: Path) -> Path:
    """The index folder itself, when `home` is a link to it (a link's own mode means nothing)."""
    return Path(os.path.realpath(home))


def _name(home: Path, path: Path) -> str:
    home = _real(home)
    return "the folder" if path == home else os.path.relpath(path, home)
