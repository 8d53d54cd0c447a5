"""The `anyseek` command: parse arguments, call the Engine, print. Holds no search or indexing logic."""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from anyseek.cli import render
from anyseek.cli.duplicates import register as register_duplicates
from anyseek.cli.evaluate import register as register_eval
from anyseek.cli.progress import IndexProgress
from anyseek.cli.serve import register as register_serve
from anyseek.cli.train import register as register_train

app = typer.Typer(
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
    pretty_exceptions_enable=False,
    help="anyseek: find anything by anything in your photos, documents and recordings.",
)


@dataclass(slots=True)
class CliState:
    """The global options, set by the callback before any command runs (one process, one invocation)."""

    index: Path | None = None
    config: Path | None = None
    debug: bool = False


STATE = CliState()


def _quiet_libraries(verbose: bool) -> None:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        # Model libraries log through the root logger (open_clip logs a failed download as an ERROR that
        # our own one-line error already explains); anyseek's own warnings still show.
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda record: record.name.startswith("anyseek"))
        logging.getLogger("faiss.loader").setLevel(logging.ERROR)


def _print_version(value: bool) -> None:
    if value:
        from anyseek import __version__

        typer.echo(f"anyseek {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Index directory [default: $ANYSEEK_HOME, else ~/.local/share/anyseek/default]"),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML file of settings (models, limits…).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _quiet_libraries(verbose or debug)
    STATE.index, STATE.config, STATE.debug = index, config, debug


