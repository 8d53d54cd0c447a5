"""`anyseek serve`: the HTTP API and web page on one index (see server/API.md)."""

from __future__ import annotations

import os
from typing import Annotated

import typer


def register(app: typer.Typer, open_engine, friendly) -> None:
    @app.command()
    @friendly
    def serve(
        host: Annotated[
            str,
            typer.Option(help="Address to listen on. Every /api request but /health needs the token, on loopback too."),
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 8765,
        max_upload_mb: Annotated[int, typer.Option(min=1, max=4096, help="Largest query upload, in MiB.")] = 64,
        device: Annotated[str | None, typer.Option(help="auto, cpu or cuda[:N]")] = None,
        anonymous_read: Annotated[
            bool,
            typer.Option(
                "--anonymous-read",
                help="On loopback, let searches and file downloads through without the token (any local user "
                "and program can then read the index); index jobs still need it.",
            ),
        ] = False,
    ) -> None:
        """Serve the index over HTTP until Ctrl-C: search, items, thumbnails, media, status, index jobs.
        Prints the page's address with the token; `anyseek search` and `status` use the server automatically."""
        from anyseek.cli import render
        from anyseek.server.run import prefer_sleeping_threads
        from anyseek.server.run import serve as run_server

        prefer_sleeping_threads()  # before open_engine loads FAISS

        def started(info) -> None:
            render.out.print(f"anyseek serving {engine.home} at {info.url} (pid {os.getpid()})", soft_wrap=True)
            render.out.print(f"open: {info.page_url}", soft_wrap=True)
            if not info.loopback:
                render.err.print("[yellow]listening beyond loopback: every request needs the token[/yellow]")
            if info.anonymous_read:
                render.warnings(
                    [
                        f"--anonymous-read: every user and program on this machine can search this index and "
                        f"download its files at {info.url} without the token; index jobs still need it"
                    ]
                )

        with open_engine(device=device) as engine:
            try:
                run_server(engine, host, port, max_upload_mb, on_started=started, anonymous_read=anonymous_read)
            except OSError as exc:
                from anyseek.engine.errors import AnyseekError

                raise AnyseekError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
