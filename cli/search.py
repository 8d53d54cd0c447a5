"""`anyseek search`: the options become one SearchRequest (engine/request.py), which a running server
answers (cli/client.py) or this process does. Parses and prints; the searching is the engine's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from anyseek.cli import params, render
from anyseek.cli.options import STATE, Device, IndexDir, Json, NoServer
from anyseek.cli.record_options import Fusion, Join, Weights


def _absolute(path: str | Path | None) -> str | None:
    """A path as the user means it (from here), whoever resolves it: this process or a server."""
    return None if path is None else os.path.abspath(os.path.expanduser(path))


def register(app: typer.Typer, friendly, open_engine) -> None:
    """Add the `search` command; `friendly` and `open_engine` are the app's error wrapper and index opener."""

    @app.command()
    @friendly
    def search(
        query: Annotated[
            str | None, typer.Argument(help="Text, or a combination such as 'dog + ./beach.jpg - cartoon' or '2:dog'.")
        ] = None,
        image: Annotated[
            list[Path] | None,
            typer.Option(
                "--image", callback=params.as_parameter_error(params.query_files("image")), help="Search by this image."
            ),
        ] = None,
        audio: Annotated[
            Path | None,
            typer.Option(
                "--audio",
                callback=params.as_parameter_error(params.query_files("recording")),
                help="Transcribe this recording and search with what it says.",
            ),
        ] = None,
        like: Annotated[
            str | None, typer.Option("--like", help="More like this indexed file (path or item id).")
        ] = None,
        k: Annotated[
            int | None,
            typer.Option(
                "-k",
                callback=params.as_parameter_error(params.request_check("k")),
                help="Number of results (default 10).",
            ),
        ] = None,
        offset: Annotated[
            int,
            typer.Option(
                "--offset",
                callback=params.as_parameter_error(params.request_check("offset")),
                help="Skip this many hits first (the next page).",
            ),
        ] = 0,
        modalities: Annotated[
            list[str] | None,
            typer.Option(
                "--modality",
                "-t",
                callback=params.as_parameter_error(params.modalities),
                help="Only image, text, audio, video or record (repeatable).",
            ),
        ] = None,
        path: Annotated[Path | None, typer.Option("--path", help="Only files under this path.")] = None,
        min_similarity: Annotated[
            float | None,
            typer.Option(
                "--min-similarity",
                callback=params.as_parameter_error(params.request_check("min_similarity")),
                help="Drop matches whose cosine similarity is lower (-1 to 1).",
            ),
        ] = None,
        min_score: Annotated[
            float | None,
            typer.Option(
                "--min-score",
                callback=params.as_parameter_error(params.request_check("min_score")),
                help="Drop matches whose score (0-1) is lower.",
            ),
        ] = None,
        mode: Annotated[
            str | None,
            typer.Option(
                "--mode",
                callback=params.as_parameter_error(params.mode),
                help="hybrid (default), dense (embeddings only) or lexical (words only).",
            ),
        ] = None,
        after: Annotated[
            str | None,
            typer.Option(
                "--after",
                callback=params.as_parameter_error(params.date("after")),
                help="Only items captured on or after this date (2024-05-01).",
            ),
        ] = None,
        before: Annotated[
            str | None,
            typer.Option(
                "--before",
                callback=params.as_parameter_error(params.date("before")),
                help="Only items captured before this date.",
            ),
        ] = None,
        sort: Annotated[
            str | None,
            typer.Option(
                "--sort",
                callback=params.as_parameter_error(params.request_check("sort")),
                help="relevance (default) or date: the hits above --min-score (else the k best), newest first.",
            ),
        ] = None,
        collapse_duplicates: Annotated[
            bool,
            typer.Option(
                "--collapse-duplicates",
                help="One hit per group of duplicate files (copies, re-encodes): the best-ranked, with the count.",
            ),
        ] = False,
        old_types: Annotated[
            list[str] | None,
            typer.Option(
                "--type",
                callback=params.as_parameter_error(params.modalities),
                help="Deprecated name of --modality (until 0.3).",
            ),
        ] = None,
        old_limit: Annotated[
            int | None,
            typer.Option(
                "--limit",
                callback=params.as_parameter_error(params.request_check("k")),
                help="Deprecated name of -k (until 0.3).",
            ),
        ] = None,
        fusion: Fusion = None,
        join: Join = None,
        weights: Weights = None,
        device: Device = None,
        json: Json = False,
        paths_only: Annotated[
            bool, typer.Option("--paths", "-f", help="Only the paths, one per line (their exact bytes), for scripts.")
        ] = False,
        open_hit: Annotated[
            bool, typer.Option("--open", help="Open the first hit shown with the system's opener (xdg-open, open).")
        ] = False,
        index_dir: IndexDir = None,
        no_server: NoServer = False,
    ) -> None:
        """Search the index by text, image, recording or indexed item; every input given is combined."""
        from anyseek.cli import client
        from anyseek.engine.errors import QueryError
        from anyseek.engine.records import QueryPart
        from anyseek.engine.request import SearchRequest

        if not ((query and query.strip()) or image or audio or like):
            raise QueryError("give a query text, --image, --audio or --like")
        # the old names (0.1) still work until 0.3; said once the command line has parsed, not before its errors
        render.warnings(
            f"{old} is deprecated and goes in 0.3; use {new}"
            for old, new, value in (("--type", "--modality (-t)", old_types), ("--limit", "-k", old_limit))
            if value
        )
        given = {
            "k": k if k is not None else old_limit,
            "modalities": (modalities or []) + (old_types or []),
            "path": _absolute(path),
            "like": int(like) if like and like.isdigit() else _absolute(like),
        }
        request = SearchRequest(
            query=query,
            offset=offset,
            parts=[QueryPart(image=p) for p in image or ()],
            audio=audio,
            min_similarity=min_similarity,
            min_score=min_score,
            mode=mode,
            after=after,
            before=before,
            fusion=fusion,
            join=join,
            weights=weights,
            sort=sort,
            collapse_duplicates=collapse_duplicates,
            **{name: value for name, value in given.items() if value is not None},
        )
        remote = client.connect(STATE.index, no_server or device is not None)
        results = client.search(remote, request) if remote else None
        if results is None:
            with open_engine(create=False, device=device) as engine:
                results = engine.search(request)
        render.warnings(results.warnings)
        if paths_only:
            render.search_paths(results)
        elif json:
            render.search_json(results, query)
        else:
            render.search_table(results, first_rank=offset + 1)
        if open_hit:
            from anyseek.cli import opener

            opener.open_first(results)
