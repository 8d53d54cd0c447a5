"""`anyseek serve` as a real process on a real socket: discovery, the CLI using it with the same output as
in-process, stale discovery files, clean shutdown on SIGTERM/SIGINT, Host checks on the wire."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys

import httpx
import pytest

from tests.conftest import TEST_SETTINGS, copy_speech
from tests.media import NOTES, photo
from tests.server_helpers import cli_env, start_server, stop_server


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, encoders):
    from anyseek.engine import Engine

    media = tmp_path_factory.mktemp("serve-media")
    for name, content in NOTES.items():
        text, encoding = content if isinstance(content, tuple) else (content, "utf-8")
        (media / name).write_bytes(text.encode(encoding))
    photo(1).save(media / "beach.jpg")
    photo(2).save(media / "forest.png")
    copy_speech("budget.wav", media / "budget.wav")
    home = tmp_path_factory.mktemp("serve-index")
    with Engine.open(home, encoders=encoders, **TEST_SETTINGS) as engine:
        assert engine.index([media]).added == 7
    return media, home


@pytest.fixture(scope="module")
def server(small_index):
    _, home = small_index
    process, info = start_server(home)
    yield process, info
    stop_server(process, signal.SIGKILL)
    (home / "server.json").unlink(missing_ok=True)


def cli(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "anyseek", "-v", "--index", str(home), *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )


def through_server(done: subprocess.CompletedProcess) -> bool:
    return "asking the server at" in done.stderr


NUMBER = re.compile(r"-?\d+\.\d+")


def same_output(remote: str, local: str) -> bool:
    """The same text, numbers within a display step: two processes may sum a query's floats in another
    order (their thread pools differ), which moves a score in its sixth decimal."""
    if NUMBER.sub("#", remote) != NUMBER.sub("#", local):
        return False
    pairs = zip(NUMBER.findall(remote), NUMBER.findall(local), strict=True)
    return all(abs(float(a) - float(b)) <= 10 ** -len(a.split(".")[1]) * 1.01 for a, b in pairs)


def test_cli_search_uses_the_server_and_prints_the_same(small_index, server):
    media, home = small_index
    for args in (("search", "the budget for next year", "-k", "5", "--json"), ("search", "watering", "-t", "text")):
        remote, local = cli(home, *args), cli(home, *args, "--no-server")
        assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
        assert through_server(remote) and not through_server(local)
        assert same_output(remote.stdout, local.stdout), (remote.stdout, local.stdout)
    upload = cli(home, "search", "--image", str(media / "forest.png"), "-k", "2", "--json")
    assert through_server(upload) and json.loads(upload.stdout)["hits"][0]["path"].endswith("forest.png")


def test_cli_status_uses_the_server_and_prints_the_same(small_index, server):
    _, home = small_index
    remote, local = cli(home, "status", "--json"), cli(home, "status", "--json", "--no-server")
    assert through_server(remote) and not through_server(local)
    assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_env_forces_in_process(small_index, server):
    _, home = small_index
    env = {**cli_env(), "ANYSEEK_NO_SERVER": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "anyseek", "-v", "--index", str(home), "status"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and not through_server(done)


def test_discovery_file_and_token_file(small_index, server):
    _, home = small_index
    process, info = server
    assert info["pid"] == process.pid and info["url"] == f"http://127.0.0.1:{info['port']}"
    assert "token" not in json.dumps(info)
    token = home / "server.token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    health = httpx.get(f"{info['url']}/api/v1/health", timeout=5).json()
    assert health["instance"] == info["instance"]


def test_host_and_origin_are_checked_on_the_wire(small_index, server):
    _, home = small_index
    _, info = server
    url = f"{info['url']}/api/v1/status"
    auth = {"Authorization": f"Bearer {(home / 'server.token').read_text().strip()}"}
    assert httpx.get(url, headers=auth, timeout=10).status_code == 200
    rebound = httpx.get(url, headers={"Host": f"evil.example:{info['port']}", **auth}, timeout=10)
    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "bad_host"
    foreign = httpx.post(
        f"{info['url']}/api/v1/search", json={"q": "x"}, headers={"Origin": "http://evil.example"}, timeout=10
    )
    assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers


def test_reads_on_the_wire_need_the_token_and_the_cli_sends_it(small_index, server):
    _, home = small_index
    _, info = server
    for method, path in (("GET", "/status"), ("POST", "/search"), ("GET", "/items/1/media"), ("GET", "/jobs")):
        response = httpx.request(method, f"{info['url']}/api/v1{path}", json={"q": "x"}, timeout=10)
        assert response.status_code == 401, path
    done = cli(home, "search", "tomatoes", "-k", "1", "--json")
    assert done.returncode == 0 and through_server(done), done.stderr
    assert json.loads(done.stdout)["hits"][0]["path"].endswith("garden.txt")


def test_a_token_the_server_does_not_know_makes_the_cli_work_in_process(small_index, server):
    _, home = small_index
    token = home / "server.token"
    real = token.read_text()
    token.write_text("y" * 43 + "\n")
    try:
        done = cli(home, "search", "tomatoes", "-k", "1", "--json")
    finally:
        token.write_text(real)
    assert done.returncode == 0 and "refused this index's token: working in-process" in done.stderr, done.stderr
    assert json.loads(done.stdout)["hits"][0]["path"].endswith("garden.txt")


def test_anonymous_read_says_what_it_allows_and_still_guards_index_jobs(small_index):
    _, home = small_index
    process, info = start_server(home, "--anonymous-read")
    try:
        assert httpx.get(f"{info['url']}/api/v1/status", timeout=10).status_code == 200
        job = httpx.post(f"{info['url']}/api/v1/jobs/index", json={"path": "/tmp"}, timeout=10)
        assert job.status_code == 401
    finally:
        stop_server(process)
    stderr = process.stderr.read()
    assert "warning: --anonymous-read: every user and program on this machine can search this index" in stderr
    assert f"at {info['url']} without the token; index jobs still need it" in stderr


def test_anonymous_read_beyond_loopback_is_refused_in_one_line(small_index):
    _, home = small_index
    done = subprocess.run(
        [sys.executable, "-m", "anyseek", "--index", str(home), "serve", "--host", "0.0.0.0", "--anonymous-read"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: --anonymous-read is only allowed on a loopback address (127.0.0.1, ::1, localhost)"
    ]


@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_signals_stop_the_server_cleanly(small_index, sig):
    _, home = small_index
    process, _ = start_server(home)
    assert stop_server(process, sig) == 0
    assert not (home / "server.json").exists()


def test_a_killed_servers_file_is_ignored_and_removed(small_index):
    _, home = small_index
    process, _ = start_server(home)
    stop_server(process, signal.SIGKILL)
    assert (home / "server.json").exists()
    done = cli(home, "search", "tomatoes", "-k", "1", "--json")
    assert done.returncode == 0 and not through_server(done), done.stderr
    assert json.loads(done.stdout)["hits"][0]["path"].endswith("garden.txt")
    assert not (home / "server.json").exists()


def test_a_file_naming_a_live_process_that_is_not_a_server_is_not_used(small_index):
    _, home = small_index
    fake = {
        "host": "127.0.0.1",
        "port": 9,
        "pid": os.getpid(),
        "started": 0,
        "instance": "x",
        "url": "http://127.0.0.1:9",
    }
    (home / "server.json").write_text(json.dumps(fake))
    try:
        done = cli(home, "status", "--json")
        assert done.returncode == 0 and not through_server(done)
    finally:
        (home / "server.json").unlink(missing_ok=True)


@pytest.mark.parametrize(("preset", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_serve_asks_openmp_to_sleep_before_faiss_loads_and_keeps_a_users_choice(small_index, preset, expected):
    """OpenMP reads OMP_WAIT_POLICY once, when FAISS or torch loads it: the serve command must set it
    before opening the index. The probe stands in for the HTTP server and reports what it finds."""
    _, home = small_index
    probe = (
        "import os, sys\n"
        "import anyseek.server.run as run\n"
        "real = run.prefer_sleeping_threads\n"
        "def spy():\n"
        "    print('loaded before:', sorted({'faiss', 'torch'} & set(sys.modules)))\n"
        "    real()\n"
        "run.prefer_sleeping_threads = spy\n"
        "run.serve = lambda engine, *a, **k: print('policy:', os.environ.get('OMP_WAIT_POLICY'))\n"
        "sys.argv = ['anyseek', '--index', sys.argv[1], 'serve']\n"
        "from anyseek.cli.app import run as cli\n"
        "cli()\n"
    )
    env = {k: v for k, v in cli_env().items() if k != "OMP_WAIT_POLICY"}
    env |= {"OMP_WAIT_POLICY": preset} if preset else {}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(home)], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert "loaded before: []" in done.stdout and f"policy: {expected}" in done.stdout, done.stdout
