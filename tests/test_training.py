"""`anyseek train`: pairs, the multi-positive loss, freezing, resume, export, and that training learns.

Runs use a tiny open_clip architecture on a few hundred 32 px synthetic scenes, so the file takes well under
a minute on 2 CPU cores.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from anyseek.engine.errors import TrainingError
from anyseek.engine.training import (
    EpochResult,
    Pair,
    TrainConfig,
    contrastive_loss,
    load_exported,
    load_pairs,
    positive_mask,
    split_pairs,
    train_contrastive,
)
from anyseek.engine.training.export import WEIGHTS_FILE
from data.demo_scenes import HELDOUT, Thing, render

TINY_ARCH = {
    "model_cfg": {
        "embed_dim": 64,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    },
    "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
}
COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle")
DEMO_MODEL = Path(__file__).resolve().parents[1] / "data" / "demo-model"


def write_scenes(folder: Path, count: int, seed: int = 0) -> Path:
    """`count` single-object scenes with one caption per colour x shape: every caption repeats ~30 times."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        rng = random.Random(f"{seed}:{i}")
        thing = Thing(rng.choice(COLOURS), rng.choice(SHAPES))
        render([thing], rng, 32).save(folder / "img" / f"{i:04d}.png")
        rows.append({"image": f"img/{i:04d}.png", "text": f"a {thing.name}"})
    with (folder / "pairs.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "text"])
        writer.writeheader()
        writer.writerows(rows)
    return folder / "pairs.csv"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> Path:
    return write_scenes(tmp_path_factory.mktemp("scenes"), 360)


@pytest.fixture(scope="module")
def arch(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("arch") / "tiny.json"
    path.write_text(json.dumps(TINY_ARCH))
    return path


def config(pairs: Path, out: Path, **overrides) -> TrainConfig:
    # One thread: a tiny model gains nothing from two, and loses a lot when other tests share the cores.
    settings = {"batch_size": 32, "val_fraction": 0.2, "threads": 1, "device": "cpu", "patience": None, **overrides}
    return TrainConfig(pairs=pairs, out=out, **settings)


@pytest.fixture(scope="module")
def trained(scenes, arch, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    return train_contrastive(config(scenes, out, config=arch, epochs=10, lr=1e-3))


# Pairs -------------------------------------------------------------------------------------------------------


def test_csv_pairs_resolve_image_paths_against_the_csv_folder(scenes):
    pairs = load_pairs(scenes)
    assert len(pairs) == 360
    assert pairs[0].image == scenes.parent / "img" / "0000.png"
    assert pairs[0].text.startswith("a ") and pairs[0].group is None and pairs[0].key == pairs[0].text


def test_jsonl_pairs_keep_their_group(tmp_path, scenes):
    image = scenes.parent / "img" / "0001.png"
    source = tmp_path / "pairs.jsonl"
    rows = [{"image": str(image), "text": "a red thing", "group": "red"}, {"image": str(image), "text": "red"}]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    pairs = load_pairs(source)
    assert [p.key for p in pairs] == ["red", "red"]


def test_folder_pairs_give_one_pair_per_caption_line(tmp_path, scenes):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes((scenes.parent / "img" / "0000.png").read_bytes())
    (tmp_path / "a.txt").write_text("a red circle\n\na round red thing\n")
    (tmp_path / "b.txt").write_text("a blue square")
    pairs = load_pairs(tmp_path)
    assert [(p.image.name, p.text) for p in pairs] == [
        ("a.png", "a red circle"),
        ("a.png", "a round red thing"),
        ("b.png", "a blue square"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.csv", "image,text\nimg/0000.png,a red circle\nimg/missing.png,a cat\n", "line 3: image not found"),
        ("p.csv", "image,text\nimg/0000.png,   \n", "line 2: missing or empty text"),
        ("p.csv", "path,caption\nimg/0000.png,a cat\n", "expected a header row"),
        ("p.jsonl", '{"image": "img/0000.png", "text": "ok"}\n{"image": \n', "line 2: not valid JSON"),
        ("p.jsonl", '["img/0000.png", "a cat"]\n', "line 1: expected an object"),
        ("p.tsv", "image\ttext\n", "unknown pairs format"),
    ],
)
def test_bad_pairs_files_raise_one_line_errors(scenes, name, content, message):
    source = scenes.parent / name
    source.write_text(content)
    with pytest.raises(TrainingError, match=message) as caught:
        load_pairs(source)
    assert "\n" not in str(caught.value)


def test_folder_image_without_caption_file_is_an_error(tmp_path, scenes):
    (tmp_path / "a.png").write_bytes((scenes.parent / "img" / "0000.png").read_bytes())
    with pytest.raises(TrainingError, match="no caption file a.txt"):
        load_pairs(tmp_path)


def test_validation_split_keeps_each_image_on_one_side(tmp_path, scenes):
    pairs = load_pairs(scenes)
    doubled = pairs + [type(p)(p.image, p.text + " again") for p in pairs]
    train, val = split_pairs(doubled, 0.2, seed=3)
    assert {p.image for p in train}.isdisjoint({p.image for p in val})
    assert len(val) == 2 * 72
    assert split_pairs(doubled, 0.2, seed=3) == (train, val)


# Loss --------------------------------------------------------------------------------------------------------


def test_identity_targets_reduce_to_clip_loss():
    torch.manual_seed(0)
    image, text = F.normalize(torch.randn(6, 8), dim=-1), F.normalize(torch.randn(6, 8), dim=-1)
    scale = torch.tensor(10.0)
    logits = scale * image @ text.T
    clip = (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6))) / 2
    loss = contrastive_loss(image, text, scale, positive_mask(range(6), range(6)))
    assert loss.item() == pytest.approx(clip.item(), rel=1e-6)


def test_paraphrases_of_one_group_are_positives_not_negatives():
    """Images A and B both show a red circle; A is captioned "a red circle", B "one red circle" (one group).
    Plain CLIP targets prefer a model that tells the phrasings apart and ties each to its own image; the
    multi-positive loss prefers the one that puts both images and both phrasings together."""
    e0, e1 = torch.eye(4)[0], torch.eye(4)[1]
    others = torch.eye(4)[2:]  # two unrelated pairs, perfectly aligned
    merged = torch.stack([e0, e0, *others])
    split = torch.stack([e0, e1, *others])
    scale = torch.tensor(20.0)
    groups = positive_mask(groups=[0, 0, 1, 2], images=range(4))
    plain = positive_mask(groups=range(4), images=range(4))

    def loss(features: torch.Tensor, mask: torch.Tensor) -> float:
        return contrastive_loss(features, features, scale, mask).item()

    assert loss(merged, groups) < loss(split, groups) - 0.5
    assert loss(split, plain) < loss(merged, plain) - 0.25


def test_captions_differing_only_in_case_spacing_or_full_stop_share_a_group(scenes):
    image = scenes.parent / "img" / "0000.png"
    keys = {Pair(image, text).key for text in ("A red  circle.", "a red circle", "a red circle!")}
    assert keys == {"a red circle"}
    assert Pair(image, "A red circle", group="circles").key == "circles"


def test_pairs_of_one_image_are_positives_even_with_different_captions():
    mask = positive_mask(groups=[0, 1, 2], images=[7, 7, 8])
    assert mask.tolist() == [[True, True, False], [True, True, False], [False, False, True]]


# Training ----------------------------------------------------------------------------------------------------


def test_short_training_lowers_validation_loss_and_raises_recall(trained):
    start, best = trained.initial, trained.best
    assert best.val_loss < start.val_loss * 0.8
    assert best.recall.mean_r1 >= start.recall.mean_r1 + 0.2
    assert best.recall.text_to_image_r5 > start.recall.text_to_image_r5
    assert [e.epoch for e in trained.history] == list(range(1, 11))


def test_export_loads_offline_and_embeds_like_the_trained_model(trained, scenes):
    model, preprocess, tokenizer = load_exported(trained.out_dir)
    assert (trained.out_dir / WEIGHTS_FILE).stat().st_size < 5_000_000
    card = (trained.out_dir / "MODEL_CARD.md").read_text()
    assert "validation, best epoch" in card and "from scratch" in card
    meta = json.loads((trained.out_dir / "training.json").read_text())
    assert meta["training"]["steps"] == trained.steps and meta["validation"]["best"]["epoch"] == trained.best_epoch

    from PIL import Image

    images = torch.stack([preprocess(Image.open(scenes.parent / "img" / f"{i:04d}.png")) for i in range(8)])
    tokens = tokenizer(["a red circle", "a blue triangle", "a yellow square"])
    with torch.no_grad():
        for encode in ("encode_image", "encode_text"):
            data = images if encode == "encode_image" else tokens
            exported = getattr(model, encode)(data, normalize=True)
            original = getattr(trained.model, encode)(data, normalize=True)
            assert F.cosine_similarity(exported, original).min() >= 0.999


def test_resume_after_an_interruption_matches_an_unbroken_run(scenes, arch, tmp_path):
    class Interrupted(Exception):
        pass

    def stop_after_first_epoch(event):
        if isinstance(event, EpochResult) and event.epoch == 1:
            raise Interrupted

    unbroken = train_contrastive(config(scenes, tmp_path / "a", config=arch, epochs=2))
    with pytest.raises(Interrupted):
        train_contrastive(config(scenes, tmp_path / "b", config=arch, epochs=2), stop_after_first_epoch)
    with pytest.raises(TrainingError, match="already holds a training run"):
        train_contrastive(config(scenes, tmp_path / "b", config=arch, epochs=2))
    resumed = train_contrastive(config(scenes, tmp_path / "b", config=arch, epochs=2, resume=True))

    assert [e.epoch for e in resumed.history] == [1, 2] and resumed.steps == unbroken.steps
    for (name, a), b in zip(unbroken.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / WEIGHTS_FILE))


