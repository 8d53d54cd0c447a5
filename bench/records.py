"""Records whose parts carry different information, in the demo model's world (data/demo_scenes.py).

Each record is a picture of a *white* shape plus a note naming a colour, labelled "a red circle": the
picture alone knows the shape, the note alone the colour, and only the two together know the record.
Search half (this module, for issue 22's "choose the default by measurement"): every "a {colour} {shape}"
query over the records, ranked by early fusion, by late fusion with each join, and by each part alone (the
other part weighted 0). Reported: MRR@10 and recall@10 (3 relevant records per query). A second set of
queries names one property only ("a circle", "something red"): finding a record by one part, as a user
searching tickets by their screenshot or their description does, must not suffer from the join.

A second world holds records rich in text: a man page's body (bench/manpages.py) with a picture that says
nothing about it (a random demo scene), the page's NAME-line description as the query, its record the one
right answer. Early fusion has to search such records in the joint space (the only one that sees their
pictures), whose text tower is the demo model's; late fusion scores the text part in MiniLM's space.

The classify and align half is bench/records_classify.py.

    .venv/bin/python -m bench.run --only records [--quick]
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.common import DEMO_MODEL, DEVICE, Result, cache_dir, log
from bench.records_classify import align_figures, classify_demo, classify_manpages
from bench.records_world import PER_COMBINATION, world

CONFIGS = {
    "early fusion": {"fusion": "early"},
    "late, sum": {"fusion": "late", "join": "sum"},
    "late, max": {"fusion": "late", "join": "max"},
    "late, mean": {"fusion": "late", "join": "mean"},
    "picture alone": {"fusion": "late", "weights": {"note": 0}},
    "note alone": {"fusion": "late", "weights": {"picture": 0}},
}


def metrics(rankings: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    rr, recall = [], []
    for ranked, wanted in zip(rankings, relevant, strict=True):
        first = next((i for i, rid in enumerate(ranked[:10]) if rid in wanted), None)
        rr.append(0.0 if first is None else 1.0 / (first + 1))
        recall.append(len(wanted & set(ranked[:10])) / min(len(wanted), 10))
    return {"mrr10": sum(rr) / len(rr), "recall10": sum(recall) / len(recall), "queries": len(rr)}


def rankings(eng, queries: list[str], **options) -> list[list[str]]:
    return [[hit.record_id for hit in eng.search(q, k=10, modalities="record", **options)] for q in queries]


def search_figures(result: Result, eng, records: list[dict]) -> None:
    from data.demo_scenes import SHAPES

    labels = sorted({r["label"] for r in records})
    whole = [{r["id"] for r in records if r["label"] == label} for label in labels]
    colours = sorted({label.split()[1] for label in labels})
    single = [f"a {shape}" for shape in SHAPES] + [f"something {colour}" for colour in colours]
    single_relevant = [{r["id"] for r in records if r["label"].endswith(f" {s}")} for s in SHAPES]
    single_relevant += [{r["id"] for r in records if r["label"].split()[1] == c} for c in colours]
    table = {}
    for name, options in CONFIGS.items():
        table[name] = {
            "both parts needed": metrics(rankings(eng, labels, **options), whole),
            "one part named": metrics(rankings(eng, single, **options), single_relevant),
        }
        both, one = table[name]["both parts needed"], table[name]["one part named"]
        log(f"records: {name}: both {both['mrr10']:.3f} / one {one['mrr10']:.3f}")
        result.row(
            f"search, {name}: MRR@10 / recall@10, both parts needed",
            f"{both['mrr10']:.3f} / {both['recall10']:.3f}",
        )
        result.row(f"search, {name}: MRR@10, one part named", f"{one['mrr10']:.3f}")
    result.figures["search"] = table


def text_rich_world(folder: Path, quick: bool) -> tuple[Path, list[str], list[str]]:
    """(manifest, queries, the id of each query's record)."""
    from bench.known_items import corpus
    from data.demo_scenes import COLOURS, SHAPES, draw_scene

    docs, asked = corpus(quick)
    docs = docs[: 300 if quick else 600]
    asked = [i for i in asked if i < len(docs)]
    manifest = folder / "pages.jsonl"
    if not manifest.exists():
        (folder / "pictures").mkdir(parents=True, exist_ok=True)
        rows, colours = [], list(COLOURS)
        for n, page in enumerate(docs):
            picture = f"pictures/p{n:04d}.png"
            colour, shape = colours[n % len(colours)], SHAPES[(n // len(colours)) % len(SHAPES)]
            draw_scene(colour, shape, seed=f"page-{n}").save(folder / picture)
            rows.append({"id": f"p{n:04d}", "text": page.body, "picture": picture})
        manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return manifest, [docs[i].description for i in asked], [f"p{i:04d}" for i in asked]


def text_rich_figures(result: Result, quick: bool) -> None:
    from anyseek.engine import Engine

    folder = cache_dir("records", f"pages-{300 if quick else 600}")
    manifest, queries, answers = text_rich_world(folder, quick)
    home = folder / "index"
    shutil.rmtree(home, ignore_errors=True)
    table = {}
    with Engine.open(home, device=DEVICE, joint_model=str(DEMO_MODEL)) as eng:
        report = eng.index_records(manifest)
        log(f"records: {report.added} text-rich records indexed in {report.seconds:.0f} s")
        # this world's fields are text and picture: each alone leaves the other out
        alone = {"text alone": {"picture": 0}, "picture alone": {"text": 0}}
        configs = {name: options for name, options in CONFIGS.items() if "alone" not in name}
        configs |= {name: {"fusion": "late", "weights": weights} for name, weights in alone.items()}
        for name, options in configs.items():
            table[name] = metrics(rankings(eng, queries, **options), [{a} for a in answers])
            log(f"records: text-rich, {name}: {table[name]['mrr10']:.3f}")
            result.row(f"text-rich records, {name}: MRR@10", f"{table[name]['mrr10']:.3f}")
    result.figures["text_rich"] = table


def run(quick: bool = False) -> Result:
    from anyseek.engine import Engine

    result = Result("records")
    folder = cache_dir("records", f"world-v2-{1 if quick else PER_COMBINATION}")
    manifest = world(folder, 1 if quick else PER_COMBINATION)
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    home = folder / "index"
    shutil.rmtree(home, ignore_errors=True)
    with Engine.open(home, device=DEVICE, joint_model=str(DEMO_MODEL)) as eng:
        report = eng.index_records(manifest)
        log(f"records: {report.added} records indexed in {report.seconds:.0f} s")
        result.figures["records"] = report.added
        search_figures(result, eng, records)
        align_figures(result, eng)
        classify_manpages(result, eng, quick)
    if not quick:
        classify_demo(result)
    text_rich_figures(result, quick)
    result.notes.append(
        "Records: a white shape's picture + a note naming a colour; queries 'a {colour} {shape}' need both "
        "parts, 'a {shape}' / 'something {colour}' one of them. Demo model joint space, MiniLM text space, "
        "hybrid mode."
    )
    return result
