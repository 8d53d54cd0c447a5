"""The classify and align half of bench/records.py (issue 22): how much fusing a record's parts beats one
part alone, side by side in one run, on the user's kind of data.

- Classify, demo world (bench/records.py's records: a white shape's picture + a note naming a colour,
  labelled "a red circle"): only both parts together know the label. Two records per label are examples,
  the third is classified. `Engine.evaluate_classification` gives accuracy and macro-F1 for early and
  late fusion, each part alone, zero-shot (the label names as labels) and few-shot.
- Classify, man pages (bench/manpage_sections.py): a page's NAME-line description and its body as two
  text parts, labelled by manual section; 20 examples per section.
- Align: 300 demo scenes with their captions (data/demo_scenes.py, one or two objects), 10% of the
  captions swapped for another record's; the agreement's ROC AUC and the flag's precision and recall at
  several thresholds (the default, 0.1, was chosen here).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bench.common import Result, cache_dir, log

THRESHOLDS = (0.05, 0.1, 0.2, 0.5)
EXAMPLES_PER_LABEL = 2
ALIGN_RECORDS, SWAPPED_SHARE = 300, 0.1


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def ablation_rows(result: Result, world: str, evaluation) -> dict:
    table = {}
    for row in evaluation.ablation:
        table[row.name] = {"accuracy": row.accuracy, "macro_f1": row.macro_f1}
        result.row(f"classify, {world}, {row.name}: accuracy / macro-F1", f"{row.accuracy:.3f} / {row.macro_f1:.3f}")
        log(f"records: classify {world}, {row.name}: {row.accuracy:.3f}")
    return table


def classify_demo(result: Result, eng, folder: Path, records: list[dict]) -> None:
    """`folder` holds bench/records.py's world; two records per label are examples, the third is classified.
    (With one example per label, a note's wording, shared by another label's example of the same colour,
    outweighs everything: few-shot scored 0.000 at 02:57.)"""
    seen: dict[str, int] = {}
    examples, test = [], []
    for row in records:
        seen[row["label"]] = seen.get(row["label"], 0) + 1
        (examples if seen[row["label"]] <= EXAMPLES_PER_LABEL else test).append(row)
    evaluation = eng.evaluate_classification(
        write(folder / "classify-test.jsonl", test), write(folder / "classify-examples.jsonl", examples)
    )
    result.figures["classify_demo"] = ablation_rows(result, "demo world", evaluation)


def classify_manpages(result: Result, eng, quick: bool) -> None:
    from bench.manpage_sections import dataset

    examples, test = dataset(20, 20 if quick else 60)
    folder = cache_dir("classify")
    evaluation = eng.evaluate_classification(
        write(folder / "sections-test.jsonl", test), write(folder / "sections-examples.jsonl", examples)
    )
    result.figures["classify_manpages"] = ablation_rows(result, "man pages", evaluation)


def align_world(folder: Path) -> tuple[Path, set[str]]:
    from data.demo_scenes import COLOURS, SHAPES, Thing, caption, render

    (folder / "pictures").mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    rows = []
    for n in range(ALIGN_RECORDS):
        things = [Thing(rng.choice(list(COLOURS)), rng.choice(SHAPES)) for _ in range(rng.choice((1, 1, 2)))]
        picture = folder / "pictures" / f"a{n:04d}.png"
        if not picture.exists():
            render(things, random.Random(n)).save(picture)
        rows.append({"id": f"a{n:04d}", "picture": str(picture), "caption": caption(things, rng)})
    swapped = set(rng.sample(range(ALIGN_RECORDS), int(ALIGN_RECORDS * SWAPPED_SHARE)))
    kept = [n for n in range(ALIGN_RECORDS) if n not in swapped]
    captions = [row["caption"] for row in rows]
    for n in swapped:
        rows[n]["caption"] = captions[rng.choice(kept)]
    return write(folder / "align.jsonl", rows), {rows[n]["id"] for n in swapped}


def align_figures(result: Result, eng) -> None:
    manifest, swapped = align_world(cache_dir("records", "align"))
    report = eng.align(manifest)
    agreement = {r.id: r.agreement for r in report.records if r.agreement is not None}
    bad = [agreement[i] for i in swapped]
    good = [a for i, a in agreement.items() if i not in swapped]
    auc = sum(b < g for b in bad for g in good) / (len(bad) * len(good))  # P(a swapped one scores lower)
    table = {"auc": auc, "thresholds": {}}
    result.row("align: ROC AUC of the agreement (swapped vs right captions)", f"{auc:.3f}")
    for threshold in THRESHOLDS:
        flagged = {i for i, a in agreement.items() if a < threshold}
        hit = len(flagged & swapped)
        precision, recall = hit / max(1, len(flagged)), hit / len(swapped)
        table["thresholds"][threshold] = {"flagged": len(flagged), "precision": precision, "recall": recall}
        result.row(
            f"align: threshold {threshold:g}: flagged / precision / recall",
            f"{len(flagged)} / {precision:.2f} / {recall:.2f}",
        )
    log(f"records: align AUC {auc:.3f}")
    result.figures["align"] = table