def test_frozen_image_tower_is_unchanged_by_fine_tuning(trained, scenes, tmp_path):
    start = f"local-dir:{trained.out_dir}"
    report = train_contrastive(config(scenes, tmp_path, model=start, epochs=1, lr=1e-3, freeze=("image",)))
    before, after = _weights(trained.out_dir), _weights(report.out_dir)
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and not {n for n in changed if n.startswith("visual.")}
    assert "token_embedding.weight" in changed


def test_training_only_the_projection_changes_nothing_else(trained, scenes, tmp_path):
    start = f"local-dir:{trained.out_dir}"
    report = train_contrastive(config(scenes, tmp_path, model=start, epochs=1, lr=1e-3, train_only="projection"))
    before, after = _weights(trained.out_dir), _weights(report.out_dir)
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert {"visual.proj", "text_projection"} <= changed <= {"visual.proj", "text_projection", "logit_scale"}


def test_freezing_everything_is_refused(scenes, arch, tmp_path):
    with pytest.raises(TrainingError, match="nothing left to train"):
        train_contrastive(config(scenes, tmp_path, config=arch, freeze=("image", "text")))


# CLI ---------------------------------------------------------------------------------------------------------


def _cli():
    import typer

    from anyseek.cli.train import register

    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """A bare app with only `train`, as cli/app.py registers it."""

    register(app)
    return app


