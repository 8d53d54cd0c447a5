"""An index is private to its owner (issue 26): owner-only files whatever the umask, an old index tightened
on the next write, a read-only one reported, and a second local user who can neither read the index nor
use its server."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEST_SETTINGS
from tests.media import NOTES, photo
from tests.server_helpers import cli_env, start_server, stop_server


def small_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in NOTES.items():
        text, encoding = content if isinstance(content, tuple) else (content, "utf-8")
        (root / name).write_bytes(text.encode(encoding))
    photo(1).save(root / "beach.jpg")
    return root


def modes_under(home: Path) -> dict[str, int]:
    """Every entry of the index folder (the folder itself as '.') with its permission bits."""
    found = {".": stat.S_IMODE(home.lstat().st_mode)}
    for path in home.rglob("*"):
        found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def expected_mode(home: Path, name: str) -> int:
    return 0o700 if (home / name).is_dir() else 0o600


@contextlib.contextmanager
def umask(value: int):
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def build_index(home: Path, folder: Path, encoders) -> dict[str, int]:
    """An index holding every kind of file anyseek keeps: store, WAL, lock, vectors, a thumbnail, the
    server's token and discovery file."""
    from anyseek.engine import Engine
    from anyseek.server import discovery
    from anyseek.server.security import load_or_create_token

    with Engine.open(home, encoders=encoders, **TEST_SETTINGS) as engine:
        engine.index([folder])
        image = engine.search(text="a photo", k=1, modalities=["image"]).hits[0]
        engine.thumbnail(image.item_id, 64)
        load_or_create_token(home)
        discovery.write(home, discovery.ServerInfo.make("127.0.0.1", 8765, "x"))
        assert (home / "anyseek.db-wal").exists()  # the modes below include SQLite's own files
        found = modes_under(home)
    return found


# --- owner-only files whatever the umask -----------------------------------------------------------
@pytest.mark.parametrize("mask", [0o000, 0o022], ids=["umask-000", "umask-022"])
def test_every_file_and_folder_of_a_new_index_is_owner_only(tmp_path, encoders, mask):
    folder = small_folder(tmp_path / "media")
    base = tmp_path / "open"
    base.mkdir(mode=0o755)
    home = base / "made" / "by" / "anyseek"
    with umask(mask):
        found = build_index(home, folder, encoders)
    names = set(found)
    assert {".", "anyseek.db", "anyseek.db-wal", "anyseek.db-shm", "writer.lock", "server.token"} <= names
    assert {"server.json", "vectors", "thumbnails"} <= names and any(n.startswith("vectors/") for n in names)
    assert any(n.startswith("thumbnails/") for n in names)
    wrong = {name: oct(mode) for name, mode in found.items() if mode != expected_mode(home, name)}
    assert wrong == {}
    # the folders it created on the way are the index's alone as well; the one that existed is untouched
    assert stat.S_IMODE((base / "made").stat().st_mode) == 0o700
    assert stat.S_IMODE((base / "made" / "by").stat().st_mode) == 0o700
    assert stat.S_IMODE(base.stat().st_mode) == 0o755


# --- an old, looser index -------------------------------------------------------------------------
def loosen(home: Path) -> None:
    """What an index made before this change looks like under umask 022 (SQLite's files 0644 anyway)."""
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture()
def old_index(tmp_path, encoders) -> Path:
    home = tmp_path / "index"
    build_index(home, small_folder(tmp_path / "media"), encoders)
    loosen(home)
    (home / "my-notes.txt").write_text("not anyseek's: its modes are its owner's business")
    (home / "my-notes.txt").chmod(0o644)
    return home


def test_an_old_index_is_tightened_on_the_next_write_with_a_warning(old_index, encoders, caplog):
    from anyseek.engine import Engine

    with caplog.at_level(logging.WARNING, logger="anyseek"):
        engine = Engine.open(old_index, encoders=encoders, **TEST_SETTINGS)
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name.startswith("anyseek")]
        assert len(warnings) == 1, warnings
        assert "could be read by other local users" in warnings[0] and "made it owner-only" in warnings[0]
        assert "the folder was rwxr-xr-x" in warnings[0]
        assert engine.status().warnings == []
    finally:
        engine.close()
    found = modes_under(old_index)
    assert found.pop("my-notes.txt") == 0o644
    assert {name: oct(mode) for name, mode in found.items() if mode != expected_mode(old_index, name)} == {}


