"""Throughput of duplicate finding (bench/duplicates.py --scale N).

End to end at N photos: N distinct pictures cut from the wallpapers (a random region of 30-70% of a side,
flipped or not, 640 px wide, JPEG), indexed with the demo model, then `Engine.duplicates` timed on its
first run (every picture decoded and hashed) and again from a fresh Engine (fingerprints from the cache,
only the grouping), with the model and with the hash alone. Then the grouping alone at 10x N
(synthetic hashes with planted near-copies), to show how the binary index and union-find scale past what
this machine can index in a benchmark run, and the hashing rate on the full-size wallpapers, which decode
slower than 640 px pictures.
"""

from __future__ import annotations

import multiprocessing
import random
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from bench.common import DEMO_MODEL, DEVICE, log


def make_photos(folder: Path, count: int, sources: list[Path], seed: int = 7, workers: int = 2) -> None:
    """`count` 640 px crops of the wallpapers, cut by `workers` processes (100k photos take most of an
    hour in one), each photo from its own seed so the set does not depend on the split."""
    folder.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.starmap(_cut, [(folder, range(w, count, workers), sources, seed) for w in range(workers)])


def _cut(folder: Path, numbers: range, sources: list[Path], seed: int) -> None:
    pictures = []
    for path in sources:
        image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        image.thumbnail((2000, 2000))
        pictures.append(image)
    for n in numbers:
        rng = random.Random(seed * 1_000_003 + n)
        image = pictures[n % len(pictures)]
        w, h = image.size
        side = rng.uniform(0.3, 0.7)
        cw, ch = round(w * side), round(h * side)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        cut = image.crop((x, y, x + cw, y + ch)).resize((640, round(640 * ch / cw)))
        if rng.random() < 0.5:
            cut = ImageOps.mirror(cut)
        cut.save(folder / f"{n:06d}.jpg", quality=85)


def hashing_rate(sources: list[Path]) -> float:
    """Pictures a second, decoded and hashed as `duplicates` does, on the full-size wallpapers."""
    from anyseek.engine.duplicates.fingerprints import picture_fingerprint
    from anyseek.media.stills import picture_still

    started = time.perf_counter()
    for path in sources:
        still = picture_still(bytes(path), 200_000_000)
        picture_fingerprint(still.image, still.width, still.height)
    return len(sources) / (time.perf_counter() - started)


