"""Image decoding in worker processes: the same model inputs and the same per-file errors as decoding in a
thread, a hung decoder killed and replaced, and nothing left behind (processes, shared memory) however the
run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from PIL import Image

from anyseek.engine.errors import ConfigError, ExtractionError
from anyseek.engine.records import Space
from anyseek.engine.settings import load_settings
from anyseek.indexer.decode_procs import ProcessDecoder, _Child
from anyseek.indexer.extract import decode_image_here
from anyseek.indexer.pixels import PixelRecipe, recipe_from_transform
from anyseek.indexer.workers import plan_decoding
from tests.conftest import FIXTURES

pytestmark = pytest.mark.skipif(os.name != "posix", reason="decode processes need POSIX")

RECIPE = PixelRecipe(32, "bicubic", (32, 32), (0.48, 0.46, 0.41), (0.27, 0.26, 0.28))
CAP = 100_000_000


class RecipeJoint:
    """A joint model's preprocessing, as the thread path calls it, from a recipe."""

    def __init__(self, recipe: PixelRecipe) -> None:
        self.recipe = recipe

    def preprocess(self, image):
        return self.recipe.apply(image)


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: any turn or mirror shows."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2, 0] = 255
    pixels[:, width // 2 :, 2] = 255
    return Image.fromarray(pixels)


def write_jpeg(path, image: Image.Image, orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return os.fsencode(path)


@pytest.fixture()
def decoder():
    pool = ProcessDecoder(2, timeout_s=20)
    yield pool
    pool.close()


def test_the_recipe_reproduces_the_joint_models_preprocessing(encoders):
    joint = encoders.joint
    recipe = recipe_from_transform(joint.transform)
    assert recipe is not None, "open_clip's eval transform has a recipe"
    rng = np.random.default_rng(5)
    for width, height in [(640, 480), (300, 900), (224, 224), (100, 60)]:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        np.testing.assert_allclose(recipe.apply(image), joint.preprocess(image), atol=1e-5)


def test_a_transform_of_another_shape_has_no_recipe():
    assert recipe_from_transform(None) is None
    assert recipe_from_transform(object()) is None


@pytest.mark.parametrize(
    "name, fmt",
    [("rotated.jpg", "jpeg"), ("plain.png", "png"), ("rotated.heic", "heif"), ("camera.dng", "raw")],
)
def test_a_process_decodes_exactly_as_a_thread(decoder, tmp_path, name, fmt):
    if name == "rotated.jpg":
        path = write_jpeg(tmp_path / name, halves(96, 48), orientation=6)
    elif name == "plain.png":
        halves(40, 70).save(tmp_path / name)
        path = os.fsencode(tmp_path / name)
    else:
        path = os.fsencode(FIXTURES / "formats" / name)
    decoded = decode_image_here(path, fmt, CAP, 32, RecipeJoint(RECIPE))
    here, captured_here = decoded.pixels, decoded.captured_at
    there, captured_there = decoder.decode(path, fmt, CAP, 32, RECIPE)
    assert there.shape == RECIPE.shape and there.dtype == np.float32
    np.testing.assert_allclose(there, here, atol=1e-6)
    assert captured_there == captured_here


def test_exif_orientation_is_applied_in_the_process(decoder, tmp_path):
    path = write_jpeg(tmp_path / "turned.jpg", halves(96, 48), orientation=6)  # turned a quarter: red on top
    pixels, _ = decoder.decode(path, "jpeg", CAP, None, RECIPE)
    red = pixels[0] * RECIPE.std[0] + RECIPE.mean[0]
    assert red[:8].mean() > 0.8 and red[-8:].mean() < 0.2


def test_each_bad_file_fails_alone_with_the_threads_reason(decoder, tmp_path):
    good = write_jpeg(tmp_path / "good.jpg", halves(64, 64))
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.jpg").write_text("not a picture")
    halves(400, 300).save(tmp_path / "big.png")
    cases = [(b"truncated.jpg", CAP), (b"text.jpg", CAP), (b"big.png", 1000), (b"missing.jpg", CAP)]
    for name, cap in cases:
        path = os.fsencode(tmp_path) + b"/" + name
        with pytest.raises(Exception) as in_thread:
            decode_image_here(path, "jpeg", cap, None, RecipeJoint(RECIPE))
        with pytest.raises(Exception) as in_process:
            decoder.decode(path, "jpeg", cap, None, RECIPE)
        assert type(in_process.value) is type(in_thread.value), name
        assert str(in_process.value) == str(in_thread.value), name
    assert decoder.decode(good, "jpeg", CAP, None, RECIPE)[0].shape == RECIPE.shape, "the pool still works"


def alive(pid: int) -> bool:
    """Running (a reaped process is gone; a zombie counts as dead but must not stay: see the callers)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def exists(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def test_a_hung_decoder_is_killed_and_replaced(tmp_path):
    fifo = tmp_path / "hangs.jpg"
    os.mkfifo(fifo)  # opening it for reading blocks forever: a decoder that never returns
    good = write_jpeg(tmp_path / "good.jpg", halves(64, 64))
    pool = ProcessDecoder(1, timeout_s=2.0)
    try:
        pool.decode(good, "jpeg", CAP, None, RECIPE)
        (first,) = pool.pids()
        started = time.monotonic()
        with pytest.raises(ExtractionError, match="took too long.*file_timeout_s"):
            pool.decode(os.fsencode(fifo), "jpeg", CAP, None, RECIPE)
        assert time.monotonic() - started < 60  # it gives up (at 2 s), far from forever; loaded CI is slow
        assert not exists(first), "the hung process is killed and reaped"
        pool.decode(good, "jpeg", CAP, None, RECIPE)
        assert pool.pids() and pool.pids() != [first]
    finally:
        pool.close()


def test_a_crashed_decoder_fails_only_its_file(tmp_path):
    fifo = tmp_path / "hangs.jpg"
    os.mkfifo(fifo)
    good = write_jpeg(tmp_path / "good.jpg", halves(64, 64))
    pool = ProcessDecoder(1, timeout_s=30)
    try:
        pool.decode(good, "jpeg", CAP, None, RECIPE)
        (pid,) = pool.pids()
        threading.Timer(0.5, os.kill, (pid, signal.SIGSEGV)).start()  # as a crash in a C decoder would
        with pytest.raises(ExtractionError, match="crashed"):
            pool.decode(os.fsencode(fifo), "jpeg", CAP, None, RECIPE)
        assert pool.decode(good, "jpeg", CAP, None, RECIPE)[0].shape == RECIPE.shape
    finally:
        pool.close()


def test_close_reaps_every_process_busy_or_idle(tmp_path):
    fifo = tmp_path / "hangs.jpg"
    os.mkfifo(fifo)
    good = write_jpeg(tmp_path / "good.jpg", halves(64, 64))
    pool = ProcessDecoder(2, timeout_s=60)
    errors = []

    def hang() -> None:
        try:
            pool.decode(os.fsencode(fifo), "jpeg", CAP, None, RECIPE)
        except ExtractionError as exc:
            errors.append(exc)

    busy = threading.Thread(target=hang, daemon=True)
    busy.start()
    deadline = time.monotonic() + 10
    while not pool.pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    pool.decode(good, "jpeg", CAP, None, RECIPE)  # the first process is busy: a second one starts
    pids = pool.pids()
    assert len(pids) == 2
    pool.close()
    busy.join(10)
    assert not busy.is_alive() and errors, "the waiting file gets an error, not a hang"
    assert not any(exists(pid) for pid in pids), "no process, not even a zombie, is left"


def test_a_job_whose_process_was_stopped_under_it_reads_as_gone():
    """close() may stop a child between a decode thread's select and its read (a race CI once lost):
    the thread must see "the process is gone", which becomes the file's error, not a ValueError."""
    child = _Child(0)
    child.stop(kill=True)
    assert child.ask((b"x.jpg", "jpeg", CAP, None, RECIPE), 5) is None


PARENT = textwrap.dedent(
    """
    import os, sys, threading
    from anyseek.indexer.decode_procs import ProcessDecoder, _Child
    from anyseek.indexer.pixels import PixelRecipe
    recipe = PixelRecipe(32, "bicubic", (32, 32), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    pool = ProcessDecoder(1, timeout_s=600)
    threading.Thread(target=pool.decode, args=(sys.argv[1].encode(), "jpeg", 10**8, None, recipe), daemon=True).start()
    while not pool.pids():
        pass
    print(pool.pids()[0], flush=True)
    threading.Event().wait()
    """
)


def test_a_killed_parent_leaves_no_decoder_behind(tmp_path):
    fifo = tmp_path / "hangs.jpg"
    os.mkfifo(fifo)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(fifo)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait()
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child), "the orphaned decoder notices and exits"
    finally:
        parent.kill()
        parent.wait()


def test_processes_index_exactly_what_threads_index(open_engine, media, tmp_path):
    threads = open_engine(tmp_path / "threads", decode_workers_kind="threads")
    processes = open_engine(tmp_path / "processes", decode_workers_kind="processes")
    by_threads, by_processes = threads.index([media]), processes.index([media])
    assert by_processes.failed == by_threads.failed == 0
    assert by_processes.added == by_threads.added == 14
    for eng in (threads, processes):
        assert eng.store.chunk_ids(Space.JOINT).size > 0
    photo = media / "photos" / "forest.png"
    for eng in (threads, processes):
        assert eng.search(image=photo, k=1)[0].path.endswith("forest.png")


def test_decoding_follows_the_machine_unless_told():
    assert plan_decoding("auto", None, on_gpu=False, cores=2) == ("threads", 2)
    assert plan_decoding("auto", None, on_gpu=True, cores=16) == ("processes", 15)
    assert plan_decoding("auto", None, on_gpu=False, cores=16) == ("threads", 4)
    assert plan_decoding("auto", None, on_gpu=True, cores=1) == ("processes", 1)
    assert plan_decoding("threads", 3, on_gpu=True, cores=16) == ("threads", 3)
    assert plan_decoding("processes", None, on_gpu=False, cores=2) == ("processes", 2)


def test_decode_workers_kind_is_checked(tmp_path):
    assert load_settings(tmp_path, {"decode_workers_kind": "processes"}).decode_workers_kind == "processes"
    with pytest.raises(ConfigError, match="decode_workers_kind"):
        load_settings(tmp_path, {"decode_workers_kind": "fibers"})


def test_the_process_module_has_no_torch(tmp_path):
    """A decode process must start light: importing torch would cost seconds and hundreds of MB each."""
    code = "import sys, anyseek.indexer.decode_child, anyseek.media.image; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_input_larger_than_the_slot_comes_back_whole_through_the_pipe(decoder, tmp_path):
    big = PixelRecipe(512, "bicubic", (512, 512), RECIPE.mean, RECIPE.std)  # 3 MB of float32: over the slot
    path = write_jpeg(tmp_path / "wide.jpg", halves(900, 600))
    here = decode_image_here(path, "jpeg", CAP, None, RecipeJoint(big)).pixels
    there, _ = decoder.decode(path, "jpeg", CAP, None, big)
    np.testing.assert_allclose(there, here, atol=1e-6)
