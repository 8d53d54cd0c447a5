"""Text in pictures (issue 23): screenshots, a photographed sign and an image-only scan, rendered with PIL and
DejaVu (tests/fixtures/make_ocr_fixtures.py), read offline by rapidocr's own ONNX models, stored as `ocr`
chunks with their boxes, found by all three search modes. The recogniser's exact words are not asserted:
word recall and box overlap, with tolerances."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time

import pytest
from PIL import Image

from anyseek.engine.records import ChunkKind
from tests.conftest import FIXTURES, TEST_SETTINGS
from tests.crash_helpers import index_command, run_env

pytest.importorskip("rapidocr")

# No time limit on a picture's reading in the index tests: a loaded test machine can take over the default
# 20 s on the scan (the limit has its own test below).
UNLIMITED = {**TEST_SETTINGS, "ocr_timeout_s": 0}

OCR = FIXTURES / "ocr"
MANIFEST = json.loads((OCR / "manifest.json").read_text())


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def recall(expected: list[str], read: str) -> float:
    seen = set(words(read))
    wanted = [w for line in expected for w in words(line)]
    return sum(w in seen for w in wanted) / len(wanted)


def overlap(a, b) -> float:
    """Intersection over the smaller of two (x, y, w, h) boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / min(a[2] * a[3], b[2] * b[3])


@pytest.fixture(scope="module")
def model():
    from anyseek.engine.encoders.ocr import OcrModel

    return OcrModel()


@pytest.fixture()
def reader(model):
    from anyseek.indexer.extract.ocr import PictureReader

    return PictureReader(lambda: model, "test reader", 30.0)


def test_the_models_come_from_the_wheel_and_nothing_is_downloaded(monkeypatch):
    import rapidocr
    import requests
    from rapidocr.utils.download_file import DownloadFile

    from anyseek.engine.encoders.ocr import OcrModel
    from anyseek.indexer.extract.ocr import PictureReader

    def refuse(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args} {kwargs}")

    monkeypatch.setattr(DownloadFile, "run", classmethod(refuse))
    monkeypatch.setattr(requests.Session, "request", refuse)
    model = OcrModel()
    package = os.path.dirname(rapidocr.__file__)
    assert set(model.files) == {"det", "cls", "rec"}
    for path in model.files.values():
        assert str(path).startswith(package) and path.is_file() and path.suffix == ".onnx"
    text = PictureReader(lambda: model, "offline", 30.0).read(Image.open(OCR / "error-dialog.png").convert("RGB"))
    assert (
        recall([line["text"] for line in MANIFEST["error-dialog.png"]["lines"]], " ".join(x.text for x in text.lines))
        > 0.8
    )


@pytest.mark.parametrize("name", ["error-dialog.png", "terminal.png", "sign.jpg"])
def test_a_picture_s_lines_are_read_where_they_are(reader, name):
    truth = MANIFEST[name]
    text = reader.read(Image.open(OCR / name).convert("RGB"))
    assert (text.width, text.height) == tuple(truth["size"])
    assert recall([line["text"] for line in truth["lines"]], " ".join(line.text for line in text.lines)) >= 0.85
    for line in truth["lines"]:  # each drawn line is covered by a read line's box
        boxes = []
        for read in text.lines:
            (x0, y0), (x1, y1) = read.quad.min(axis=0), read.quad.max(axis=0)
            boxes.append((x0, y0, x1 - x0, y1 - y0))
        assert max(overlap(line["box"], box) for box in boxes) > 0.6, (line, boxes)
    assert all(0.6 <= line.confidence <= 1.0 for line in text.lines)


def test_a_photo_without_text_costs_one_glance(model):
    from anyseek.indexer.extract.ocr import GLANCE_SIDE, PictureReader

    calls = []

    class Counting:
        def detect(self, bgr):
            calls.append(bgr.shape)
            return model.detect(bgr)

        def recognize(self, crops):
            raise AssertionError("nothing to recognise in a photo without text")

    text = PictureReader(Counting, "counting", 30.0).read(Image.open(OCR / "no-text.jpg").convert("RGB"))
    assert text.lines == [] and text.failure is None
    assert len(calls) == 1 and max(calls[0][:2]) <= GLANCE_SIDE  # the detector ran once, on the shrunk picture


