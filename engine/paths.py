"""Where anyseek keeps an index and its caches when not told: the platform's folders (platformdirs).

- Index: `ANYSEEK_HOME`, else `<user data dir>/anyseek/default`. Cache (exported ONNX towers and their
  manifests): `ANYSEEK_CACHE`, else `<user cache dir>/anyseek`.
- The user data and cache dirs are `$XDG_DATA_HOME` / `$XDG_CACHE_HOME` when set, on every platform (a user
  who sets them asks for them, and anyseek honoured them everywhere before it knew other platforms), else
  the platform's own: ~/.local/share and ~/.cache on Linux (where they have always been), ~/Library/
  Application Support and ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows.
- Before this module, macOS and Windows also got ~/.local/share. Without $XDG_DATA_HOME, an index found
  there and none at the platform's place is still the default: an upgrade must never make a user's index
  seem to vanish. (On Linux the two places are one.)

Kept light on purpose: the CLI asking a running server needs `default_home` and must not pay for the
settings' imports (pydantic; see cli/client.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from platformdirs import PlatformDirs

APP = "anyseek"
DEFAULT_INDEX = "default"
_DB_FILE = "anyseek.db"  # store/database.DB_FILE; not imported from there, which would load SQLAlchemy


def _dirs() -> PlatformDirs:
    from platformdirs import PlatformDirs  # only when no variable says where (a few ms)

    return PlatformDirs(APP, appauthor=False)


def _xdg(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() / APP if value else None


def _legacy_home() -> Path:
    """Where anyseek before platformdirs put the default index on every platform."""
    return Path.home() / ".local" / "share" / APP / DEFAULT_INDEX


def default_home() -> Path:
    """ANYSEEK_HOME, else the default index in the user's data folder (see the module docstring)."""
    if env := os.environ.get("ANYSEEK_HOME"):
        return Path(env).expanduser()
    if xdg := _xdg("XDG_DATA_HOME"):
        return xdg / DEFAULT_INDEX
    home = Path(_dirs().user_data_dir).expanduser() / DEFAULT_INDEX
    legacy = _legacy_home()
    if home != legacy and not (home / _DB_FILE).exists() and (legacy / _DB_FILE).exists():
        return legacy
    return home


def cache_root() -> Path:
    """ANYSEEK_CACHE, else the user's anyseek cache folder: things that can be rebuilt, never an index."""
    if env := os.environ.get("ANYSEEK_CACHE"):
        return Path(env).expanduser()
    return _xdg("XDG_CACHE_HOME") or Path(_dirs().user_cache_dir).expanduser()