def grouping_at(count: int, seed: int = 3) -> dict:
    """The hash grouping alone (range search over a binary index, then union-find) at `count` pictures,
    10% of them near-copies of another (a few bits flipped)."""
    from anyseek.engine.duplicates.fingerprints import PictureFingerprint
    from anyseek.engine.duplicates.grouping import UnionFind
    from anyseek.engine.duplicates.pictures import PictureRules, link_duplicates

    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**63, count, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    copies = rng.choice(count, count // 10, replace=False)
    for i in copies:
        flips = rng.choice(64, 4, replace=False)
        hashes[i] = hashes[(i + 1) % count] ^ np.uint64(sum(1 << int(b) for b in flips))
    colour = bytes(48)
    prints = {i + 1: PictureFingerprint(int(h), colour, 640, 480, 0) for i, h in enumerate(hashes)}
    started = time.perf_counter()
    links = UnionFind()
    link_duplicates(links, prints, None, PictureRules())
    return {"pictures": count, "seconds": round(time.perf_counter() - started, 2), "groups": len(links.sets())}


def throughput(workdir: Path, count: int, sources: list[Path], ocr: str = "auto") -> dict:
    """`ocr`: the index's OCR setting. `duplicates` never reads text in pictures, so it changes only the
    indexing time (the detector's glance at every photo): a photo library may well turn it off."""
    from anyseek.engine import Engine
    from anyseek.engine.duplicates import DuplicateRules

    folder, home = workdir / "photos", workdir / "index"
    if not folder.exists() or len(list(folder.iterdir())) != count:
        shutil.rmtree(workdir, ignore_errors=True)
        log(f"cutting {count} photos from {len(sources)} wallpapers")
        make_photos(folder, count, sources)
    figures: dict = {"photos": count, "ocr": ocr}
    shutil.rmtree(home, ignore_errors=True)  # the photos are kept between runs; the index is measured anew
    with Engine.open(home, joint_model=str(DEMO_MODEL), device=DEVICE, ocr=ocr) as eng:
        log("indexing")
        started = time.perf_counter()
        eng.index([folder])
        figures["index_s"] = round(time.perf_counter() - started, 1)
        shutil.rmtree(home / "duplicates", ignore_errors=True)
        log("duplicates, first run")
        started = time.perf_counter()
        report = eng.duplicates()
        figures["first_run_s"] = round(time.perf_counter() - started, 1)
        figures["groups"] = report.total
    for label, rules in (
        ("cached_run_s", DuplicateRules()),
        ("cached_hash_only_s", DuplicateRules(use_embeddings=False)),
    ):
        with Engine.open(home, joint_model=str(DEMO_MODEL), device=DEVICE, ocr=ocr) as eng:
            started = time.perf_counter()
            eng.duplicates(rules=rules)
            figures[label] = round(time.perf_counter() - started, 1)
    figures["collapse"] = collapse_costs(home)
    log("hashing rate on the full-size wallpapers")
    figures["full_size_pictures_per_s"] = round(hashing_rate(sources), 1)
    if count <= 10_000:  # the grouping alone at ten times the photos, where the run itself cannot go
        figures["grouping_alone"] = grouping_at(count * 10)
    return figures


COLLAPSE_QUERIES = ("a beach", "mountains at night", "a red flower", "abstract lines", "a forest", "the sea")


def collapse_costs(home: Path, rounds: int = 3) -> dict:
    """What --collapse-duplicates costs a search, side by side with the same search not collapsed
    (interleaved, medians): in a new process (each CLI search), the kept groups are read from disk once;
    in a long-lived one (the server), they are in memory. Also the reading of the kept groups alone, and
    what each query would pay if the groups were computed per query (a cached `duplicates` run)."""
    import json as _json
    import statistics

    from anyseek.engine import Engine
    from anyseek.engine.duplicates.records import DuplicateReport

    kept = home / "duplicates" / "groups.json"
    started = time.perf_counter()
    DuplicateReport.from_dict(_json.loads(kept.read_bytes())["report"])
    read_s = time.perf_counter() - started
    times: dict[str, list[float]] = {"plain": [], "collapsed_new_process": [], "collapsed_warm": []}
    with Engine.open(home, joint_model=str(DEMO_MODEL), device=DEVICE) as eng:
        eng.search("warm up the models", k=20)
        signature_s = _timed(lambda: eng.store.files_signature())
        for _ in range(rounds):
            for query in COLLAPSE_QUERIES:
                times["plain"].append(_timed(lambda q=query: eng.search(q, k=20)))
                if hasattr(eng, "_duplicate_pages"):
                    del eng._duplicate_pages  # as a new process meets it: the groups only on disk
                times["collapsed_new_process"].append(
                    _timed(lambda q=query: eng.search(q, k=20, collapse_duplicates=True))
                )
                times["collapsed_warm"].append(_timed(lambda q=query: eng.search(q, k=20, collapse_duplicates=True)))
    medians = {f"{name}_ms": round(1000 * statistics.median(values), 1) for name, values in times.items()}
    return medians | {
        "read_kept_groups_ms": round(1000 * read_s, 1),
        "files_signature_ms": round(1000 * signature_s, 1),
    }


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def kept_groups_at(count: int, workdir: Path, seed: int = 5) -> dict:
    """What a collapsed search pays at `count` photos when the groups are kept, without indexing them:
    a real store holding `count` items (one group of two in every 20 files; the 10k run found 897 groups
    among 10,000), the groups kept as `duplicates` keeps them, then a new DuplicatePages (a new
    process) reading them back and mapping each file to its group, and the files signature that says
    whether they are current. Beside them: what grouping again would cost per query, from the measured runs."""
    from sqlalchemy import insert

    from anyseek.engine.duplicates.pages import DuplicatePages
    from anyseek.engine.duplicates.records import DuplicateGroup, DuplicateItem, DuplicateReport, Tier
    from anyseek.engine.records import Modality
    from anyseek.engine.store.models import ItemRow
    from anyseek.engine.store.store import Store

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    store = Store(workdir / "anyseek.db")
    store.initialize()
    rng = random.Random(seed)
    rows = [
        {"id": i, "path": f"/photos/{i:07d}.jpg".encode(), "modality": "image", "size": rng.randint(10**5, 10**7),
         "mtime_ns": rng.randint(10**18, 2 * 10**18), "content_hash": f"{i:064x}", "status": "ok",
         "error": None, "indexed_at": 0.0, "captured_at": rng.uniform(1e9, 1.7e9)}
        for i in range(1, count + 1)
    ]  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(ItemRow), rows)
    groups = tuple(
        DuplicateGroup(Modality.IMAGE, Tier.DUPLICATE, 0.95, (
            DuplicateItem(i, rows[i - 1]["path"], rows[i - 1]["size"], True, 4000, 3000),
            DuplicateItem(i + 1, rows[i]["path"], rows[i]["size"], False, 1600, 1200),
        ))
        for i in range(1, count, 20)
    )  # fmt: skip
    revision = lambda: [store.revision(), *store.files_signature()]  # noqa: E731
    DuplicatePages(None, revision, workdir)._save(revision(), False, DuplicateReport(groups, len(groups)))
    started = time.perf_counter()
    members = DuplicatePages(None, revision, workdir).members()
    members.get(rows[0]["id"]), members.get(rows[-1]["id"])  # a page's hits: a few groups decoded
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    DuplicatePages(None, revision, workdir)._load(revision(), False)  # every group decoded (`duplicates`)
    decode_all_s = time.perf_counter() - started
    signature_s = min(_timed(store.files_signature) for _ in range(3))
    kept = workdir / "duplicates" / "groups.json"
    figures = {"photos": count, "groups": len(groups), "grouped_files": len(members), "kept_bytes": kept.stat().st_size}
    store.close()
    shutil.rmtree(workdir, ignore_errors=True)
    seconds = {"new_process_load": load_s, "decode_all": decode_all_s, "signature": signature_s}
    return figures | {f"{name}_ms": round(1000 * value, 1) for name, value in seconds.items()}