def test_a_failing_or_slow_reading_costs_the_text_not_the_picture(model):
    from anyseek.indexer.extract.ocr import PictureReader

    class Broken:
        def detect(self, bgr):
            raise RuntimeError("onnxruntime exploded")

    picture = Image.open(OCR / "error-dialog.png").convert("RGB")
    failed = PictureReader(Broken, "broken", 30.0).read(picture)
    assert failed.lines == [] and "OCR failed (RuntimeError: onnxruntime exploded)" in failed.failure
    slow = PictureReader(lambda: model, "hurried", 1e-6).read(picture)
    assert slow.lines == [] and "ocr_timeout_s" in slow.failure

    # the limit counts the reading's own computing: a reading that waits (a busy machine) keeps its text
    class Waiting:
        def detect(self, bgr):
            time.sleep(0.3)
            return model.detect(bgr)

    waited = PictureReader(Waiting, "waiting", 0.25).read(Image.open(OCR / "no-text.jpg").convert("RGB"))
    assert waited.failure is None


def test_a_line_turned_over_by_mistake_or_upside_down_is_still_read(model):
    import copy

    import cv2
    import numpy as np
    from PIL import ImageDraw, ImageFont

    sentence = "connection refused by the database server"
    line = Image.new("RGB", (520, 40), (250, 250, 250))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22)
    ImageDraw.Draw(line).text((10, 6), sentence, fill=(20, 20, 20), font=font)
    upright = np.ascontiguousarray(np.asarray(line)[..., ::-1])

    class TurnsEverything:  # the orientation model at its worst: every line taken for upside down
        cls_thresh = 0.9

        def __call__(self, crops):
            turned = [cv2.rotate(crop, cv2.ROTATE_180) for crop in crops]
            return type("Out", (), {"img_list": turned, "cls_res": [("180", 0.95)] * len(crops)})

    mistaken = copy.copy(model)
    mistaken._classifier = TurnsEverything()
    ((text, _),) = mistaken.recognize([upright])
    assert recall([sentence], text) >= 0.8, text
    ((text, _),) = model.recognize([cv2.rotate(upright, cv2.ROTATE_180)])  # really upside down
    assert recall([sentence], text) >= 0.8, text


def test_lines_become_blocks_in_reading_order_with_their_box():
    import numpy as np

    from anyseek.indexer.extract.ocr import Line, PictureText
    from anyseek.indexer.extract.ocr_layout import text_chunks

    class Words:
        max_tokens = 40

        def count_tokens(self, text):
            return len(text.split())

    def line(x, y, text, w=300, h=20):
        return Line(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32), text, 0.9)

    # two columns: the right column's lines come after the whole left column, not interleaved with it
    left = [line(10, 100 + 28 * i, f"left column line number {i} of the first article here") for i in range(5)]
    right = [line(400, 100 + 28 * i, f"right column line number {i} of the second article") for i in range(5)]
    title = line(10, 20, "A TITLE ACROSS THE PAGE", w=690, h=40)
    picture = PictureText(800, 400, [*right, title, *left])  # in no particular order
    chunks = text_chunks(picture, Words(), first_ordinal=3, page=2)
    assert all(c.kind is ChunkKind.OCR and c.page == 2 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(3, 3 + len(chunks)))
    text = "\n".join(c.text for c in chunks)
    assert text.index("TITLE") < text.index("left column line number 4") < text.index("right column line number 0")
    left_chunk = next(c for c in chunks if "left column line number 2" in c.text)
    assert "right column" not in left_chunk.text
    assert (
        left_chunk.box.x == 10
        and left_chunk.box.w == 300
        and (left_chunk.box.width, left_chunk.box.height) == (800, 400)
    )


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    root = tmp_path_factory.mktemp("pictures")
    for name in MANIFEST:
        shutil.copyfile(OCR / name, root / name)
    return root


