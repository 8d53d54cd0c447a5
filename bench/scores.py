"""What a score means, measured where a new user meets it (issue 21; issue 29's photo that finds itself):

- a small folder, as a new user's first try: 5 photos (4 demo scenes and a detailed pattern photo,
  477x720 with EXIF orientation 8), 4 READMEs from /usr/share/doc (notes of our own where one is missing),
  2 voice memos. Answered queries (each names its file) must put that file first with a score >= 0.6;
  unanswered ones must leave every hit <= 0.5; each photo used as the query must come first with a
  cosine >= 0.99 and a score >= 0.9;
- the mixed index of bench/quality_mixed.py (held-out demo photos + man pages): "a <colour> <shape>"
  captions, unfiltered, must put a relevant photo first for >= 90% of them, and the man pages' own
  queries on the same index keep their MRR@10.

Each side runs in a process of its own (`python -m bench.scores --side NAME`): this tree, and the
baseline (a git ref, main by default) checked out into the bench cache and imported in place of this
tree's engine, so both are measured in one run on the same files, queries and machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.common import DEMO_MODEL, DEVICE, ROOT, Result, cache_dir, log

# file -> the demo scene it shows (combinations the demo model was trained on). Names say nothing of the
# content, as a camera's do: a photo must be found by what it shows, not by its name's words.
SCENES = {
    "photo_01.jpg": ("red", "circle"),
    "photo_02.jpg": ("blue", "square"),
    "photo_03.png": ("yellow", "triangle"),
    "photo_04.jpg": ("purple", "star"),
}
PATTERN = "photo_00.jpg"
READMES = {  # name in the folder -> the system file it copies
    "libnettle8_README.md": "/usr/share/doc/libnettle8/README",
    "file_README.Debian.md": "/usr/share/doc/file/README.Debian",
    "python3-yaml_README.md": "/usr/share/doc/python3-yaml/README.md",
    "e2fsprogs_README.md": "/usr/share/doc/e2fsprogs/README",
}
STAND_INS = {  # used when a system README is missing: same role, our own words
    "libnettle8_README.md": "Nettle is a cryptographic library that is designed to fit easily in more or less any "
    "context: crypto toolkits, applications or even kernel space.",
    "file_README.Debian.md": "How users can inject their own magics for fun: open /etc/magic with a text editor, "
    "as root, and add your own magics.",
    "python3-yaml_README.md": "PyYAML: a full-featured YAML processing framework for Python. To install, type "
    "python setup.py install.",
    "e2fsprogs_README.md": "This is the new version of the second extended file system management programs.",
}
ANSWERED = {  # query -> the file that answers it
    "a red circle": "photo_01.jpg",
    "a blue square": "photo_02.jpg",
    "a yellow triangle": "photo_03.png",
    "a purple star": "photo_04.jpg",
    "Nettle is a cryptographic library that is designed to fit easily in more or less any context": (
        "libnettle8_README.md"
    ),
    "how can users inject their own magics": "file_README.Debian.md",
    "YAML processing framework for Python": "python3-yaml_README.md",
    "second extended file system management programs": "e2fsprogs_README.md",
    "my notes about the drawings": "walkthrough.ogg",
    "a pink heart and a green square": "pink-heart.ogg",
}
UNANSWERED = (
    "a violin concerto in a cathedral",
    "a photo of flowers",
    "xylophone quantum zebra",
    "tax return deadline for freelancers",
    "recipe for a lemon cake",
)


def small_folder() -> Path:
    from bench.detailed import jpeg_bytes, picture
    from data.demo_scenes import draw_scene

    folder = cache_dir("scores", "small-folder")
    if (folder / ".ready").exists():
        return folder
    for name, (colour, shape) in SCENES.items():
        draw_scene(colour, shape, seed=name, size=384).save(folder / name, quality=92)
    (folder / PATTERN).write_bytes(jpeg_bytes(picture("fractal", 477, 720, seed=3), orientation=8))
    for name, source in READMES.items():
        path = Path(source)
        text = path.read_text(errors="replace") if path.is_file() else STAND_INS[name]
        (folder / name).write_text(text)
    for memo in ("walkthrough.ogg", "pink-heart.ogg"):
        shutil.copy(ROOT / "data" / "demo-media" / "speech" / memo, folder / memo)
    (folder / ".ready").write_text("ok")
    return folder


def small_case(eng, folder: Path) -> dict:
    answered = []
    for query, name in ANSWERED.items():
        hits = eng.search(query, k=10)
        rank = next((i for i, h in enumerate(hits) if Path(h.path).name == name), None)
        answered.append(
            {
                "query": query,
                "first": rank == 0,
                "score": hits[rank].score if rank is not None else 0.0,
                "top": f"{Path(hits[0].path).name} {hits[0].score:.2f}" if len(hits) else "",
            }
        )
    unanswered = []
    for query in UNANSWERED:
        hits = eng.search(query, k=10)
        top = max(hits, key=lambda h: h.score, default=None)
        name = Path(top.path).name if top else ""
        unanswered.append({"query": query, "max_score": top.score if top else 0.0, "top": name})
    photos = []
    for name in [PATTERN, *SCENES]:
        hits = eng.search(image=folder / name, k=5)
        own = next((h for h in hits if Path(h.path).name == name), None)
        photos.append(
            {
                "photo": name,
                "first": bool(len(hits)) and Path(hits[0].path).name == name,
                "cosine": own.similarity if own is not None else None,
                "score": own.score if own is not None else 0.0,
                "top": f"{Path(hits[0].path).name} {hits[0].score:.2f}" if len(hits) else "",
            }
        )
    return {"answered": answered, "unanswered": unanswered, "photos": photos}


def measure(side: str, quick: bool) -> dict:
    """Both cases with the engine importable here (this tree's, or the baseline's)."""
    import anyseek.engine
    from anyseek.engine import Engine
    from bench import quality_mixed

    log(f"scores: {side} side, engine from {Path(anyseek.engine.__file__).parent}")
    folder = small_folder()
    out: dict = {}
    home = cache_dir("scores", f"small-{side}")
    with Engine.open(home, device=DEVICE, joint_model=str(DEMO_MODEL)) as eng:
        eng.index([folder])
        out["small"] = small_case(eng, folder)
    result = Result(side)
    quality_mixed.cross_modal(result, quick, home_suffix=side)
    out["mixed"] = result.figures["cross_modal"]
    out["text"] = man_pages(quick)
    return out


def man_pages(quick: bool) -> dict:
    """bench/quality.py's man-page queries, the default (hybrid) search, documents only, on the index that
    benchmark builds (indexing text is the same on both sides, so both read one index)."""
    from anyseek.engine import Engine
    from bench.known_items import corpus, metrics_of, write_files

    docs, asked = corpus(quick)
    folder = write_files(docs)
    position = {str(folder / f"{page.name}.txt"): i for i, page in enumerate(docs)}
    home = cache_dir("quality", f"index-default-{folder.name}")
    with Engine.open(home, device=DEVICE, joint_model=str(DEMO_MODEL)) as eng:
        eng.index([folder])
        hits = [eng.search(docs[i].description, k=10, modalities=["text"]) for i in asked]
    rankings = [[position.get(h.path, -1) for h in found] for found in hits]
    return metrics_of(rankings, asked)


# --- both sides in one run ------------------------------------------------------------------------
def baseline_tree(ref: str) -> Path:
    """`ref` checked out into the bench cache, with an `anyseek` package of links into it (the layout the
    installed package maps: anyseek.engine is engine/, and so on)."""
    commit = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    tree = cache_dir("scores", f"baseline-{commit.strip()[:12]}")
    if not (tree / "anyseek-import" / "anyseek").exists():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit.strip()], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        package = tree / "anyseek-import" / "anyseek"
        package.mkdir(parents=True)
        for name in os.listdir(tree / "anyseek"):
            (package / name).symlink_to(tree / "anyseek" / name)
        for sub in sorted(tree.iterdir()):  # engine, indexer, media, cli, server ... as the package maps them
            if (sub / "__init__.py").exists() and sub.name not in ("anyseek", "tests", "bench", "data"):
                (package / sub.name).symlink_to(sub)
    return tree / "anyseek-import"


def side_by_side(quick: bool, ref: str) -> dict[str, dict]:
    sides = {"before": baseline_tree(ref), "after": None}
    out = {}
    for side, imports in sides.items():
        env = dict(os.environ)
        if imports is not None:  # the baseline's engine first on the path; bench/ stays this tree's
            env["PYTHONPATH"] = os.pathsep.join([str(imports), str(ROOT)])
        log(f"scores: measuring {side} ({ref if imports else 'this tree'})")
        args = [sys.executable, "-m", "bench.scores", "--side", side] + (["--quick"] if quick else [])
        # run from the baseline's import folder: `-m` puts the working folder first on the path, and this
        # tree's own anyseek/ must not shadow the baseline's
        done = subprocess.run(args, cwd=imports or ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"bench.scores --side {side} failed:\n{done.stderr[-3000:]}")
        out[side] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def run(result: Result, quick: bool = False, ref: str | None = None) -> None:
    ref = ref or os.environ.get("ANYSEEK_BENCH_BASELINE", "main")
    both = side_by_side(quick, ref)
    for side, figures in both.items():
        small = figures["small"]
        answered = small["answered"]
        firsts = sum(a["first"] for a in answered)
        strong = sum(a["first"] and a["score"] >= 0.6 for a in answered)
        worst_unanswered = max(u["max_score"] for u in small["unanswered"])
        photos = small["photos"]
        selves = sum(p["first"] and (p["cosine"] or 0) >= 0.99 and p["score"] >= 0.9 for p in photos)
        result.row(
            f"small folder, {side}: answered queries first / first with score >= 0.6",
            f"{firsts}/{len(answered)} / {strong}/{len(answered)}",
            "all",
            strong == len(answered),
        )
        result.row(
            f"small folder, {side}: highest score of an unanswered query",
            f"{worst_unanswered:.2f}",
            "<= 0.5",
            worst_unanswered <= 0.5,
        )
        result.row(
            f"small folder, {side}: photo as the query first, cosine >= 0.99, score >= 0.9",
            f"{selves}/{len(photos)} (lowest cosine {min((p['cosine'] or 0) for p in photos):.4f}, "
            f"lowest score {min(p['score'] for p in photos):.2f})",
            "all",
            selves == len(photos),
        )
        mixed = figures["mixed"]
        first = mixed["default"]["relevant_first"]
        result.row(
            f"mixed index, {side}: a relevant photo first / top 5 (unfiltered captions)",
            f"{first:.3f} / {mixed['default']['relevant_in_top5']:.3f} "
            f"(joint cosine alone {mixed['joint cosine alone']['relevant_first']:.3f})",
            ">= 0.90",
            first >= 0.9,
        )
        result.row(
            f"mixed index, {side}: document queries, MRR@10",
            f"{mixed['document queries']['mrr10']:.3f} ({mixed['document queries']['queries']} queries)",
        )
        text = figures["text"]
        result.row(
            f"man pages, {side}: default (hybrid) MRR@10 / R@1 / R@10",
            f"{text['mrr10']:.3f} / {text['recall1']:.3f} / {text['recall10']:.3f}",
        )
    result.figures["scores"] = {"baseline": ref, **both}


def main() -> None:
    """--side NAME: one side's figures as JSON (what side_by_side runs); else both sides, as a table."""
    quick = "--quick" in sys.argv
    if "--side" in sys.argv:
        figures = measure(sys.argv[sys.argv.index("--side") + 1], quick)
        print(json.dumps(figures, default=float))
        return
    result = Result("scores")
    run(result, quick)
    for row in result.rows:
        print(f"{row.metric:75s} {row.value:45s} {row.goal:8s} {'' if row.met is None else row.met}")
    print(json.dumps(result.figures["scores"], indent=1, default=float))


if __name__ == "__main__":
    main()
