"""Shared pieces of the server tests: an app on an index, a client that speaks to it as the page on
loopback does (with the token), and a real `anyseek serve` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from anyseek.server.app import create_app
from anyseek.server.security import AccessPolicy

TOKEN = "t" * 43
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
API = "/api/v1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client_for(
    engine,
    host: str = "127.0.0.1",
    max_upload_bytes: int = 8 * 1024 * 1024,
    *,
    with_token: bool = True,
    anonymous_read: bool = False,
) -> TestClient:
    """A client of an app on `engine`; with_token=False sends no Authorization header unless a request
    gives one."""
    app = create_app(engine, AccessPolicy(TOKEN, host, PORT, max_upload_bytes, anonymous_read))
    return TestClient(app, base_url=BASE, raise_server_exceptions=False, headers=AUTH if with_token else {})


def wait_job(client: TestClient, job_id: str, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"{API}/jobs/{job_id}").json()
        if state["state"] != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout}s")


def cli_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "ANYSEEK_DEVICE": "cpu", "ANYSEEK_TEXT_WEIGHT": "3"}


def start_server(index: Path, *extra: str, timeout: float = 120.0) -> tuple[subprocess.Popen, dict]:
    """`anyseek serve --port 0` in its own process; returns it and its discovery file once it answers."""
    discovery = index / "server.json"
    discovery.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "anyseek", "--index", str(index), "serve", "--port", "0", *extra],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read()}")
        if discovery.exists():
            return process, json.loads(discovery.read_text())
        time.sleep(0.1)
    process.kill()
    raise AssertionError("server did not start")


def stop_server(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
