"""Index jobs: one `index` run at a time in a worker thread, with progress and cancellation.

The job indexes through its own Engine on the same index (its own store connection and vector catalog,
the same loaded models), so searches through the caller's Engine keep reading while it writes: they see
each committed batch, exactly as a reader process sees a writer process. A cancelled job stops at the
same safe points as Ctrl-C in `anyseek index`: what was committed stays, the next run resumes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from anyseek.engine.errors import AnyseekError, JobError, JobNotFoundError
from anyseek.engine.records import FileError, IndexReport, Progress
from anyseek.engine.wire import Record, wire

log = logging.getLogger(__name__)

KEEP_FINISHED = 20  # finished jobs remembered for their callers
MAX_ERRORS = 50  # errors listed in a job's state (the report holds them all)


class JobStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class JobCancelled(KeyboardInterrupt):
    """Raised from the progress callback: the indexer treats it exactly like Ctrl-C (a safe stop)."""


@dataclass(frozen=True, slots=True)
class JobState(Record):
    """A snapshot of one job; a new one on every change, so readers never see a half-updated state. Its
    JSON form is the HTTP API's job."""

    job_id: str
    paths: tuple[str, ...]
    state: JobStatus = JobStatus.RUNNING
    phase: str = "starting"  # starting | the indexer's Progress.phase (scanning, indexing, finishing)
    files_done: int = 0
    files_total: int | None = None
    failed: int = 0
    rate: float = field(default=0.0, metadata=wire(out=lambda rate: round(rate, 3)))  # files/s while indexing
    current: str = ""
    errors: tuple[FileError, ...] = ()
    report: IndexReport | None = None
    message: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    revision: int = 0  # bumps on every change (for event streams)

    @property
    def finished_state(self) -> bool:
        return self.state != JobStatus.RUNNING


# run(engine, on_progress) -> IndexReport: the job's work, on an Engine the job owns
Runner = Callable[[object, Callable[[Progress], None]], IndexReport]


class _Job:
    def __init__(self, state: JobState) -> None:
        self.state = state
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None
        self.indexing_since: float | None = None


class JobManager:
    """Starts, follows and cancels index jobs. `open_writer` gives a fresh Engine for each job (closed
    after it); only one job runs at a time, as only one writer may hold an index."""

    def __init__(self, open_writer: Callable[[], object]) -> None:
        self._open_writer = open_writer
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def start(self, paths: list[str], prune: bool = False) -> JobState:
        return self._launch(paths, lambda engine, progress: engine.index(paths, on_progress=progress, prune=prune))

    def start_records(self, manifest: str, label_field: str = "label") -> JobState:
        """Index a record manifest (Engine.index_records) as a job; its state's `paths` is the manifest."""
        return self._launch(
            [manifest],
            lambda engine, progress: engine.index_records(manifest, on_progress=progress, label_field=label_field),
        )

    def _launch(self, paths: list[str], run: Runner) -> JobState:
        with self._lock:
            if any(not job.state.finished_state for job in self._jobs.values()):
                raise JobError("an index job is already running; wait for it or cancel it first")
            job = _Job(JobState(uuid.uuid4().hex[:16], tuple(paths)))
            self._jobs[job.state.job_id] = job
            self._forget_old()
        job.thread = threading.Thread(
            target=self._run, args=(job, run), name=f"anyseek-job-{job.state.job_id}", daemon=True
        )
        job.thread.start()
        return job.state

    def get(self, job_id: str) -> JobState:
        with self._lock:
            return self._find(job_id).state

    def list(self) -> list[JobState]:
        with self._lock:
            return [job.state for job in self._jobs.values()]

    def cancel(self, job_id: str) -> JobState:
        with self._lock:
            job = self._find(job_id)
            job.cancel.set()
            return job.state

    def wait_change(self, job_id: str, revision: int, timeout: float) -> JobState:
        """The job's state once its revision passes `revision`, or the current state after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: self._find(job_id).state.revision > revision, timeout)
            return self._find(job_id).state

    def shutdown(self, timeout: float = 60.0) -> None:
        """Cancel every running job and wait for it to stop at a safe point."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        for job in jobs:
            if job.thread is not None:
                job.thread.join(timeout)

    # --- the worker -----------------------------------------------------------------------------
    def _run(self, job: _Job, run: Runner) -> None:
        try:
            engine = self._open_writer()
            try:
                report = run(engine, lambda p: self._progress(job, p))
            finally:
                engine.close()
            state = JobStatus.CANCELLED if report.interrupted else JobStatus.COMPLETED
            self._update(job, state=state, report=report, finished=time.time(), message=_summary(report))
        except KeyboardInterrupt:  # JobCancelled before the indexer's own safe points (while scanning)
            message = "cancelled before indexing began"
            self._update(job, state=JobStatus.CANCELLED, finished=time.time(), message=message)
        except AnyseekError as exc:
            self._update(job, state=JobStatus.FAILED, finished=time.time(), message=str(exc))
        except Exception as exc:  # noqa: BLE001 - a job thread must always end in a state its caller sees
            log.exception("index job %s failed", job.state.job_id)
            self._update(job, state=JobStatus.FAILED, finished=time.time(), message=f"internal error: {exc}")

    def _progress(self, job: _Job, progress: Progress) -> None:
        if progress.phase == "indexing" and job.indexing_since is None:
            job.indexing_since = time.monotonic()
        elapsed = time.monotonic() - job.indexing_since if job.indexing_since else 0.0
        self._update(
            job,
            phase=progress.phase,
            files_done=progress.done,
            files_total=progress.total if progress.phase != "scanning" else None,
            failed=progress.failed,
            rate=progress.done / elapsed if elapsed > 0 else 0.0,
            current=progress.path,
        )
        if job.cancel.is_set() and progress.phase in ("scanning", "indexing"):
            raise JobCancelled

    def _update(self, job: _Job, **changes) -> None:
        with self._changed:
            report = changes.get("report")
            if report is not None:
                changes["errors"] = tuple(report.errors[:MAX_ERRORS])
            job.state = dataclasses.replace(job.state, revision=job.state.revision + 1, **changes)
            self._changed.notify_all()

    def _find(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(f"no index job has id {job_id!r}")
        return job

    def _forget_old(self) -> None:
        finished = [key for key, job in self._jobs.items() if job.state.finished_state]
        for key in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[key]


def _summary(report: IndexReport) -> str:
    state = "interrupted" if report.interrupted else "done"
    return (
        f"{state} in {report.seconds:.1f}s: {report.added} added, {report.updated} updated, {report.moved} moved, "
        f"{report.deleted} deleted, {report.unchanged} unchanged, {report.failed} failed"
    )
