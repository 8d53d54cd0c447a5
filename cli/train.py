"""`anyseek train`: contrastive training on aligned pairs. Parses options, shows progress, prints the result;
all training logic lives in `engine.training`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


ALIGN_EXAMPLES = 3  # flagged pairs named in the check's warning
_open_engine = None  # the app's index opener, for the alignment check (set by register)


def register(app: typer.Typer, open_engine=None) -> None:
    """Add the `train` command to the anyseek app; `open_engine` opens the index whose joint model checks
    the pairs' alignment first."""
    global _open_engine
    _open_engine = open_engine
    app.command("train")(train)


def train(
    pairs: Annotated[
        Path, typer.Argument(help="A .csv or .jsonl of image,text[,group] rows, or a folder of name.jpg + name.txt.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder: the trained model, its card and checkpoints.")],
    model: Annotated[
        str | None, typer.Option(help="open_clip model to start from: a name, hf-hub:ID or local-dir:PATH.")
    ] = None,
    pretrained: Annotated[
        str | None, typer.Option(help="Pretrained tag or checkpoint file for --model (fine-tune).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Architecture JSON (open_clip model_cfg): train from scratch.")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 10,
    batch_size: Annotated[int, typer.Option(min=2)] = 64,
    lr: Annotated[
        float | None, typer.Option(help="Peak learning rate [default: 5e-4 from scratch, 1e-5 fine-tuning].")
    ] = None,
    freeze: Annotated[list[str] | None, typer.Option(help="Freeze a tower: image or text (repeatable).")] = None,
    train_only: Annotated[str | None, typer.Option(help="'projection': train only the projection heads.")] = None,
    val_fraction: Annotated[float, typer.Option(help="Share of images held out for validation.")] = 0.1,
    patience: Annotated[
        int, typer.Option(min=0, help="Stop after this many epochs without improvement (0: never).")
    ] = 3,
    seed: int = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N]")] = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/checkpoints/last.pt.")] = False,
    eval_pairs: Annotated[
        list[Path] | None,
        typer.Option("--eval", help="Extra pairs to score at the end, e.g. held-out data (repeatable)."),
    ] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads for torch.")] = None,
    name: Annotated[str | None, typer.Option(help="Title of the model card.")] = None,
    notes: Annotated[Path | None, typer.Option(help="Markdown file appended to the model card.")] = None,
    drop_misaligned: Annotated[
        bool, typer.Option("--drop-misaligned", help="Leave out the pairs the alignment check flags.")
    ] = False,
    align_check: Annotated[
        bool,
        typer.Option("--align-check/--no-align-check", help="Check the pairs' alignment first (anyseek align)."),
    ] = True,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Train or fine-tune a joint image–text model on aligned pairs (symmetric InfoNCE). The output folder
    can be used as the joint model of a new index. The pairs' alignment is checked first with the index's
    joint model (as `anyseek align` does): a warning names the misaligned pairs, --drop-misaligned leaves
    them out."""
    from anyseek.engine.errors import AnyseekError, TrainingError
    from anyseek.engine.training import TrainConfig, train_contrastive

    try:
        if notes is not None and not notes.is_file():
            raise TrainingError(f"notes file not found: {notes}")
        if drop_misaligned and not align_check:
            raise TrainingError("--drop-misaligned needs the alignment check; leave out --no-align-check")
        drop = check_alignment(pairs, drop_misaligned) if align_check else frozenset()
        settings = TrainConfig(
            pairs=pairs,
            out=out_dir,
            model=model,
            pretrained=pretrained,
            config=config,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            freeze=tuple(freeze or ()),
            train_only=train_only,
            val_fraction=val_fraction,
            patience=patience or None,
            seed=seed,
            device=device,
            resume=resume,
            eval_pairs=tuple(eval_pairs or ()),
            threads=threads,
            name=name,
            notes=notes.read_text(encoding="utf-8") if notes else None,
            drop=drop,
        )
        settings.command = command_line(settings, notes)
        with TrainProgress(enabled=not json and err.is_terminal) as progress:
            report = train_contrastive(settings, on_progress=progress)
    except AnyseekError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_status) from None
    except KeyboardInterrupt:
        err.print("interrupted; continue with --resume")
        raise typer.Exit(130) from None
    if json:
        import json as json_module

        out.print(json_module.dumps(report.to_dict(), indent=2), markup=False, soft_wrap=True)
    else:
        summary_table(report)


def check_alignment(pairs: Path, drop: bool) -> frozenset[str]:
    """Score the pairs' alignment with the index's joint model; warn with the count and a few examples.
    Returns the flagged pairs' locations when they are to be dropped."""
    from anyseek.engine.errors import IndexNotFoundError, TrainingError

    try:
        engine = _open_engine(create=False) if _open_engine else None
    except IndexNotFoundError as exc:
        if drop:
            raise TrainingError(f"--drop-misaligned: the alignment check needs an index's joint model: {exc}") from None
        err.print(f"note: alignment check skipped ({exc})", markup=False, soft_wrap=True)
        return frozenset()
    if engine is None:
        return frozenset()
    with engine:
        report = engine.align(pairs)
    flagged = report.flagged
    if flagged:
        shown = "; ".join(f"{r.id}: {r.summary}" for r in flagged[:ALIGN_EXAMPLES])
        action = "left out (--drop-misaligned)" if drop else "kept; --drop-misaligned leaves them out"
        err.print(
            f"warning: {len(flagged)} of {len(report.records)} pairs look misaligned (agreement < "
            f"{report.threshold:g}), e.g. {shown}; {action}; `anyseek align {pairs}` lists them",
            markup=False,
            soft_wrap=True,
        )
    for message in report.warnings[:ALIGN_EXAMPLES]:
        err.print(f"warning: {message}", markup=False, soft_wrap=True)
    return frozenset(r.id for r in flagged) if drop else frozenset()