@pytest.fixture(scope="module")
def indexed(pictures, tmp_path_factory, encoders):
    from anyseek.engine import Engine

    eng = Engine.open(tmp_path_factory.mktemp("ocr-index"), encoders=encoders, **UNLIMITED)
    report = eng.index([pictures])
    yield eng, report
    eng.close()


def test_a_screenshot_is_found_by_its_words_in_every_mode_with_its_box(indexed):
    eng, report = indexed
    assert report.failed == 0 and report.added == len(MANIFEST) and not report.warnings
    truth = MANIFEST["error-dialog.png"]
    for mode in ("hybrid", "dense", "lexical"):
        hits = eng.search("connection refused by the database server", k=5, mode=mode).hits
        top = hits[0]
        assert top.path.endswith("error-dialog.png"), (mode, [h.path for h in hits])
        assert top.route.endswith("ocr") and "database" in top.snippet.lower()
        assert len({h.path for h in hits}) == len(hits)  # one hit per item, pixels and words together
        drawn = truth["lines"][0]["box"]
        assert overlap(drawn, (top.box.x, top.box.y, top.box.w, top.box.h)) > 0.9
        assert (top.box.width, top.box.height) == tuple(truth["size"])
    as_json = eng.search('"platform closed"', k=3).hits[0].to_dict()
    assert as_json["path"].endswith("sign.jpg") and set(as_json["box"]) == {"x", "y", "w", "h", "width", "height"}


def test_http_and_the_cli_carry_the_box_and_say_text_in_image(indexed, capsys):
    from anyseek.cli import render
    from tests.server_helpers import API, client_for

    eng, _ = indexed
    with client_for(eng) as client:
        response = client.post(f"{API}/search", json={"q": "connection refused by the database server", "k": 3})
    assert response.status_code == 200, response.text
    top = response.json()["hits"][0]
    assert top["name"] == "error-dialog.png" and top["route"].endswith("ocr")
    assert top["box"]["width"] == 560 and 0 <= top["box"]["x"] < 40 and top["box"]["w"] > 300
    render.search_table(eng.search("connection refused by the database server", k=1))
    assert "text in image" in capsys.readouterr().out


def test_a_rotated_scan_is_found_on_its_page(indexed):
    eng, _ = indexed
    hits = eng.search("the landlord repairs the heating system", k=3, mode="lexical").hits
    assert hits and hits[0].path.endswith("scan.pdf") and hits[0].page == 1 and hits[0].route.endswith("ocr")
    rendered = hits[0].box  # the page drawn at the reader's resolution
    assert rendered.w > 0 and rendered.x + rendered.w <= rendered.width and rendered.y + rendered.h <= rendered.height


def test_a_photo_without_text_has_no_text_chunks(indexed):
    eng, _ = indexed
    with sqlite3.connect(eng.home / "anyseek.db") as db:
        kinds = dict(
            db.execute(
                "SELECT i.path, group_concat(c.kind) FROM items i JOIN chunks c ON c.item_id = i.id GROUP BY i.id"
            )
        )
        readers = dict(db.execute("SELECT path, ocr FROM items"))
    by_name = {os.path.basename(os.fsdecode(path)): value for path, value in kinds.items()}
    assert by_name["no-text.jpg"] == ChunkKind.IMAGE.value
    assert ChunkKind.OCR.value in by_name["error-dialog.png"].split(",")
    assert all(value and value.startswith("rapidocr") for value in readers.values())


def test_turning_ocr_on_reads_indexed_pictures_without_embedding_them_again(pictures, tmp_path, encoders):
    from anyseek.engine import Engine

    home = tmp_path / "index"
    with Engine.open(home, encoders=encoders, **{**UNLIMITED, "ocr": "off"}) as eng:
        report = eng.index([pictures])
        assert report.failed == 1 and "OCR is off" in report.errors[0].reason  # the scan has no words without it
        assert not eng.search('"connection refused"', k=3, mode="lexical").hits
    with sqlite3.connect(home / "anyseek.db") as db:
        before = dict(db.execute("SELECT chunk_id, rowid FROM vectors WHERE space = 'joint'"))
    with Engine.open(home, encoders=encoders, **{**UNLIMITED, "ocr": "auto"}) as eng:
        report = eng.index([pictures])
        assert report.reread == 4 and report.failed == 0  # the four photos read; the scan indexed anew
        assert eng.search('"connection refused"', k=3, mode="lexical").hits[0].path.endswith("error-dialog.png")
        assert eng.index([pictures]).reread == 0  # read once per reader
    with sqlite3.connect(home / "anyseek.db") as db:
        after = dict(db.execute("SELECT chunk_id, rowid FROM vectors WHERE space = 'joint'"))
    assert len(before) == 4 and all(after.get(c) == row for c, row in before.items())  # the pixels' vectors stayed


