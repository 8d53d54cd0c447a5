"""Classify and align records (engine/classify/), in the demo model's world (data/demo_scenes.py), where the
joint model really knows colours and shapes: a record is a picture and its caption, labelled by its shape.

Asserted are accuracies with a margin, memberships and sums, never a model's exact floats."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from anyseek.engine.errors import ClassifyError
from tests.conftest import TEST_SETTINGS
from tests.server_helpers import API, client_for
from tests.test_cli_e2e import anyseek

DEMO_MODEL = Path(__file__).resolve().parents[1] / "data" / "demo-model"
COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle")
SWAPPED = 4  # records of align.jsonl whose caption names another colour and shape

pytestmark = pytest.mark.skipif(not DEMO_MODEL.is_dir(), reason="the demo model is not built")


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, list[dict], list[dict], list[str]]:
    """train.jsonl, test.jsonl and align.jsonl (all records, a few captions swapped), and the swapped ids."""
    from data.demo_scenes import draw_scene

    folder = tmp_path_factory.mktemp("shapes")
    (folder / "pics").mkdir()
    rows = []
    for colour in COLOURS:
        for shape in SHAPES:
            for n in range(3):
                picture = f"pics/{len(rows)}.png"
                draw_scene(colour, shape, seed=f"{colour}-{shape}-{n}").save(folder / picture)
                rows.append(
                    {"id": f"r{len(rows)}", "picture": picture, "caption": f"a {colour} {shape}", "label": shape}
                )
    random.Random(0).shuffle(rows)
    train, test = rows[:24], rows[24:]
    write(folder / "train.jsonl", train)
    write(folder / "test.jsonl", test)
    wrong = [dict(row) for row in rows]
    for row in wrong[:SWAPPED]:
        colour = "green" if "red" in row["caption"] else "red"
        row["caption"] = f"a {colour} {'star' if row['label'] != 'star' else 'heart'}"
    write(folder / "align.jsonl", wrong)
    return folder, train, test, [row["id"] for row in wrong[:SWAPPED]]


@pytest.fixture(scope="module")
def demo(world, tmp_path_factory):
    """An index on the demo model holding the training records (labelled)."""
    from anyseek.engine import Engine

    folder, *_ = world
    home = tmp_path_factory.mktemp("demo-index")
    eng = Engine.open(home, **{**TEST_SETTINGS, "joint_model": str(DEMO_MODEL), "joint_pretrained": None})
    assert eng.index_records(folder / "train.jsonl").added == 24
    yield eng, home
    eng.close()


def accuracy(predictions, rows, prefix: str = "") -> float:
    truth = {row["id"]: prefix + row["label"] for row in rows}
    return sum(p.label == truth[p.id] for p in predictions) / len(rows)


def test_zero_shot_labels_classify_records_with_probabilities(demo, world):
    eng, _ = demo
    folder, _, test, _ = world
    result = eng.classify(folder / "test.jsonl", labels=[f"a {shape}" for shape in SHAPES])
    assert (result.method, len(result.predictions), result.errors) == ("zero-shot", len(test), ())
    assert accuracy(result.predictions, test, "a ") >= 0.75
    for p in result.predictions:
        assert sum(p.scores.values()) == pytest.approx(1.0) and 0.0 <= p.probability <= 1.0
        assert p.scores[p.label] == max(p.scores.values()) == p.probability


def test_few_shot_learns_from_the_indexed_labelled_records(demo, world):
    eng, _ = demo
    folder, _, test, _ = world
    result = eng.classify(folder / "test.jsonl", top=2)
    assert (result.method, result.examples, set(result.labels)) == ("few-shot", 24, set(SHAPES))
    assert accuracy(result.predictions, test) >= 0.75
    assert all(len(p.scores) == 2 for p in result.predictions)
    data = result.to_dict()
    assert data["version"] == 1 and set(data["predictions"][0]) == {"id", "label", "probability", "scores"}


def test_few_shot_from_an_examples_file_with_each_fusion(demo, world):
    eng, _ = demo
    folder, _, test, _ = world
    rows = [{k: v for k, v in row.items() if k != "label"} for row in test]  # what is classified needs no label
    for fusion in ("early", "late"):
        result = eng.classify(rows, examples=folder / "train.jsonl", fusion=fusion)
        assert result.fusion == fusion and accuracy(result.predictions, test) >= 0.75


def test_classify_refuses_what_it_cannot_do_in_one_line(demo, world, open_engine):
    eng, _ = demo
    folder, *_ = world
    with pytest.raises(ClassifyError, match="two labels"):
        eng.classify(folder / "test.jsonl", labels="circle")
    unlabelled = write(folder / "unlabelled.jsonl", [{"id": "x", "caption": "a red circle"}])
    with pytest.raises(ClassifyError, match="no labelled row"):
        eng.classify(folder / "test.jsonl", examples=unlabelled)
    with pytest.raises(ClassifyError, match="no labelled records"):
        open_engine().classify([{"id": "x", "caption": "a red circle"}])  # a fresh index has no examples


def test_align_flags_the_captions_that_do_not_match_their_pictures(demo, world):
    eng, _ = demo
    folder, _, _, swapped = world
    report = eng.align(folder / "align.jsonl")
    assert set(swapped) <= {r.id for r in report.flagged}
    lowest = sorted(report.records, key=lambda r: r.agreement)[: SWAPPED + 2]
    assert set(swapped) <= {r.id for r in lowest}
    assert all(0.0 <= r.agreement <= 1.0 for r in report.records)
    strict = eng.align(folder / "align.jsonl", threshold=0.0)
    assert not strict.flagged
    data = report.to_dict()
    assert data["version"] == 1 and set(data["records"][0]) == {"id", "agreement", "flagged"}


def test_align_reads_the_pairs_of_anyseek_train(demo, world, tmp_path):
    eng, _ = demo
    folder, _, _, swapped = world
    rows = [json.loads(line) for line in (folder / "align.jsonl").read_text().splitlines()]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("image,text\n" + "".join(f"{folder / r['picture']},{r['caption']}\n" for r in rows))
    report = eng.align(pairs)
    flagged_lines = {r.id for r in report.flagged}
    assert {f"line {n + 2}" for n in range(SWAPPED)} <= flagged_lines  # line 1 is the header
    assert len(report.records) == len(rows)


def test_evaluation_has_a_confusion_matrix_and_the_ablation(demo, world):
    eng, _ = demo
    folder, _, test, _ = world
    result = eng.evaluate_classification(folder / "test.jsonl", folder / "train.jsonl")
    assert sum(map(sum, result.confusion)) == len(test) and set(result.labels) == set(SHAPES)
    names = [row.name for row in result.ablation]
    for wanted in ("few-shot, early fusion", "few-shot, late fusion", "zero-shot, late fusion"):
        assert wanted in names
    assert any("picture alone" in n for n in names) and any("caption alone" in n for n in names)
    assert result.main.accuracy >= 0.75 and 0.0 <= result.main.macro_f1 <= 1.0


def test_classify_and_align_over_http(demo, world):
    eng, _ = demo
    folder, _, test, swapped = world
    with client_for(eng) as client:
        labels = [f"a {shape}" for shape in SHAPES]
        response = client.post(f"{API}/classify", json={"manifest": str(folder / "test.jsonl"), "labels": labels})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["version"] == 1 and body["method"] == "zero-shot" and len(body["predictions"]) == len(test)
        aligned = client.post(f"{API}/align", json={"manifest": str(folder / "align.jsonl")}).json()
        assert set(swapped) <= {r["id"] for r in aligned["records"] if r["flagged"]}
        both = client.post(f"{API}/classify", json={"manifest": str(folder / "test.jsonl"), "records": []})
        assert both.status_code == 422
        relative = client.post(f"{API}/align", json={"manifest": "align.jsonl"})
        assert relative.status_code == 422


@pytest.mark.slow  # three subprocesses, each loading its models (~3 min on 2 busy cores)
def test_classify_align_and_eval_from_the_command_line(demo, world):
    _, home = demo
    folder, _, test, swapped = world
    done = anyseek("classify", str(folder / "test.jsonl"), "--json", index=home)
    assert done.returncode == 0, done.stderr
    predictions = json.loads(done.stdout)["predictions"]
    assert {p["id"] for p in predictions} == {row["id"] for row in test}
    done = anyseek("align", str(folder / "align.jsonl"), "--json", index=home)
    assert done.returncode == 0, done.stderr
    assert set(swapped) <= {r["id"] for r in json.loads(done.stdout)["records"] if r["flagged"]}
    done = anyseek(
        "eval", "--classify", str(folder / "test.jsonl"), "--examples", str(folder / "train.jsonl"), index=home
    )
    assert done.returncode == 0, done.stderr
    assert "macro-F1" in done.stdout and "confusion" in done.stdout and "ablation" in done.stdout


def test_a_copy_of_the_index_classifies_as_well(demo, world, tmp_path):
    """Few-shot examples are read back from the index's stored vectors (store/labelled.py): a second
    engine on a copy of the index, which never embedded them, fits on the same 24."""
    from anyseek.engine import Engine

    eng, home = demo
    folder, _, test, _ = world
    copy = Path(shutil.copytree(home, tmp_path / "copy"))
    with Engine.open(copy, **{**TEST_SETTINGS, "joint_model": str(DEMO_MODEL), "joint_pretrained": None}) as other:
        result = other.classify(folder / "test.jsonl")
    assert result.examples == 24 and accuracy(result.predictions, test) >= 0.75


def test_train_checks_alignment_first_and_drops_the_flagged_pairs(demo, world, tmp_path):
    """`anyseek train` scores its pairs with the index's joint model first: a warning with the count and
    a few examples; --drop-misaligned leaves them out, and the model card says which."""
    from typer.testing import CliRunner

    from anyseek.cli.app import app
    from tests.test_training import TINY_ARCH

    _, home = demo
    folder, _, _, swapped = world
    rows = [json.loads(line) for line in (folder / "align.jsonl").read_text().splitlines()]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("image,text\n" + "".join(f"{folder / r['picture']},{r['caption']}\n" for r in rows))
    arch = tmp_path / "tiny.json"
    arch.write_text(json.dumps(TINY_ARCH))
    out = tmp_path / "model"
    args = ["--index", str(home), "train", str(pairs), "--out", str(out), "--config", str(arch), "--epochs", "1"]
    args += ["--batch-size", "8", "--device", "cpu", "--threads", "1", "--drop-misaligned", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "look misaligned" in result.stderr and "left out" in result.stderr
    card = json.loads((out / "training.json").read_text())
    dropped = set(card["data"]["dropped_misaligned"])
    assert {f"line {n + 2}" for n in range(SWAPPED)} <= dropped
    assert card["data"]["train_pairs"] + card["data"]["val_pairs"] == len(rows) - len(dropped)
    assert "--drop-misaligned" in card["training"]["command"]