def command_line(settings: Any, notes: Path | None) -> str:
    """The command that reproduces this run, with only the options that differ from their defaults."""
    words = ["anyseek", "train", str(settings.pairs), "--out", str(settings.out)]
    options = [
        ("--model", settings.model, None),
        ("--pretrained", settings.pretrained, None),
        ("--config", settings.config, None),
        ("--epochs", settings.epochs, 10),
        ("--batch-size", settings.batch_size, 64),
        ("--lr", settings.lr, None),
        ("--train-only", settings.train_only, None),
        ("--val-fraction", settings.val_fraction, 0.1),
        ("--patience", settings.patience or 0, 3),
        ("--seed", settings.seed, 0),
        ("--device", settings.device, "auto"),
        ("--threads", settings.threads, None),
        ("--name", settings.name, None),
        ("--notes", notes, None),
    ]
    for flag, value, default in options:
        if value != default:
            words += [flag, str(value)]
    for tower in settings.freeze:
        words += ["--freeze", tower]
    for path in settings.eval_pairs:
        words += ["--eval", str(path)]
    if settings.drop:
        words.append("--drop-misaligned")
    return shlex.join(words)


class TrainProgress:
    """A rich progress bar over all steps of the run, with one line per finished epoch."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        # imported here: rich.progress costs every other command's start 3 ms
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not enabled,
        )
        self._task = self._bar.add_task("preparing", total=None, loss="-")

    def __enter__(self) -> TrainProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def __call__(self, event: Any) -> None:
        from anyseek.engine.training import EpochResult

        if isinstance(event, EpochResult):
            if self.enabled:
                self._bar.console.print(epoch_line(event))
            return
        self._bar.update(
            self._task,
            description=f"epoch {event.epoch}/{event.epochs}",
            total=event.total_steps,
            completed=event.global_step,
            loss=f"{event.loss:.3f}",
        )


def epoch_line(event: Any) -> str:
    r = event.recall
    head = "start" if event.epoch == 0 else f"epoch {event.epoch}"
    train = f"train {event.train_loss:.3f}  " if event.train_loss is not None else ""
    mark = "  [green]best[/green]" if event.improved else ""
    return (
        f"{head}: {train}val {event.val_loss:.3f}  text→image R@1 {r.text_to_image_r1:.3f} R@5 {r.text_to_image_r5:.3f}"
        f"  image→text R@1 {r.image_to_text_r1:.3f} R@5 {r.image_to_text_r5:.3f}{mark}"
    )


def summary_table(report: Any) -> None:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("pool", "text→image R@1", "R@5", "image→text R@1", "R@5", "loss"):
        table.add_column(column, justify="left" if column == "pool" else "right")
    rows = [("validation, start", report.initial.recall, report.initial.val_loss)]
    rows.append((f"validation, epoch {report.best_epoch} (best)", report.best.recall, report.best.val_loss))
    rows += [(f"{name} (+ validation gallery)", recall, None) for name, recall in report.extra_eval.items()]
    for pool, r, loss in rows:
        table.add_row(
            pool,
            f"{r.text_to_image_r1:.3f}",
            f"{r.text_to_image_r5:.3f}",
            f"{r.image_to_text_r1:.3f}",
            f"{r.image_to_text_r5:.3f}",
            f"{loss:.3f}" if loss is not None else "",
        )
    out.print(table)
    stopped = ", stopped early" if report.stopped_early else ""
    out.print(
        f"{report.epochs_run} epochs, {report.steps} steps on {report.device} in {report.seconds / 60:.1f} min"
        f"{stopped}; model written to {report.out_dir}"
    )
