"""The `anyseek` command: parse arguments, call the Engine, print. Holds no search or indexing logic."""

from __future__ import annotations

import functools
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from anyseek.cli import params, render, usage
from anyseek.cli.classify import register as register_classify
from anyseek.cli.duplicates import register as register_duplicates
from anyseek.cli.embeddings import register as register_embeddings
from anyseek.cli.evaluate import register as register_eval
from anyseek.cli.logs import quiet_libraries
from anyseek.cli.options import STATE, Device, IndexDir, Json, NoServer
from anyseek.cli.record_options import LabelField, Records
from anyseek.cli.search import register as register_search
from anyseek.cli.serve import register as register_serve
from anyseek.cli.train import register as register_train

app = typer.Typer(
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_enable=False,
    help="anyseek: find anything by anything in your photos, documents and recordings.",
)


def _print_version(value: bool) -> None:
    if value:
        from anyseek import __version__

        typer.echo(f"anyseek {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    index: Annotated[
        Path | None,
        typer.Option(
            "--index",
            help="Index directory [default: $ANYSEEK_HOME, else the user data folder: ~/.local/share/anyseek/default "
            "on Linux]",
            readable=False,  # another user's (private) index: the engine says whose it is, not "not readable"
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML file of settings (models, limits…).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    quiet_libraries(verbose or debug)
    STATE.index, STATE.config, STATE.debug = index, config, debug


USAGE_EXIT_STATUS = 2  # click's, for a usage error


def friendly(command):
    """Engine errors become one line on stderr and the exit status their class declares (engine/errors.py);
    --debug shows the traceback. A bad value the engine finds (exit status 2: an empty query, a date that
    is not one, a query image that is not an image) is a usage error like a bad option, with its hint."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from anyseek.engine.errors import AnyseekError

        try:
            return command(*args, **kwargs)
        except AnyseekError as exc:
            if STATE.debug:
                raise
            if exc.exit_status == USAGE_EXIT_STATUS:  # run() prints it with the `try … -h` hint
                context = usage.click_module("globals").get_current_context(silent=True)
                raise usage.click_module("exceptions").UsageError(str(exc), ctx=context) from None
            render.error(str(exc))
            raise typer.Exit(exc.exit_status) from None
        except KeyboardInterrupt:
            render.error("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def open_engine(create: bool = True, **overrides):
    from anyseek.engine import Engine

    return Engine.open(STATE.index, create=create, config_file=STATE.config, **overrides)


JointModel = Annotated[
    str | None,
    typer.Option(
        help="open_clip model name, hf-hub: id or local directory (default ViT-B-32; fixed when the index is created)"
    ),
]
JointPretrained = Annotated[
    str | None, typer.Option(help="open_clip pretrained tag or checkpoint path (default laion2b_s34b_b79k)")
]
TextModel = Annotated[str | None, typer.Option(help="sentence-transformers model (default all-MiniLM-L6-v2)")]
SpeechModel = Annotated[str | None, typer.Option(help="faster-whisper size or CTranslate2 directory (default tiny.en)")]


@app.command()
@friendly
def index(
    paths: Annotated[list[Path] | None, typer.Argument(help="Folders or files to index.")] = None,
    records: Records = None,
    label_field: LabelField = "label",
    joint_model: JointModel = None,
    joint_pretrained: JointPretrained = None,
    text_model: TextModel = None,
    speech_model: SpeechModel = None,
    device: Device = None,
    text_spaces: Annotated[
        str | None,
        typer.Option(
            callback=params.as_parameter_error(params.text_spaces),
            help="Where passages and speech go, for a new index: joint,text (default) or text (documents only).",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Decode workers.")] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="A folder that lists no files really is empty: forget what the index holds under it."
        ),
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Decode again the files that failed before, although unchanged.")
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Decode and embed on Ray: 'local' starts a cluster on this machine, else a cluster's address.",
        ),
    ] = None,
    json: Json = False,
    index_dir: IndexDir = None,
) -> None:
    """Index folders: new files are embedded, changed ones re-embedded, moved ones re-linked, deleted ones
    dropped. With --records, a manifest's records (each row's text and files as one item). Safe to interrupt
    and re-run."""
    from anyseek.cli.progress import IndexProgress  # rich.progress: 3 ms that the other commands do not pay

    if bool(paths) == (records is not None):
        raise typer.BadParameter("give folders or files to index, or --records MANIFEST (not both)")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    with open_engine(
        joint_model=joint_model,
        joint_pretrained=joint_pretrained,
        text_model=text_model,
        speech_model=speech_model,
        device=device,
        text_spaces=text_spaces,
        workers=workers,
    ) as engine:
        terminal = sys.stderr.isatty()  # a bar there; a log or a pipe gets a line every 15 s instead
        with IndexProgress(live=terminal and not json, quiet=terminal and json) as progress:
            if records is not None:
                report = engine.index_records(
                    records, on_progress=progress, label_field=label_field, retry_failed=retry_failed
                )
            else:
                report = engine.index(paths, on_progress=progress, prune=prune, retry_failed=retry_failed, ray=ray)
    render.index_json(report) if json else render.index_summary(report, "rows" if records else "files")
    if report.interrupted:
        raise typer.Exit(130)


def _raise_interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


register_search(app, friendly, open_engine)


@app.command()
@friendly
def status(json: Json = False, index_dir: IndexDir = None, no_server: NoServer = False) -> None:
    """Counts per modality, models, size on disk, last run, errors and effective settings."""
    from anyseek.cli import client

    remote = client.connect(STATE.index, no_server)
    result = client.status(remote) if remote else None
    if result is None:
        with open_engine(create=False) as engine:
            result = engine.status()
    render.warnings(result.warnings)
    render.status_json(result) if json else render.status_table(result)


@app.command()
@friendly
def remove(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to forget.")], index_dir: IndexDir = None
) -> None:
    """Remove files (or everything under folders) from the index. The files themselves are not touched."""
    with open_engine(create=False) as engine:
        removed = engine.remove(paths)
    render.out.print(f"removed {removed} item(s)")


@app.command()
@friendly
def upgrade(index_dir: IndexDir = None) -> None:
    """Bring the index's schema up to this anyseek's, loading no model. Any command that may write the index
    does this by itself; this is for an index its readers may not write (a read-only share or mount)."""
    from anyseek.engine import Engine

    done = Engine.upgrade(STATE.index)
    change = f"{done.before} -> {done.after}" if done.before != done.after else f"{done.after}, already current"
    render.out.print(f"index at {done.home}: schema version {change}")


register_train(app, open_engine)
register_eval(app, friendly, open_engine)
register_classify(app, friendly, open_engine, IndexDir)
register_duplicates(app, friendly, open_engine)
register_embeddings(app, friendly, open_engine)


register_serve(app, open_engine, friendly)


def run() -> None:
    """Exit status: 0 success, 1 an anyseek error, 2 a usage error, 130 interrupted. Every error is one
    plain line on stderr (usage errors too, which typer would draw in a box, plus a hint)."""
    errors = usage.click_module("exceptions")
    app.info.epilog = usage.help_epilog()
    try:
        code = app(standalone_mode=False, prog_name="anyseek")
    except errors.NoArgsIsHelpError as exc:
        exc.show()  # the help, as for -h; status 2, since no command was given
        code = exc.exit_code
    except errors.UsageError as exc:
        message = usage.unknown_option(exc) if isinstance(exc, errors.NoSuchOption) else exc.format_message()
        render.usage_error(message, exc.ctx.command_path if exc.ctx else "anyseek")
        code = exc.exit_code
    except errors.ClickException as exc:
        render.error(exc.format_message())
        code = exc.exit_code
    except (typer.Abort, getattr(errors, "Abort", typer.Abort)):  # typer moved Abort between releases
        render.error("interrupted")
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
