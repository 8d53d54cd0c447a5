"""An indexing run's decoding and embedding on a Ray cluster (`anyseek index DIR --ray [ADDRESS]`).

The driver (this process) has scanned and planned the run against SQLite as a run in one process does
(pipeline.Indexer.run). Here it cuts the files to decode into shards: a Ray task decodes each shard
(workers.decode_shard), and the shard goes on, as an object reference the driver never fetches, to one
of a pool of embedding actors (one per GPU, else one per two CPUs; workers.Embedder). Each embedded
shard comes back to the driver, which decides its moves and duplicates against SQLite, and commits it
through the pipeline's own handle/record steps: one transaction per shard, as a local run commits each
batch, so a driver killed mid-run leaves an index that the next run completes.

Faults: a task whose worker dies is retried by Ray (max_retries), an actor that dies is restarted with its
call retried (max_restarts, max_task_retries). A shard that still fails is decoded again file by file, so
a file that kills its worker every time is that file's error, and the rest of its shard is indexed.

Shards travel in memory, through Ray's object store: their vectors reach SQLite in the driver, which is
the truth from which the FAISS files derive, so there is no file layout to write in between.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from anyseek.engine.errors import AnyseekError, ConfigError
from anyseek.engine.records import IndexReport, Progress, display_path
from anyseek.indexer.distributed.workers import KNOWN, Embedder, Shard, WorkerContext, decode_shard
from anyseek.indexer.prepare import MoveClaims, Outcome, Prepared, copy_source
from anyseek.media.sniff import kind_hint

log = logging.getLogger(__name__)

SHARD_FILES = 16  # files per task: enough to fill the model's batches, few enough to spread over workers
TASK_RETRIES = 2  # a task whose worker died runs again this many times, then its files one by one
ACTOR_RESTARTS = 2


class RayIndexingError(AnyseekError):
    """The cluster itself failed (not a file): what was committed stays, and the next run resumes."""


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("indexing on Ray needs Ray installed: pip install 'anyseek[ray]'") from None
    return ray


@contextmanager
def cluster(address: str, cpus: int | None = None) -> Iterator[object]:
    """Ray, connected: `local` starts a cluster on this machine (and stops it after), an address joins one.
    A driver already connected (an application's own ray.init) is used as it is. Ray's own logs stay in its
    session folder; workers' output is not forwarded to this terminal."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    options = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False}
    if address == "local":
        ray.init(num_cpus=cpus or os.cpu_count(), **options)
    else:
        try:
            ray.init(address=address, **options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"cannot join the Ray cluster at {address}: {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def resolve_known(prepared: Prepared, claims: MoveClaims, store) -> Prepared:
    """A worker found the file's content already indexed (workers.KNOWN): here, against SQLite, it is a
    move of a vanished item (claimed once, as in the pipeline), else a copy of an indexed one."""
    if prepared.source is not KNOWN:
        return prepared
    if prepared.outcome is Outcome.MOVED and (moved := claims.claim(prepared.content_hash)):
        prepared.source = moved
        return prepared
    if source := copy_source(store, prepared.content_hash, prepared.previous):
        prepared.outcome, prepared.source = Outcome.COPIED, source
        return prepared
    # its twin was deleted in the meantime (not by this run, which holds the writer lock): index it again
    prepared.outcome, prepared.source, prepared.error = Outcome.FAILED, None, "its content changed while indexing"
    return prepared


class _PlainWrites:
    """The batch the pipeline's `handle` fills: files with nothing to embed (failed, ignored, subtitles); the
    embedded ones were embedded by the actor already."""

    def __init__(self) -> None:
        self.writes = []

    def add(self, _prepared: Prepared) -> None:
        pass

    def add_plain(self, write) -> None:
        self.writes.append(write)


class RayIndexing:
    def __init__(self, indexer, address: str) -> None:
        self.indexer, self.address = indexer, address
        self.settings = indexer.settings

    def process(self, todo: list[tuple], planned: dict, claims: MoveClaims, report: IndexReport, progress) -> None:
        """`planned`: pipeline.plan_by_kind of `todo`, for the progress estimate."""
        self.planned, self.total, self.done, self.on_progress = planned, len(todo), 0, progress
        progress(Progress("indexing", self.total, 0, report.failed, planned=self.planned))
        self.saved = time.monotonic()
        with cluster(self.address, self.settings.workers) as ray:
            try:
                self._run(ray, todo, claims, report)
            except KeyboardInterrupt:
                report.interrupted = True

    def _run(self, ray, todo: list[tuple], claims: MoveClaims, report: IndexReport) -> None:
        store = self.indexer.store
        context = WorkerContext(
            self.indexer.encoders.specs,
            self.settings,
            self.indexer.reader_name,
            claims.hashes(),
            frozenset(store.indexed_hashes()),
        )
        context_ref = ray.put(context)
        actors, cpu_share = self._actors(ray, context)
        decode = ray.remote(decode_shard).options(num_cpus=cpu_share, max_retries=TASK_RETRIES)
        shards = [todo[i : i + SHARD_FILES] for i in range(0, len(todo), SHARD_FILES)]
        pending: dict = {}
        turn = 0
        while shards or pending:
            while shards and len(pending) < 2 * len(actors) + 1:
                jobs = shards.pop(0)
                pending[actors[turn % len(actors)].embed.remote(decode.remote(context_ref, jobs))] = jobs
                turn += 1
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                jobs = pending.pop(ref)
                shard = self._fetch(ray, ref, jobs)
                if shard is None:  # split: its files go again, one per task
                    shards[:0] = [[job] for job in jobs]
                else:
                    self._commit(shard, claims, report)

    def _actors(self, ray, context: WorkerContext) -> tuple[list, float]:
        """One embedding actor per GPU of the cluster; without GPUs, one per two CPUs (the other decodes).
        Also the CPUs a task or a CPU actor asks for: half a CPU on a one-CPU cluster, where an actor holding
        the only CPU would leave no decode task able to start."""
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), resources.get("CPU", 1)
        share = 1 if cpus >= 2 else 0.5
        count = gpus or max(1, int(cpus) // 2)
        placement = {"num_gpus": 1} if gpus else {"num_cpus": share}
        actor = ray.remote(Embedder).options(**placement, max_restarts=ACTOR_RESTARTS, max_task_retries=ACTOR_RESTARTS)
        log.info("embedding in %d Ray actors (%s)", count, "GPU" if gpus else "CPU")
        return [actor.remote(context.specs, context.settings) for _ in range(count)], share

    def _fetch(self, ray, ref, jobs: list[tuple]) -> Shard | None:
        """The embedded shard; None when its workers died past their retries and its files go again one by
        one; a one-file shard that still fails becomes that file's error."""
        from ray.exceptions import ActorDiedError, RayError, RayTaskError

        try:
            return ray.get(ref)
        except RayError as exc:
            # a task's own exception comes wrapped (RayTaskError, its `cause`); so does a decode task's
            # crash when the actor call that waited on it reports it
            cause = exc.cause if isinstance(exc, RayTaskError) else exc
            if isinstance(cause, AnyseekError):
                raise cause from None  # a model that cannot load: the run's error, as in one process
            if isinstance(cause, ActorDiedError):
                raise RayIndexingError(f"the Ray embedding actors died: {cause}") from None
            if isinstance(cause, RayError):  # its worker died each time (a decoder crashed it, or its node)
                failure = f"its decoding worker died ({type(cause).__name__})"
            else:  # not a file's decoder (the Preparer catches those): the task's own failure
                failure = f"cannot index it on Ray: {type(cause).__name__}: {cause}"
        if len(jobs) > 1:
            log.info("a shard of %d files failed (%s): trying them one by one", len(jobs), failure)
            return None
        entry, previous, _again = jobs[0]
        return Shard([Prepared(entry, Outcome.FAILED, previous, error=failure)])

    def _commit(self, shard: Shard, claims: MoveClaims, report: IndexReport) -> None:
        indexer, plain = self.indexer, _PlainWrites()
        for fingerprint in shard.models:  # recorded (and checked) before any of their vectors is written
            indexer.encoders.report_loaded(fingerprint)
        for prepared in shard.prepared:
            indexer.handle(resolve_known(prepared, claims, indexer.store), plain, report)
            self.done += 1
            entry = prepared.entry
            kind = kind_hint(entry.path)
            self.on_progress(
                Progress(
                    "indexing",
                    self.total,
                    self.done,
                    report.failed,
                    display_path(entry.path),
                    kind,
                    entry.size,
                    self.planned,
                )
            )
        indexer.record(plain.writes + shard.writes, shard.replaced, shard.rereads, report)
        if time.monotonic() - self.saved > self.settings.save_interval_s:
            indexer.writer.save()
            self.saved = time.monotonic()
