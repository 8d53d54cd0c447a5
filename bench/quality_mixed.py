"""The second half of bench/quality.py.

Cross-modal: photos of the demo model's held-out colour x shape combinations (data/make_demo_dataset.py,
never seen in training; see data/demo-model/MODEL_CARD.md) indexed together with the man-page documents.
Each distinct caption is an unfiltered text query; the relevant photos are those of its meaning (group).
Reported: how often a relevant photo is first / in the top 5 / top 10, and the share of photos in the top
10, for the default search and for a plain ranking by joint-space cosine (the joint route alone).

Latency: hybrid against dense-only at 100,000 stored passages (real paragraphs from bench/corpus.py with
synthetic vectors, as bench/query.py does), interleaved query by query, same engine, same queries.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from bench.common import DEMO_MODEL, DEVICE, Result, cache_dir, clustered_vectors, log, percentiles

SCENES = 200
MIXED_DOCUMENTS = 200  # man pages, ~3 passages each: over 500 passages next to the photos
LATENCY_PASSAGES = 100_000
LATENCY_QUERIES = 100


def heldout_photos(count: int) -> tuple[Path, list[dict]]:
    from data.demo_scenes import HELDOUT, Thing
    from data.make_demo_dataset import write_split

    folder = cache_dir("quality", f"heldout-{count}")
    manifest = folder / "scenes.json"
    if not manifest.exists():
        (folder / "images").mkdir(exist_ok=True)
        rows = write_split(folder, "h", count, 0, {Thing(c, s) for c, s in HELDOUT}, 0.25, 1)
        manifest.write_text(json.dumps(rows))
    return folder, json.loads(manifest.read_text())


def cross_modal(result: Result, quick: bool, home_suffix: str = "") -> None:
    """`home_suffix` keeps one side's index apart from another's (bench/scores.py runs two engines)."""
    from anyseek.engine import Engine
    from bench.known_items import write_files
    from bench.manpages import pages

    docs_folder = write_files(pages()[:MIXED_DOCUMENTS])
    folder, scenes = heldout_photos(60 if quick else SCENES)
    images = folder / "images"
    home = cache_dir("quality", f"index-mixed-{docs_folder.name}-{len(scenes)}{home_suffix and '-' + home_suffix}")
    by_group: dict[str, set[str]] = {}
    for scene in scenes:
        by_group.setdefault(scene["group"], set()).add(str(folder / scene["image"]))
    captions = {scene["text"]: scene["group"] for scene in scenes}
    with Engine.open(home, device=DEVICE, joint_model=str(DEMO_MODEL)) as eng:
        report = eng.index([docs_folder, images])
        passages = eng.status().chunks.get("passage", 0)
        log(f"quality: mixed index {report.added} added; {len(captions)} caption queries")
        figures = {}
        for name, options in {"default": {}, "joint cosine alone": {"mode": "dense", "spaces": ("joint",)}}.items():
            firsts, fives, tens, photo_share = [], [], [], []
            for text, group in captions.items():
                hits = [h.path for h in eng.search(text, k=10, **options)]
                relevant = by_group[group]
                rank = next((i for i, p in enumerate(hits) if p in relevant), None)
                firsts.append(rank == 0)
                fives.append(rank is not None and rank < 5)
                tens.append(rank is not None)
                photo_share.append(sum(p.startswith(str(images)) for p in hits) / max(len(hits), 1))
            figures[name] = {
                "relevant_first": float(np.mean(firsts)),
                "relevant_in_top5": float(np.mean(fives)),
                "relevant_in_top10": float(np.mean(tens)),
                "photo_share_top10": float(np.mean(photo_share)),
            }
            f = figures[name]
            result.row(
                f"cross-modal, {name}: relevant photo 1st / top 5 / top 10",
                f"{f['relevant_first']:.3f} / {f['relevant_in_top5']:.3f} / {f['relevant_in_top10']:.3f} "
                f"(photos {f['photo_share_top10']:.0%} of top 10)",
            )
        figures["document queries"] = documents_among_photos(eng, docs_folder)
        result.row(
            "document queries on the mixed index, unfiltered: MRR@10",
            f"{figures['document queries']['mrr10']:.3f} ({figures['document queries']['queries']} queries)",
        )
    result.figures["cross_modal"] = {
        "photos": len(scenes),
        "documents": len(list(docs_folder.glob("*.txt"))),
        "passages": passages,
        "queries": len(captions),
        **figures,
    }


# --- latency ---------------------------------------------------------------------------------------
def build_store(home: Path, count: int) -> None:
    """`count` real paragraphs, one per item, with synthetic vectors in both spaces, written straight into
    a real index; the engine's repair path fills the FAISS and FTS5 indexes on open."""
    from anyseek.engine import Engine
    from bench.corpus import passages

    if (home / "ready").exists():
        return
    texts = passages(40_000)
    log(f"quality: writing {count:,} passages into {home}")
    with Engine.open(home, device=DEVICE, joint_model=str(DEMO_MODEL)) as eng:
        dims = {"joint": eng.encoders.joint.dim, "text": eng.encoders.text.dim}
    db = sqlite3.connect(home / "anyseek.db")
    now = time.time()
    with db:
        db.executemany(
            "INSERT INTO items (id, path, modality, size, mtime_ns, content_hash, status, error, indexed_at)"
            " VALUES (?, ?, 'text', 100, 1, ?, 'ok', NULL, ?)",
            ((i + 1, f"/bench/docs/{i // 1000:03d}/{i:07d}.txt".encode(), f"{i:032x}", now) for i in range(count)),
        )
        db.executemany(
            "INSERT INTO chunks (id, item_id, ordinal, kind, text, char_start, char_end, start_s, end_s)"
            " VALUES (?, ?, 0, 'passage', ?, 0, 40, NULL, NULL)",
            ((i + 1, i + 1, texts[i % len(texts)]) for i in range(count)),
        )
        for seed, (space, dim) in enumerate(dims.items()):
            data = clustered_vectors(count, dim, seed=seed)
            db.executemany(
                "INSERT INTO vectors (space, chunk_id, data) VALUES (?, ?, ?)",
                ((space, i + 1, data[i].astype(np.float16).tobytes()) for i in range(count)),
            )
        db.execute("DELETE FROM meta WHERE key = 'revision'")
        db.execute("INSERT INTO meta (key, value) VALUES ('revision', '1')")
    db.close()
    with Engine.open(home, device=DEVICE) as eng:  # repairs FTS5 (on open) and builds FAISS from the store
        eng.catalog.load_all()
        eng.catalog.save()
    (home / "ready").write_text("ok")