def test_cli_trains_writes_a_loadable_model_and_a_card(scenes, arch, tmp_path):
    out = tmp_path / "model"
    args = ["train", str(scenes), "--out", str(out), "--config", str(arch), "--epochs", "1", "--batch-size", "32"]
    result = CliRunner().invoke(_cli(), [*args, "--device", "cpu", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["epochs_run"] == 1
    assert "anyseek train" in json.loads((out / "training.json").read_text())["training"]["command"]
    load_exported(out)


def test_cli_reports_errors_in_one_line(tmp_path):
    result = CliRunner().invoke(_cli(), ["train", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: pairs not found: {tmp_path / 'none.csv'}"


# Demo dataset and model --------------------------------------------------------------------------------------


def test_demo_dataset_holds_out_its_combinations_and_is_deterministic(tmp_path):
    from data.make_demo_dataset import main

    for name in ("a", "b"):
        assert main(["--out", str(tmp_path / name), "--n", "60", "--n-heldout", "20", "--seed", "5"]) == 0
    assert (tmp_path / "a" / "pairs.csv").read_bytes() == (tmp_path / "b" / "pairs.csv").read_bytes()
    assert (tmp_path / "a/images/t000007.png").read_bytes() == (tmp_path / "b/images/t000007.png").read_bytes()
    held = {f"{c} {s}" for c, s in HELDOUT}
    seen_rows = list(csv.DictReader((tmp_path / "a" / "pairs.csv").open()))
    held_rows = list(csv.DictReader((tmp_path / "a" / "heldout_pairs.csv").open()))
    assert not any(set(r["group"].split(" and ")) & held for r in seen_rows)
    assert all(set(r["group"].split(" and ")) & held for r in held_rows)
    assert any(" and " in r["group"] for r in seen_rows)
    assert json.loads((tmp_path / "a" / "heldout.json").read_text())["heldout"] == [list(h) for h in HELDOUT]


@pytest.mark.skipif(not (DEMO_MODEL / WEIGHTS_FILE).exists(), reason="the demo model is not built")
def test_demo_model_is_small_and_finds_seen_scenes_by_text():
    from data.demo_scenes import COLOURS, SHAPES, draw_scene

    assert (DEMO_MODEL / WEIGHTS_FILE).stat().st_size <= 10 * 2**20
    model, preprocess, tokenizer = load_exported(DEMO_MODEL)
    held = set(HELDOUT)
    combos = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in held]
    images = torch.stack([preprocess(draw_scene(c, s, seed=f"test-{c}-{s}")) for c, s in combos])
    with torch.no_grad():
        image_features = model.encode_image(images, normalize=True)
        text_features = model.encode_text(tokenizer([f"a {c} {s}" for c, s in combos]), normalize=True)
    top1 = (text_features @ image_features.T).argmax(dim=1)
    accuracy = (top1 == torch.arange(len(combos))).float().mean().item()
    assert accuracy >= 0.9
