"""A real `anyseek serve` on a fixture index built with the offline demo model, and the Chromium that
drives the page: shared by the browser tests and `make screenshots` (tests/browser/screenshots.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_MODEL = ROOT / "data" / "demo-model"
CHROMIUM = Path(os.environ.get("ANYSEEK_CHROMIUM", "/usr/bin/chromium"))
SPEECH = ROOT / "data" / "demo-media"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
URL_WITH_TOKEN = re.compile(r"(http://127\.0\.0\.1:\d+/#token=[\w.~%-]+)")


def env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANYSEEK_DEVICE": "cpu"}


def build_media_folder(base: Path) -> Path:
    """The demo media folder (drawn photos, notes, spoken recordings) plus one unreadable picture and a
    screenshot of an error dialog (its words are found through OCR)."""
    from data.demo import build_media

    media = base / "media"
    build_media(media)
    shutil.copyfile(ROOT / "tests" / "fixtures" / "ocr" / "error-dialog.png", media / "photos" / "error-dialog.png")
    (media / "photos" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    return media


def serve_fixture(base: Path) -> tuple[Server, Path]:
    """`anyseek serve` on a new index with the demo joint model, which indexes the demo media folder
    through its own job API (the models load once, in the server). Returns (server, media)."""
    media = build_media_folder(base)
    server = start_server(base / "index", base / "serve.log", {"ANYSEEK_JOINT_MODEL": str(DEMO_MODEL)})
    try:
        job = server.call("POST", "/jobs/index", {"path": str(media)})
        deadline = time.monotonic() + 600
        while job["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
            job = server.call("GET", f"/jobs/{job['job_id']}")
        if job["state"] != "completed":
            raise RuntimeError(f"indexing the fixture ended {job['state']}: {job['message']}")
        warm_up(server)
    except BaseException:
        server.stop()
        raise
    return server, media


def build_job_folder(base: Path) -> Path:
    """A folder for the page to index through a job: notes far from every query the tests make (cheap to
    embed) and one bad file."""
    folder = base / "invoices"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(12):
        (folder / f"invoice-{i:02d}.txt").write_text(f"Invoice {i}: plumbing repair, {i * 40} euros, paid by transfer.")
    (folder / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


@dataclass
class Server:
    process: subprocess.Popen
    base: str  # http://127.0.0.1:PORT
    page: str  # the printed URL, with #token=...
    log: Path

    @property
    def token(self) -> str:
        return self.page.partition("#token=")[2]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.base + "/api/v1" + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(home: Path, log: Path, extra_env: dict[str, str] | None = None, timeout: float = 180) -> Server:
    """Starts `anyseek serve` on a loopback port the system picks; returns once it printed the page's address and
    /api/v1/health answers."""
    home.mkdir(parents=True, exist_ok=True)
    out = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "anyseek", "--index", str(home), "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**env(), **(extra_env or {})},
        cwd=home.parent,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"anyseek serve exited with {process.returncode}:\n{log.read_text()}")
        # the page's address (with the port the system gave, and the token) is printed once the server
        # listens: no port is picked here and freed for another process to take before the server binds it
        if (found := URL_WITH_TOKEN.search(log.read_text())) and _healthy(base := found.group(1).split("/#")[0]):
            return Server(process, base, found.group(1), log)
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"anyseek serve did not print its address within {timeout:.0f} s:\n{log.read_text()}")


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def warm_up(server: Server) -> None:
    """One search of each kind, so every model is loaded before a page waits on it."""
    for kind in ("image", "text", "audio"):
        server.call("POST", "/search", {"q": "warm up", "types": [kind], "k": 1})


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (install Debian's chromium: `apt-get install -y chromium`)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package playwright is missing (pip install -e '.[dev]')"
    return None


def launch(playwright, microphone: Path | None = None):
    """Chromium with a fake microphone that plays `microphone` (a WAV file) when the page records."""
    args = ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    if microphone:
        args.append(f"--use-file-for-fake-audio-capture={microphone}")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)


def to_wav(source: Path, target: Path, rate: int = 48000) -> Path:
    """Decodes any recording into a 16-bit mono WAV (the format Chromium's fake microphone reads)."""
    import wave

    import av
    import numpy as np

    with av.open(str(source)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        pcm = [out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.concatenate(pcm).astype("<i2").tobytes())
    return target


def silent_wav(target: Path, seconds: float = 2.0, rate: int = 16000) -> Path:
    import wave

    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return target


QUESTION = SPEECH / "queries" / "ask-red-circle.ogg"  # "Find a red circle."
