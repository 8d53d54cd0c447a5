"""The discovery file: a running server leaves `server.json` in its index folder (address, port, pid, start
time, instance id) so that the CLI on the same index can use it instead of loading the models itself.

It holds no secret, and it is owner-only like the rest of the index (mkstemp makes it 0600). The token
stays in `server.token` (0600), which the CLI reads and sends with every request. Both are used only when
they are regular files of the user running the CLI: another user's CLI, even one that can read them (an
index left readable by an older release), never sends its queries to this server nor reads its token, and
works in-process instead (engine/privacy.py: read_own_file). Standard library only, plus the tiny
engine/privacy.py: the CLI imports this on every start.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from anyseek.engine.privacy import read_own_file

DISCOVERY_FILE = "server.json"
TOKEN_FILE = "server.token"
HEALTH_TIMEOUT_S = 2.0
# Loopback requests never go through a proxy from the environment (http_proxy would otherwise apply).
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class ServerInfo:
    host: str
    port: int
    pid: int
    started: float
    instance: str
    url: str

    @classmethod
    def make(cls, host: str, port: int, instance: str) -> ServerInfo:
        shown = f"[{host}]" if ":" in host else host
        connect = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else shown
        return cls(host, port, os.getpid(), time.time(), instance, f"http://{connect}:{port}")


def write(home: Path, info: ServerInfo) -> None:
    handle, tmp = tempfile.mkstemp(dir=home, prefix=".server-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(asdict(info), out)
        os.replace(tmp, home / DISCOVERY_FILE)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def remove(home: Path, info: ServerInfo) -> None:
    """Remove the file if it is still this server's (a newer server may have replaced it)."""
    current = read(home)
    if current is not None and current.instance == info.instance:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(home / DISCOVERY_FILE)


def read(home: Path) -> ServerInfo | None:
    """The announced server, when the file is this user's (see the module's docstring)."""
    raw = read_own_file(home / DISCOVERY_FILE)
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
        return ServerInfo(**{k: data[k] for k in ServerInfo.__slots__})
    except (ValueError, KeyError, TypeError):
        return None


def read_token(home: Path) -> str | None:
    """The index's server token, when `server.token` is this user's file; None otherwise."""
    raw = read_own_file(home / TOKEN_FILE, limit=256)
    token = raw.decode("ascii", errors="replace").strip() if raw else ""
    return token or None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, but the health check decides
    return True


def find(home: Path) -> ServerInfo | None:
    """The server running for this index, or None. A file left by a killed server (its pid gone, or another
    program on its port) is removed; a server that does not answer within HEALTH_TIMEOUT_S is not used."""
    info = read(home)
    if info is None:
        return None
    if not pid_alive(info.pid):
        _remove_stale(home, info)
        return None
    try:
        with OPENER.open(f"{info.url}/api/v1/health", timeout=HEALTH_TIMEOUT_S) as response:
            health = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return info if health.get("instance") == info.instance else None


def _remove_stale(home: Path, info: ServerInfo) -> None:
    current = read(home)
    if current is not None and current.instance == info.instance:
        with contextlib.suppress(OSError):
            os.unlink(home / DISCOVERY_FILE)
