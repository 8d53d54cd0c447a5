"""A text search in a fresh process embeds the query with the text towers' ONNX exports, not torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from anyseek.engine.encoders import query_runtime

DEMO_MODEL = Path(__file__).parents[1] / "data" / "demo-model"
HEAVY = ["faster_whisper", "open_clip", "sentence_transformers", "torch", "transformers"]


@pytest.mark.parametrize("context_length", [24, 77])
def test_the_torch_free_clip_tokenizer_gives_open_clips_ids(context_length):
    from open_clip.tokenizer import SimpleTokenizer

    from anyseek.engine.encoders.clip_bpe import ClipBpeTokenizer

    texts = [
        "a red square",
        "Café naïve résumé, déjà vu",
        "  A   PHOTO of &amp;amp; a dog!!! ",
        "日本語のテキスト 😀 and emoji",
        "it's they're we've I'm you'll he'd",
        "foo_bar --flag v1.2 C++ e=mc^2 https://example.org/a?b=c",
        "word " * 100,  # truncated: the last id stays end-of-text
        "",
    ]
    ours = ClipBpeTokenizer(query_runtime._clip_merges_file(), context_length)(texts)
    theirs = SimpleTokenizer(context_length=context_length)(texts).numpy()
    assert np.array_equal(ours, theirs)


def test_exported_text_towers_embed_like_the_models(encoders):
    specs = encoders.specs
    query_runtime.record_joint(encoders.joint, query_runtime.joint_key(specs.joint_model, specs.joint_pretrained))
    texts = ["a yellow star next to a blue circle", "Wie spät ist es?", "error QX-7731 on page 4"]
    for role, model in (("joint", encoders.joint), ("text", encoders.text)):
        key = query_runtime.joint_key(specs.joint_model, specs.joint_pretrained) if role == "joint" else None
        runtime = query_runtime.load(role, key or query_runtime.text_key(specs.text_model), threads=2)
        assert runtime is not None, f"no {role} query runtime was recorded"
        assert runtime.fingerprint == model.fingerprint
        cosines = np.sum(runtime.encode_texts(texts) * model.encode_texts(texts), axis=1)
        assert cosines.min() > 0.9999


def test_a_fresh_process_answers_a_text_search_without_importing_torch(indexed, encoders):
    engine, _ = indexed
    specs = encoders.specs
    # what the first search of an earlier process did after loading the models the slow way
    query_runtime.record_joint(encoders.joint, query_runtime.joint_key(specs.joint_model, specs.joint_pretrained))
    query = {"text": "watering tomatoes in summer"}
    assert_same_hits_without_torch(engine, query)


def assert_same_hits_without_torch(engine, query: dict) -> dict:
    """`engine.search(**query, k=5)` in a fresh process imports none of HEAVY and finds what this one does."""
    here = {str(h.path): h.score for h in engine.search(**query, k=5)}
    script = textwrap.dedent(
        f"""
        import json, sys
        from anyseek import Engine
        engine = Engine.open({str(engine.home)!r}, create=False, device="cpu")
        hits = engine.search(**{query!r}, k=5)
        print(json.dumps({{"hits": {{str(h.path): h.score for h in hits}},
                          "heavy": sorted(set({HEAVY!r}) & set(sys.modules))}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    fresh = json.loads(done.stdout.strip().splitlines()[-1])
    assert fresh["heavy"] == []
    assert len(set(fresh["hits"]) & set(here)) >= 4  # the same vectors: only near-ties may swap at the edge
    for path in set(fresh["hits"]) & set(here):
        assert fresh["hits"][path] == pytest.approx(here[path], abs=1e-3)
    return fresh["hits"]


def test_changed_weights_are_another_key(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(DEMO_MODEL, model)
    before = query_runtime.joint_key(str(model), "")
    weights = model / "open_clip_model.safetensors"
    weights.write_bytes(weights.read_bytes() + b"\0")
    assert query_runtime.joint_key(str(model), "") != before
    assert query_runtime.joint_key("ViT-B-32", "random:1") != query_runtime.joint_key("ViT-B-32", "random:2")


def test_a_damaged_or_orphaned_manifest_means_loading_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ANYSEEK_CACHE", str(tmp_path))
    manifest = query_runtime.manifest_path("joint", "k")
    manifest.parent.mkdir(parents=True)
    assert query_runtime.load("joint", "k", 1) is None  # nothing exported yet
    manifest.write_text("{not json")
    assert query_runtime.load("joint", "k", 1) is None
    manifest.write_text(json.dumps({"version": query_runtime.MANIFEST_VERSION, "onnx": str(tmp_path / "gone.onnx")}))
    assert query_runtime.load("joint", "k", 1) is None


def test_a_long_lived_process_answers_text_queries_with_the_models(encoders):
    """A one-shot search uses the exported tower (no torch); Engine.warm (a server) prefers the model,
    whose text tower runs only up to the query's length."""
    from anyseek.engine.encoders import EncoderSet

    specs = encoders.specs
    query_runtime.record_joint(encoders.joint, query_runtime.joint_key(specs.joint_model, specs.joint_pretrained))
    one_shot = EncoderSet(specs, encoders.settings)
    assert isinstance(one_shot.for_text_query("joint"), query_runtime.QueryTextEncoder)
    long_lived = EncoderSet(specs, encoders.settings)
    long_lived.prefer_models()
    assert long_lived.for_text_query("joint") is long_lived.joint


def test_the_torch_free_image_steps_give_open_clips_pixels(encoders):
    from anyseek.engine.encoders import query_images

    joint = encoders.joint
    pil_steps, (mean, std) = joint.transform_parts
    steps = query_images.describe_steps(pil_steps)
    assert steps and {s["op"] for s in steps} >= {"resize", "center_crop"}
    ours = query_images.QueryImageEncoder(joint.fingerprint, joint.dim, steps, mean, std, None)
    for image in query_images.probe_images():
        assert np.array_equal(ours.preprocess(image), joint.preprocess(image)), (image.size, image.mode)


def test_the_exported_image_tower_embeds_like_the_model(encoders):
    from anyseek.engine.encoders import query_images

    specs = encoders.specs
    key = query_runtime.joint_key(specs.joint_model, specs.joint_pretrained)
    query_images.record(encoders.joint, key)
    runtime = query_images.load(key, threads=1)
    assert runtime is not None and runtime.fingerprint == encoders.joint.fingerprint
    images = query_images.probe_images()[:3]
    here = encoders.joint.encode_images(np.stack([encoders.joint.preprocess(i) for i in images]))
    exported = runtime.encode_images(np.stack([runtime.preprocess(i) for i in images]))
    assert np.sum(here * exported, axis=1).min() > 0.9999


def test_a_fresh_process_answers_an_image_search_without_importing_torch(indexed, encoders, shared_media):
    from anyseek.engine.encoders import query_images

    engine, _ = indexed
    specs = encoders.specs
    query_images.record(encoders.joint, query_runtime.joint_key(specs.joint_model, specs.joint_pretrained))
    photo = shared_media / "photos" / "forest.png"
    hits = assert_same_hits_without_torch(engine, {"image": str(photo)})
    assert next(iter(hits)).endswith("forest.png")  # the photo itself, cosine ~1


def test_a_transform_with_a_step_of_its_own_keeps_image_queries_on_the_model():
    from anyseek.engine.encoders import query_images

    class Posterize:
        def __call__(self, image):
            return image

    assert query_images.describe_steps([Posterize()]) is None
