"""A rich progress bar fed by the engine's progress callback: files/s, ETA, error count."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from anyseek.engine.records import Progress as EngineProgress


class IndexProgress:
    def __init__(self, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} files/s"),
            TimeRemainingColumn(),
            TextColumn("[red]{task.fields[failed]} errors"),
            transient=True,
            disable=not enabled,
        )
        self._task = None

    def __enter__(self) -> IndexProgress:
        self._bar.__enter__()
        self._task = self._bar.add_task("scanning", total=None, rate="-", failed=0)
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def __call__(self, event: EngineProgress) -> None:
        task = self._bar.tasks[0]
        rate = f"{task.speed:.1f}" if task.speed else "-"
        self._bar.update(
            self._task,
            description=event.phase,
            total=event.total or None,
            completed=event.done,
            failed=event.failed,
            rate=rate,
        )