def documents_among_photos(eng, docs_folder: Path) -> dict:
    """The other side of the mix: the man pages' own known-item queries (bench/quality.py), unfiltered,
    must still find their page first with the photos in the index."""
    from bench.known_items import corpus, metrics_of

    everything, asked = corpus(quick=False)
    asked = [i for i in asked if i < MIXED_DOCUMENTS]
    position = {str(docs_folder / f"{p.name}.txt"): i for i, p in enumerate(everything[:MIXED_DOCUMENTS])}
    rankings = [[position.get(h.path, -1) for h in eng.search(everything[i].description, k=10)] for i in asked]
    return {"queries": len(asked), **metrics_of(rankings, asked)}


def latency(result: Result, quick: bool, queries: list[str]) -> None:
    """Both ways a query can be encoded: by the text towers' ONNX exports (a fresh or library process,
    one thread) and by the models themselves (Engine.warm, as the server does). Each runs in a process of
    its own, started the way its real user starts: the server's asks OpenMP for sleeping threads before
    FAISS loads (server.run.prefer_sleeping_threads), so the same must hold here."""
    count = 10_000 if quick else LATENCY_PASSAGES
    home = cache_dir("quality", f"latency-{count}")
    build_store(home, count)
    figures = {}
    for encoding in ("exported towers", "models (warm)"):
        p = _in_child(_time_modes, home, encoding, queries[:LATENCY_QUERIES], server=encoding.startswith("models"))
        ratio = p["hybrid"]["p50_ms"] / p["dense"]["p50_ms"]
        figures[encoding] = {**p, "ratio_p50": ratio}
        result.row(
            f"latency at {count:,} passages, query by the {encoding}, p50 hybrid / dense",
            f"{p['hybrid']['p50_ms']:.1f} / {p['dense']['p50_ms']:.1f} ms = {ratio:.2f}x",
            "<= 1.2x",
            ratio <= 1.2,
        )
    result.figures["latency"] = {"passages": count, **figures}


def _in_child(call, *args, server: bool):
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    saved = dict(os.environ)
    if server:
        from anyseek.server.run import prefer_sleeping_threads

        prefer_sleeping_threads()
    try:  # a spawned child starts from this environment and loads FAISS afresh
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(call, *args).result()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _time_modes(home: Path, encoding: str, queries: list[str]) -> dict:
    from anyseek.engine import Engine

    times: dict[str, list[float]] = {"dense": [], "hybrid": []}
    with Engine.open(home, device=DEVICE, create=False) as eng:
        if encoding.startswith("models"):
            eng.warm()
        for q in queries[:10]:
            eng.search(q, k=10, mode="hybrid")
        for q in queries:
            for mode in ("dense", "hybrid"):
                start = time.perf_counter()
                eng.search(q, k=10, mode=mode)
                times[mode].append(time.perf_counter() - start)
    return {mode: percentiles(samples) for mode, samples in times.items()}


def run(result: Result, quick: bool) -> None:
    from bench.manpages import pages

    cross_modal(result, quick)
    latency(result, quick, [p.description for p in pages()[::7]])
    shutil.rmtree(cache_dir("quality", "work"), ignore_errors=True)
