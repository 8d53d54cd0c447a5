"""`anyseek eval`: search quality on judged queries, cross-modal pairs and the approximate index. Parses,
calls engine.evaluation, prints; the measuring lives in the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from anyseek.cli import render
from anyseek.cli.classify import problems as print_problems


def register(app: typer.Typer, friendly, open_engine) -> None:
    """Add the `eval` command; `friendly` and `open_engine` are the app's error wrapper and index opener."""

    @app.command("eval")
    @friendly
    def evaluate(
        queries: Annotated[
            Path | None,
            typer.Argument(help='JSONL: {"query": "...", "relevant": ["path", ...]} per line (paths relative to it).'),
        ] = None,
        pairs: Annotated[
            Path | None, typer.Option("--pairs", help="(image, caption) pairs: .csv, .jsonl or a folder.")
        ] = None,
        ann: Annotated[
            bool,
            typer.Option(
                "--ann", help="Recall@10 of the live vector index against exact search (a sample of its vectors)."
            ),
        ] = False,
        classify: Annotated[
            Path | None, typer.Option("--classify", help="A labelled record manifest to classify and score.")
        ] = None,
        examples: Annotated[
            Path | None,
            typer.Option("--examples", help="With --classify: labelled records to learn from (default: the index's)."),
        ] = None,
        label_field: Annotated[
            str, typer.Option("--label-field", help="With --classify: the label's field.")
        ] = "label",
        json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """MRR@10, nDCG@10 and recall@1/5/10 of each search mode and route on judged queries, and how well
        scores match actual relevance (reliability bins; "relevant": [] marks a query nothing answers);
        cross-modal recall on pairs; approximate-index recall; with --classify, accuracy, macro-F1, a confusion
        matrix and an ablation (early and late fusion, each part alone, zero-shot and few-shot)."""
        from anyseek.engine import evaluation
        from anyseek.engine.errors import QueryError

        if not (queries or pairs or ann or classify):
            raise QueryError("give a JSONL file of judged queries, --pairs, --ann, --classify, or several")
        if examples and not classify:
            raise QueryError("--examples goes with --classify TEST")
        report: dict[str, object] = {}
        with open_engine(create=False) as engine:
            if classify:
                result = engine.evaluate_classification(classify, examples, label_field=label_field)
                report["classify"] = result.to_dict()
                problems = (result.errors, result.warnings)
            if queries:
                judged, skipped = evaluation.indexed_only(engine, evaluation.load_queries(queries))
                results = evaluation.evaluate(engine, evaluation.answered(judged))
                report["queries"] = {name: m.to_dict() for name, m in results.items()}
                report["skipped"] = skipped
                report["calibration"] = evaluation.reliability(engine, judged).to_dict()
                if ann:
                    report["ann"] = evaluation.ann_recall(engine, [q.query for q in judged])
            elif ann:  # no judged queries: a sample of the index's own vectors
                report["ann"] = evaluation.ann_recall(engine)
            if pairs:
                from anyseek.engine.training.pairs import load_pairs

                report["pairs"] = evaluation.pair_recall(engine, load_pairs(pairs))
        if classify:
            print_problems(*problems)
        render.print_json(report) if json else _print(report)


def _print(report: dict) -> None:
    if "classify" in report:
        _print_classify(report["classify"])
    if "queries" in report:
        table = Table(title="judged queries", show_edge=False)
        for column in ("configuration", "MRR@10", "nDCG@10", "R@1", "R@5", "R@10", "queries"):
            table.add_column(column, justify="left" if column == "configuration" else "right")
        for name, m in report["queries"].items():
            values = (m["mrr10"], m["ndcg10"], m["recall1"], m["recall5"], m["recall10"])
            table.add_row(name, *(f"{v:.3f}" for v in values), str(m["queries"]))
        render.out.print(table)
        if report.get("skipped"):
            render.err.print(f"{report['skipped']} queries skipped: none of their relevant files is indexed")
    if calibration := report.get("calibration"):
        _print_calibration(calibration)
    for space, figures in (report.get("ann") or {}).items():
        recorded = figures.get("recorded")
        render.out.print(
            f"{space} index ({figures['kind']}, {figures['vectors']} vectors): recall@10 {figures['recall']:.3f} "
            f"on {figures['queries']} queries"
            + (f" (measured at build: {recorded:.3f})" if recorded is not None else "")
        )
    if pairs := report.get("pairs"):
        render.out.print(
            f"pairs ({pairs['captions']} captions, {pairs['images']} images): "
            + ", ".join(
                f"{way.replace('_', ' ')} R@{k} {pairs[f'{way}_recall{k}']:.3f}"
                for way in ("text_to_image", "image_to_text")
                for k in (1, 5, 10)
            )
        )


def _print_classify(result: dict) -> None:
    render.out.print(
        f"{result['name']}: accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f} "
        f"({result['test']} records, {result['examples']} examples)",
        markup=False,
    )
    labels = result["labels"]
    matrix = Table(title="confusion (rows: true label, columns: predicted)", show_edge=False)
    matrix.add_column("")
    for n, _ in enumerate(labels, 1):
        matrix.add_column(str(n), justify="right")
    for n, (label, row) in enumerate(zip(labels, result["confusion"], strict=True), 1):
        matrix.add_row(f"{n} {escape(label)}", *(str(v) for v in row))
    render.out.print(matrix)
    ablation = Table(title="ablation", show_edge=False)
    for column in ("configuration", "accuracy", "macro-F1", "log-loss", "calibration error"):
        ablation.add_column(column, justify="left" if column == "configuration" else "right")
    for row in result["ablation"]:
        ablation.add_row(
            escape(row["name"]),
            f"{row['accuracy']:.3f}",
            f"{row['macro_f1']:.3f}",
            f"{row.get('log_loss', float('nan')):.3f}",
            f"{row.get('calibration_error', float('nan')):.3f}",
        )
    render.out.print(ablation)


def _print_calibration(calibration: dict) -> None:
    table = Table(
        title=f"calibration: default search, top 10 of {calibration['queries']} queries "
        f"({calibration['unanswered']} unanswered), {calibration['hits']} hits",
        show_edge=False,
    )
    for column in ("score", "hits", "mean score", "relevant"):
        table.add_column(column, justify="right")
    for b in calibration["bins"]:
        scores = f"{b['low']:.1f}-{b['high']:.1f}"
        table.add_row(scores, str(b["hits"]), f"{b['mean_score']:.2f}", f"{b['relevant']:.2f}")
    render.out.print(table)
    error = calibration["error"]
    render.out.print(f"expected calibration error {error:.3f} (0: a score is the share of relevant hits)")
