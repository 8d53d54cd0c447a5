"""`anyseek import-embeddings` and `export-embeddings`: clip-retrieval embedding folders in and out.
Parses, calls Engine.import_embeddings / export_embeddings, prints their report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from anyseek.cli import render
from anyseek.cli.options import Device, IndexDir, Json


def register(app: typer.Typer, friendly, open_engine) -> None:
    """Add both commands; `friendly` and `open_engine` are the app's error wrapper and opener."""

    @app.command("import-embeddings")
    @friendly
    def import_embeddings(
        folder: Annotated[Path, typer.Argument(help="A clip-retrieval output folder: img_emb/, text_emb/, metadata/.")],
        joint_model: Annotated[
            str | None,
            typer.Option(help="For a new index: the open_clip model that made the vectors (it embeds your queries)."),
        ] = None,
        joint_pretrained: Annotated[
            str | None, typer.Option(help="For a new index: that model's pretrained tag.")
        ] = None,
        device: Device = None,
        batch_rows: Annotated[int, typer.Option(min=1, help="Rows read and committed at a time.")] = 4096,
        json: Json = False,
        index_dir: IndexDir = None,
    ) -> None:
        """Import precomputed CLIP embeddings: each metadata row becomes an item at its image_path, with its
        caption as text. The vectors must come from the index's joint model. Re-running imports only the
        rows that changed and drops the rows gone from the folder; safe to interrupt and re-run."""
        with open_engine(joint_model=joint_model, joint_pretrained=joint_pretrained, device=device) as engine:
            report = engine.import_embeddings(folder, batch_rows=batch_rows)
        if json:
            render.print_json(report.to_dict())
            return
        render.out.print(
            f"imported {report.rows} rows of {report.dim} dimensions from {escape(report.folder)}: "
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed" + (f", {report.duplicates} repeated paths" if report.duplicates else "")
        )

    @app.command("export-embeddings")
    @friendly
    def export_embeddings(
        folder: Annotated[
            Path, typer.Argument(help="A new or empty folder to write img_emb/, text_emb/, metadata/ in.")
        ],
        shard_rows: Annotated[int, typer.Option(min=1, help="Rows per shard file.")] = 100_000,
        json: Json = False,
        index_dir: IndexDir = None,
    ) -> None:
        """Write the index's pictures as a clip-retrieval embedding folder (float16 joint vectors, paths and
        captions), which import-embeddings and clip-retrieval's tools read."""
        with open_engine(create=False) as engine:
            report = engine.export_embeddings(folder, shard_rows=shard_rows)
        if json:
            render.print_json(report.to_dict())
            return
        left = f"; {report.left_out} items that are not pictures left out" if report.left_out else ""
        render.out.print(
            f"exported {report.rows} pictures ({report.dim} dimensions) in {report.shards} shards "
            f"to {escape(report.folder)}{left}"
        )