def test_the_cli_prints_the_tightening_as_a_warning_line(old_index):
    done = subprocess.run(
        [sys.executable, "-m", "anyseek", "--index", str(old_index), "status", "--no-server"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(lines) == 1 and "made it owner-only (folders 0700, files 0600)" in lines[0], done.stderr
    assert stat.S_IMODE(old_index.stat().st_mode) == 0o700
    again = subprocess.run(
        [sys.executable, "-m", "anyseek", "--index", str(old_index), "status", "--no-server"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert again.returncode == 0 and "warning" not in again.stderr


def test_a_read_only_index_is_left_as_it_is_and_status_says_so(old_index, encoders, monkeypatch):
    from anyseek.engine import Engine, bootstrap

    monkeypatch.setattr(bootstrap, "is_writable", lambda _path: False)  # a read-only mount, as this process sees it
    before = modes_under(old_index)
    with Engine.open(old_index, create=False, encoders=encoders, **TEST_SETTINGS) as engine:
        assert engine.store.read_only
        warnings = engine.status().warnings
    after = modes_under(old_index)  # (SQLite may have made its -wal and -shm files meanwhile)
    assert {name: after[name] for name in before} == before
    assert len(warnings) == 1
    assert "can be read by other local users (the folder is rwxr-xr-x" in warnings[0]
    assert f"chmod -R go= {old_index}" in warnings[0]


# --- a second local user --------------------------------------------------------------------------
def second_user_missing_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root, to create a second local user (useradd) and run as it"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "useradd/userdel are not installed"
    return None


@pytest.fixture(scope="module")
def other_user():
    """A new unprivileged local user, removed afterwards: (uid, gid)."""
    if reason := second_user_missing_reason():
        pytest.skip(reason)
    name = f"anyseek-t{uuid.uuid4().hex[:8]}"
    command = ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name]
    for attempt in range(5):  # another process may hold /etc/passwd's lock for a moment
        made = subprocess.run(command, capture_output=True, text=True)
        if made.returncode == 0:
            break
        time.sleep(1 + attempt)
    assert made.returncode == 0, f"useradd failed: {made.stderr}"
    try:
        entry = pwd.getpwnam(name)
        yield entry.pw_uid, entry.pw_gid
    finally:
        subprocess.run(["userdel", name], capture_output=True)


CHILD_TIMEOUT_S = 240


def run_as(uid: int, gid: int, work: Callable[[], dict]) -> dict:
    """work() in a forked child that has dropped to uid/gid, its result sent back as JSON. Forked rather
    than started, so the child needs no access to this interpreter's files (often under /root): what it
    imports is imported before the privileges go."""
    import urllib.request  # noqa: F401 - loaded for the child, which may not read the standard library

    import anyseek.cli.app  # noqa: F401
    import anyseek.engine.facade  # noqa: F401

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        signal.alarm(CHILD_TIMEOUT_S)  # a hung child dies, and the parent fails the test, rather than wait forever
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            result = work()
        except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test with it
            result = {"crashed": traceback.format_exc()}
        with os.fdopen(write_end, "w") as out:
            json.dump(result, out)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        text = answer.read()
    _, status = os.waitpid(pid, 0)
    assert text, f"the child running as uid {uid} died without an answer (wait status {status})"
    result = json.loads(text)
    assert "crashed" not in result, result.get("crashed")
    return result


def cli_here(*args: str) -> dict:
    """The anyseek command in this (child) process, with its output captured: {code, out, err}."""
    from anyseek.cli.app import run

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)  # the CLI configures logging onto the captured stderr
    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr, sys.argv = out, err, ["anyseek", "--verbose", *args]
    try:
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    return {"code": code or 0, "out": out.getvalue(), "err": err.getvalue()}


def http_status(url: str, method: str = "GET", body: bytes | None = None) -> int:
    import urllib.error

    from anyseek.server.discovery import OPENER

    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def served_for_two(encoders):
    """An index in a folder other users can reach (/tmp, not pytest's owner-only tmp_path), served. One
    server for the module (it takes a while to warm); the last test loosens the index."""
    base = Path(tempfile.mkdtemp(prefix="anyseek-two-users-"))
    try:
        base.chmod(0o755)
        home = base / "index"
        folder = small_folder(base / "media")
        from anyseek.engine import Engine

        with Engine.open(home, encoders=encoders, **TEST_SETTINGS) as engine:
            engine.index([folder])
        process, info = start_server(home)
        try:
            yield home, info
        finally:
            stop_server(process, signal.SIGKILL)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_second_local_user_can_neither_read_the_index_nor_use_its_server(other_user, served_for_two):
    home, info = served_for_two
    uid, gid = other_user
    api = f"{info['url']}/api/v1"
    operations = [
        ("GET", "/status"),
        ("POST", "/search"),
        ("GET", "/items/1"),
        ("GET", "/items/1/media"),
        ("GET", "/items/1/media?access=AAAAAAAAAAAAAAAAAAAAAAAA"),
        ("GET", "/items/1/thumbnail"),
        ("GET", "/jobs"),
        ("POST", "/jobs/index"),
    ]

    def as_other_user() -> dict:
        reads = {}
        for name in ("", "anyseek.db", "anyseek.db-wal", "server.token", "server.json", "vectors", "thumbnails"):
            try:
                path = home / name
                os.listdir(path) if not name or path.name in ("vectors", "thumbnails") else open(path, "rb").close()
                reads[name or "."] = "read"
            except PermissionError:
                reads[name or "."] = "refused"
        return {
            "sees_the_folder": home.name in os.listdir(home.parent),
            "reads": reads,
            "health": http_status(f"{api}/health"),
            "routes": {f"{m} {p}": http_status(f"{api}{p}", m, b'{"q": "x", "path": "/tmp"}') for m, p in operations},
            "status": cli_here("--index", str(home), "status"),
            "search": cli_here("--index", str(home), "search", "tomatoes"),
        }

    seen = run_as(uid, gid, as_other_user)
    assert seen["sees_the_folder"]  # the folder is reachable: what stops this user is its own mode
    assert set(seen["reads"].values()) == {"refused"}, seen["reads"]
    assert seen["health"] == 200  # the server is reachable: what stops this user is the token
    assert set(seen["routes"].values()) == {401}, seen["routes"]
    for command in ("status", "search"):
        done = seen[command]
        assert done["code"] == 1 and "asking the server" not in done["err"], done
        errors = [line for line in done["err"].splitlines() if line.startswith("error: ")]
        owner = pwd.getpwuid(os.geteuid()).pw_name
        assert errors == [
            f"error: cannot read the index at {home}: permission denied (it belongs to {owner}, and an "
            "index is private to its owner); use your own index with --index or ANYSEEK_HOME"
        ]


def test_another_users_server_is_not_used_even_where_its_files_are_readable(other_user, served_for_two):
    """An index left readable by an older release: the other user may read server.json and even the token,
    and must still not send a query to the owner's server; it reads the index itself, read-only, and
    `status` warns that the index is open to others."""
    home, info = served_for_two
    uid, gid = other_user
    loosen(home)
    seen = run_as(uid, gid, lambda: {"status": cli_here("--index", str(home), "status", "--json")})
    done = seen["status"]
    assert done["code"] == 0, done
    assert "asking the server" not in done["err"] and json.loads(done["out"])["items"]["text"] == len(NOTES)
    warnings = json.loads(done["out"])["warnings"]
    assert len(warnings) == 1 and "can be read by other local users" in warnings[0]
    assert f"warning: {warnings[0]}" in done["err"]
    # the owner's server and the files were left as they were: this user could change nothing
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