def friendly(command):
    """Engine errors become one line on stderr and exit status 1; --debug shows the traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from anyseek.engine.errors import AnyseekError

        try:
            return command(*args, **kwargs)
        except AnyseekError as exc:
            if STATE.debug:
                raise
            render.error(str(exc))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            render.error("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def open_engine(create: bool = True, **overrides):
    from anyseek.engine import Engine

    return Engine.open(STATE.index, create=create, config_file=STATE.config, **overrides)


def _command_index(value: Path | None) -> Path | None:
    """`--index` is accepted after the command too (`anyseek search --index DIR red`); there it wins."""
    if value is not None:
        STATE.index = value
    return value


def _as_parameter_error(check):
    """Run an engine argument check at parse time, so the CLI and the API give the same message; from
    the CLI it is a usage error (exit status 2)."""

    def callback(value):
        from anyseek.engine.errors import QueryError

        if value is None:
            return value
        try:
            return check(value)
        except QueryError as exc:
            raise typer.BadParameter(str(exc)) from None

    return callback


def check_min_similarity(value: float) -> float:
    from anyseek.engine.arguments import check_min_similarity as check

    return check(value)


def _types(values: list[str]) -> list[str]:
    from anyseek.engine.arguments import parse_modalities

    return [m.value for m in parse_modalities(values)]


def _query_files(what: str):
    def check(value):
        from anyseek.engine.arguments import check_query_file

        if isinstance(value, list):
            return [check_query_file(v, what) for v in value]
        return check_query_file(value, what)

    return check


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
Device = Annotated[str | None, typer.Option(help="auto, cpu or cuda[:N]")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output (see README, JSON output).")]
IndexDir = Annotated[
    Path | None,
    typer.Option("--index", callback=_command_index, help="Index directory (also accepted before the command)."),
]
NoServer = Annotated[
    bool,
    typer.Option(
        "--no-server", help="Work in-process even when `anyseek serve` runs on this index (env ANYSEEK_NO_SERVER=1)."
    ),
]


@app.command()
@friendly
def index(
    paths: Annotated[list[Path], typer.Argument(help="Folders or files to index.")],
    joint_model: JointModel = None,
    joint_pretrained: JointPretrained = None,
    text_model: TextModel = None,
    speech_model: SpeechModel = None,
    device: Device = None,
    text_spaces: Annotated[
        str | None,
        typer.Option(
            help="Where passages and speech go, for a new index: joint,text (default) or text (documents only)."
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
    json: Json = False,
    index_dir: IndexDir = None,
) -> None:
    """Index folders: new files are embedded, changed ones re-embedded, moved ones re-linked, deleted ones
    dropped. Safe to interrupt and re-run."""
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
        with IndexProgress(enabled=not json and sys.stderr.isatty()) as progress:
            report = engine.index(paths, on_progress=progress, prune=prune, retry_failed=retry_failed)
    render.index_json(report) if json else render.index_summary(report)
    if report.interrupted:
        raise typer.Exit(130)


def _raise_interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


@app.command()
@friendly
def search(
    query: Annotated[
        str | None, typer.Argument(help="Text, or a combination such as 'dog + ./beach.jpg - cartoon' or '2:dog'.")
    ] = None,
    image: Annotated[
        list[Path] | None,
        typer.Option("--image", callback=_as_parameter_error(_query_files("image")), help="Search by this image."),
    ] = None,
    audio: Annotated[
        Path | None,
        typer.Option(
            "--audio",
            callback=_as_parameter_error(_query_files("recording")),
            help="Transcribe this recording and search with what it says.",
        ),
    ] = None,
    like: Annotated[str | None, typer.Option("--like", help="More like this indexed file (path or item id).")] = None,
    k: Annotated[int, typer.Option("-k", "--limit", min=1, help="Number of results.")] = 10,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type", "-t", callback=_as_parameter_error(_types), help="Only image, text, audio or video (repeatable)."
        ),
    ] = None,
    path: Annotated[Path | None, typer.Option("--path", help="Only files under this path.")] = None,
    min_similarity: Annotated[
        float | None,
        typer.Option(
            "--min-similarity",
            callback=_as_parameter_error(check_min_similarity),
            help="Drop matches whose cosine similarity is lower (-1 to 1).",
        ),
    ] = None,
    min_score: Annotated[
        float | None, typer.Option("--min-score", min=0.0, max=1.0, help="Drop matches whose score (0-1) is lower.")
    ] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="hybrid (default), dense (embeddings only) or lexical (words only).")
    ] = None,
    after: Annotated[
        str | None, typer.Option("--after", help="Only items captured on or after this date (2024-05-01).")
    ] = None,
    before: Annotated[str | None, typer.Option("--before", help="Only items captured before this date.")] = None,
    sort: Annotated[
        str | None,
        typer.Option("--sort", help="relevance (default) or date: the hits above --min-score, newest first."),
    ] = None,
    device: Device = None,
    json: Json = False,
    paths_only: Annotated[
        bool, typer.Option("--paths", "-f", help="Only the paths, one per line (their exact bytes), for scripts.")
    ] = False,
    index_dir: IndexDir = None,
    no_server: NoServer = False,
) -> None:
    """Search the index by text, image, recording or indexed item; every input given is combined."""
    from anyseek.cli import client
    from anyseek.engine.errors import QueryError

    if not (query or image or audio or like):
        raise QueryError("give a query text, --image, --audio or --like")
    remote = client.connect(STATE.index, no_server or device is not None)
    args = (query, image or [], audio, like, k, types or [], path, min_similarity, min_score, mode, after, before)
    results = client.search(remote, *args, sort=sort) if remote else None
    if results is None:
        options = {"k": k, "modalities": types or (), "path_prefix": path, "min_similarity": min_similarity}
        options |= {"min_score": min_score, "mode": mode, "after": after, "before": before, "sort": sort}
        results = _search_here(query, image, audio, like, device, options)
    render.warnings(results.warnings)
    if paths_only:
        render.search_paths(results)
        return
    render.search_json(results, query) if json else render.search_table(results)


def _search_here(query, image, audio, like, device, options: dict):
    """The search in this process: the models load here. `options`: Engine.search's filters and k."""
    from anyseek.engine.records import QueryPart

    with open_engine(create=False, device=device) as engine:
        parts = (engine.parse(query) if query else []) + [QueryPart(image=p) for p in image or ()]
        like_ref = int(like) if like and like.isdigit() else like
        return engine.search(parts=parts, audio=audio, like=like_ref, **options)


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


register_train(app)
register_eval(app, friendly, open_engine)
register_duplicates(app, friendly, open_engine)


def _click_errors():
    try:  # typer vendors its own copy of click from 0.26 on
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer with click itself
        from click import exceptions
    return exceptions


register_serve(app, open_engine, friendly)


def run() -> None:
    """Exit status: 0 success, 1 an anyseek error, 2 a usage error, 130 interrupted. Every error is one
    plain line on stderr (usage errors too, which typer would draw in a box, plus a hint)."""
    errors = _click_errors()
    try:
        code = app(standalone_mode=False, prog_name="anyseek")
    except errors.NoArgsIsHelpError as exc:
        exc.show()  # the help, as for -h; status 2, since no command was given
        code = exc.exit_code
    except errors.UsageError as exc:
        render.usage_error(exc.format_message(), exc.ctx.command_path if exc.ctx else "anyseek")
        code = exc.exit_code
    except errors.ClickException as exc:
        render.error(exc.format_message())
        code = exc.exit_code
    except (typer.Abort, getattr(errors, "Abort", typer.Abort)):  # typer moved Abort between releases
        render.error("interrupted")
        code = 130
    sys.exit(code if isinstance(code, int) else 0)