def test_a_picture_whose_ocr_fails_is_indexed_with_a_warning(pictures, tmp_path, encoders, monkeypatch):
    from anyseek.engine import Engine
    from anyseek.engine.encoders.ocr import OcrModel

    def broken(self, bgr):
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(OcrModel, "detect", broken)
    with Engine.open(tmp_path / "index", encoders=encoders, **TEST_SETTINGS) as eng:
        report = eng.index([pictures])
        assert report.added == 4 and report.failed == 1  # the scan alone has nothing else to index
        warned = {os.path.basename(w.path) for w in report.warnings}
        assert {"error-dialog.png", "terminal.png", "sign.jpg", "no-text.jpg"} <= warned
        assert all("detector crashed" in w.reason for w in report.warnings)
        assert "error-dialog.png" in {os.path.basename(h.path) for h in eng.search("a dialog", k=10).hits}


def test_an_index_of_the_previous_schema_gains_the_ocr_columns(tmp_path):
    from anyseek.engine.store.database import DB_FILE
    from anyseek.engine.store.migrations import SCHEMA_VERSION
    from anyseek.engine.store.store import Store

    home = tmp_path / "index"
    shutil.copytree(FIXTURES / "indexes" / "schema-5", home)
    with sqlite3.connect(home / DB_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 5
        before = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    store = Store(home / DB_FILE)
    store.initialize()
    items = store.items_under([b"/"])
    store.close()
    with sqlite3.connect(home / DB_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {row[1] for row in db.execute("PRAGMA table_info(chunks)")}
        assert {"box_x", "box_y", "box_w", "box_h", "picture_w", "picture_h", "confidence"} <= columns
        assert "ocr" in {row[1] for row in db.execute("PRAGMA table_info(items)")}
        assert db.execute("SELECT count(*) FROM chunks WHERE box_x IS NULL").fetchone()[0] == before
        assert db.execute("SELECT count(*) FROM items WHERE ocr IS NOT NULL").fetchone()[0] == 0
    assert items and all(item.ocr is None for item in items.values())  # not read yet: the next run reads the pictures


def test_sigkill_while_reading_a_picture_loses_nothing(pictures, tmp_path, encoders):
    from anyseek.engine import Engine
    from tests.test_crash_safety import assert_consistent

    index_dir = tmp_path / "index"
    done = subprocess.run(
        index_command(pictures, index_dir),
        env=run_env(ANYSEEK_CRASH_AT="ocr.read:3", ANYSEEK_OCR_TIMEOUT_S="0"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -9, (done.returncode, done.stderr[-2000:])
    if (index_dir / "anyseek.db").exists():
        assert_consistent(index_dir, encoders)
    with Engine.open(index_dir, encoders=encoders, **UNLIMITED) as eng:
        report = eng.index([pictures])
        assert report.failed == 0 and not report.interrupted
        assert eng.status().items == {"image": 4, "text": 1}
        assert eng.search('"connection refused"', k=3, mode="lexical").hits[0].path.endswith("error-dialog.png")
    assert_consistent(index_dir, encoders)


def test_the_benchmark_s_measures():
    from bench.ocr import edit_distance, render, word_recall

    assert edit_distance("kitten", "sitting") == 3 and edit_distance("", "abc") == 3 and edit_distance("ab", "ab") == 0
    assert word_recall("the cat sat on the mat", "the cat sat on a mat") == 5 / 6
    assert render("a few words to draw", 1).size[0] > 100
