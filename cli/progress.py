"""Indexing progress for people: a live bar in a terminal; when stderr is a file or a pipe (a log, a job
runner), a plain line at least every LOG_EVERY_S, so a long run never looks hung.

The time left comes from each kind's recent cost (TimeLeft): a folder that starts with photos and goes on
with long documents would otherwise be promised minutes and take an hour."""

from __future__ import annotations

import sys
import threading
import time
from collections import deque

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from anyseek.engine.records import Progress as EngineProgress

LOG_EVERY_S = 15.0
UNIT_BYTES = 16 * 1024  # a non-image file costs one unit, plus one per this many bytes (its passages, its minutes)
RECENT_FILES = 50  # per kind: the estimate follows the recent cost, not the whole run's average
RATE_WINDOW_S = 60.0


def units(kind: str, files: int, size: int) -> float:
    """The work in files of one kind: a photo is a photo whatever its size (decoded to the model's input);
    a document or a recording costs more the longer it is."""
    return float(files) if kind == "image" else files + size / UNIT_BYTES


class TimeLeft:
    """Seconds left, from each kind's recent cost per unit of work. Every completion's wait since the one
    before is charged to its own kind: where kinds come in runs (a folder of photos, then one of
    documents) that is each kind's own cost; where they are mixed it tends to the common average, which
    is no worse than one rate for everything."""

    def __init__(self) -> None:
        self._recent: dict[str, deque[tuple[float, float]]] = {}
        self._done: dict[str, float] = {}
        self._last: float | None = None

    def add(self, kind: str, size: int, now: float) -> None:
        work = units(kind, 1, size)
        if self._last is not None:
            self._recent.setdefault(kind, deque(maxlen=RECENT_FILES)).append((now - self._last, work))
        self._last = now
        self._done[kind] = self._done.get(kind, 0.0) + work

    def _cost(self, samples) -> float | None:
        seconds, work = sum(s for s, _ in samples), sum(w for _, w in samples)
        return seconds / work if work > 0 else None

    def seconds(self, planned) -> float | None:
        """None until there is a rate to go by."""
        everything = [sample for samples in self._recent.values() for sample in samples]
        average = self._cost(everything)
        if average is None:
            return None
        left = 0.0
        for kind, (files, size) in (planned or {}).items():
            remaining = units(kind, files, size) - self._done.get(kind, 0.0)
            if remaining > 0:
                cost = self._cost(self._recent.get(kind, ()))
                left += remaining * (average if cost is None else cost)
        return left


def say_time(seconds: float | None) -> str:
    if seconds is None:
        return "time left unknown yet"
    if seconds < 60:
        return "under a minute left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


class IndexProgress:
    """The engine's progress callback. `live`: a terminal (a bar); otherwise, unless `quiet`, lines."""

    def __init__(self, live: bool, quiet: bool = False, every_s: float = LOG_EVERY_S, stream=None) -> None:
        self._live, self._quiet, self._every_s = live, quiet, every_s
        self._stream = stream
        self._lock = threading.Lock()
        self._event: EngineProgress | None = None
        self._started = time.monotonic()
        self._times: deque[tuple[float, int]] = deque()
        self.time_left = TimeLeft()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} files/s"),
            TextColumn("{task.fields[left]}"),
            TextColumn("[red]{task.fields[failed]} errors"),
            transient=True,
            disable=not live,
        )
        self._task = None

    def __enter__(self) -> IndexProgress:
        self._bar.__enter__()
        self._task = self._bar.add_task("scanning", total=None, rate="-", left="", failed=0)
        if not self._live and not self._quiet:
            self._ticker = threading.Thread(target=self._tick, name="anyseek-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1.0)
        self._bar.__exit__(*exc)

    def __call__(self, event: EngineProgress) -> None:
        now = time.monotonic()
        with self._lock:
            self._event = event
            if event.phase == "indexing" and event.kind:
                self.time_left.add(event.kind, event.size, now)
                self._times.append((now, event.done))
                while self._times and now - self._times[0][0] > RATE_WINDOW_S:
                    self._times.popleft()
        if self._live:
            rate = self.rate()
            self._bar.update(
                self._task,
                description=event.phase,
                total=event.total or None,
                completed=event.done,
                failed=event.failed,
                rate=f"{rate:.1f}" if rate else "-",
                left=say_time(self.time_left.seconds(event.planned)) if event.phase == "indexing" else "",
            )

    def rate(self) -> float | None:
        """Files per second over the last minute."""
        with self._lock:
            if len(self._times) < 2:
                return None
            (first, done_then), (last, done_now) = self._times[0], self._times[-1]
        return (done_now - done_then) / (last - first) if last > first else None

    def line(self) -> str | None:
        """The progress as one line for a log, or None when there is nothing to say (finishing)."""
        with self._lock:
            event = self._event
        elapsed = say_elapsed(time.monotonic() - self._started)
        if event is None or event.phase == "scanning":
            return f"scanning what to index ({elapsed} so far)"  # folders, or a manifest's records
        if event.phase != "indexing":
            return None
        rate = self.rate()
        parts = [f"indexing: {event.done:,} of {event.total:,} files", f"{rate:.1f} files/s" if rate else None]
        parts += [say_time(self.time_left.seconds(event.planned)), f"{event.failed} failed" if event.failed else None]
        return ", ".join(p for p in parts if p) + f" ({elapsed} so far)"

    def _tick(self) -> None:
        while not self._stop.wait(self._every_s):
            if (text := self.line()) is not None:
                stream = self._stream or sys.stderr
                stream.write(text + "\n")
                stream.flush()


def say_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"
