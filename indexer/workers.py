"""Decode workers with a per-file time limit.

A decoder that hangs (a pathological file in a C library) cannot be interrupted from Python. So workers
are daemon threads: an overdue file is failed with a timeout, its thread is abandoned and replaced, and
a thread that never returns cannot keep the process alive at exit.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from anyseek.media import heartbeat

# A job that calls media.heartbeat.still_working() (a long video decodes for minutes) has its time limit
# start again, so file_timeout_s catches a decoder that hangs, not one with a lot to do.
from anyseek.media.heartbeat import still_working  # noqa: F401 - re-exported for the pool's users

_STOP = object()


# How long an interrupted run waits for the files being decoded. A worker still running when the process
# exits is a daemon thread that Python 3.11 kills mid-call at finalization: inside a C++ destructor (a
# torch tensor's, freed as the decoder unwinds) that aborts the process ("terminate called without an
# active exception", exit code -6 instead of 130). A long decode stops at its next heartbeat instead.
STOP_WAIT_S = 15.0


class DecodeTimeout(Exception):
    pass


class DecodeCancelled(Exception):
    """Raised from a heartbeat inside a decode once the pool is shutting down."""


class DecodePool:
    def __init__(self, workers: int, timeout_s: float | None, nice: int = 0) -> None:
        """`nice` > 0 lowers the workers' CPU priority (Linux, per thread): when the models run on the
        same cores, a decode thread then runs in the model's idle moments instead of preempting one
        thread of its OpenMP team, which stalls the whole team at the next barrier."""
        self.timeout_s, self.nice = timeout_s, nice
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._started: dict[Future, tuple[float, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False
        for _ in range(max(1, workers)):
            self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._work, name="anyseek-decode", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        thread = threading.current_thread()
        heartbeat.listen(lambda: self._restart_clock(thread))
        if self.nice and sys.platform.startswith("linux"):
            try:  # on Linux a thread id names just this thread; elsewhere it would renice the process
                tid = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + self.nice)
            except OSError:
                pass
        while (job := self._jobs.get()) is not _STOP:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._started[future] = (time.monotonic(), threading.current_thread())
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
                self._finish(future, exception=exc)
            else:
                self._finish(future, result=result)
            with self._lock:
                if threading.current_thread() not in self._threads:
                    return  # this thread was written off as hung and has been replaced

    def _finish(self, future: Future, result=None, exception: BaseException | None = None) -> None:
        with self._lock:
            self._started.pop(future, None)
            if future.done():
                return  # already failed by the watchdog
            if exception is not None:
                future.set_exception(exception)
            else:
                future.set_result(result)

    def _restart_clock(self, thread: threading.Thread) -> None:
        if self._closed:
            raise DecodeCancelled("the run was interrupted")
        with self._lock:
            for future, (_, owner) in self._started.items():
                if owner is thread:
                    self._started[future] = (time.monotonic(), owner)

    def submit(self, fn: Callable, *args) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return future

    def restart_clocks(self) -> None:
        """Every running job's time limit starts again now (its worker was waiting, not decoding)."""
        now = time.monotonic()
        with self._lock:
            for future, (_, thread) in list(self._started.items()):
                self._started[future] = (now, thread)

    def reap_overdue(self) -> int:
        """Fail every job running longer than the limit and replace its thread. Returns how many."""
        if not self.timeout_s:
            return 0
        now = time.monotonic()
        with self._lock:
            overdue = [(f, thread) for f, (start, thread) in self._started.items() if now - start > self.timeout_s]
            for future, thread in overdue:
                self._started.pop(future)
                self._threads.remove(thread)
                future.set_exception(DecodeTimeout(f"gave up after {self.timeout_s:g} s (setting file_timeout_s)"))
        for _ in overdue:
            self._spawn()
        return len(overdue)

    def shutdown(self, wait_s: float = 0.0) -> None:
        """Cancel queued jobs and let idle workers exit; wait up to `wait_s` for running ones (a long decode
        stops at its next heartbeat); one that hangs past it is left in the background."""
        if self._closed:
            return
        self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP:
                job[0].cancel()
        for _ in self._threads:
            self._jobs.put(_STOP)
        deadline = time.monotonic() + wait_s
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))


# A CPU-only machine keeps decode threads: there the model takes every core anyway and decoding is a small
# share of the work, so processes only add their hand-offs and copies. Measured side by side on the 2-core
# box (python -m bench.run --only decode; README, Benchmarks, row 8): decoding alone 0.96x, `anyseek index`
# 0.71x with processes. Bigger CPU-only machines were not measured, so they keep the measured-safe default
# too (decode_workers_kind = "processes" asks for processes anywhere).
THREADS_GIL_BOUND = 4  # past ~4 decode threads the GIL, not the cores, bounds decoding (issue 14's profile)


def plan_decoding(kind: str, workers: int | None, on_gpu: bool, cores: int | None = None) -> tuple[str, int]:
    """How to decode: ("threads" | "processes", worker count), from the settings and the machine.

    With the model on a GPU the CPU has nothing to do but decode (and feed the GPU), so decoding runs in
    processes on every core but one (the main thread's: it batches, feeds the GPU and writes SQLite).
    With the model on the CPU the model's own threads want the cores, decoding is a small share of the
    work, and the workers run niced: min(4, cores) keeps up with the model, as it did before.
    """
    from anyseek.indexer.decode_procs import processes_supported

    cores = max(1, cores or os.cpu_count() or 2)
    if kind == "auto":
        kind = "processes" if on_gpu and processes_supported() else "threads"
    elif kind == "processes" and not processes_supported():
        kind = "threads"
    if workers is None:
        if kind == "processes" and on_gpu:
            workers = max(1, cores - 1)
        else:
            workers = min(THREADS_GIL_BOUND, cores)
    return kind, max(1, workers)
