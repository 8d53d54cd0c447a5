"""Image decoding in worker processes, so it scales with cores instead of sharing one GIL with the writer.

The decode threads (indexer/workers.py) still run each file's job: hash, move detection, sniffing. For an
image they hand the decode to an idle process and wait (the wait releases the GIL). The model input comes
back through a shared-memory slot of that process; only a short reply crosses the pipe.

The slot is a memfd (an anonymous file) handed to the process as an inherited descriptor rather than a
named multiprocessing SharedMemory: it has no name, so nothing can leak, even when the whole process
tree is killed with SIGKILL; the kernel frees it with its last mapping.

A file still decoding after `timeout_s` is that file's error and its process is killed and replaced, as a
hung thread is abandoned and replaced; a decoder that crashes (a segfault in a C library) is that file's
error too, where in a thread it would have taken the whole run down.
"""

from __future__ import annotations

import logging
import mmap
import os
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from anyseek.engine.errors import ExtractionError
from anyseek.indexer.decode_child import READY, read_message, write_message
from anyseek.indexer.decoded import DecodedImage
from anyseek.indexer.extract import decode_image_here
from anyseek.indexer.pixels import PixelRecipe, recipe_from_transform
from anyseek.media import file_warnings

log = logging.getLogger(__name__)

# How long a new process may take to start (Python, PIL, NumPy) before its first file's clock starts.
STARTUP_S = 60.0
SLOT_BYTES = 3 * 448 * 448 * 4  # a float32 input up to 448 px; a larger one comes inline through the pipe


def processes_supported() -> bool:
    """Inheriting the slot's descriptor needs POSIX (pass_fds)."""
    return os.name == "posix"


def _anonymous_file(size: int) -> int:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("anyseek-decode", os.MFD_CLOEXEC)
    else:  # macOS, BSD: an unlinked temporary file serves the same purpose
        handle = tempfile.TemporaryFile()
        fd = os.dup(handle.fileno())
        handle.close()
    os.ftruncate(fd, size)
    return fd


class _Child:
    def __init__(self, nice: int) -> None:
        fd = _anonymous_file(SLOT_BYTES)
        try:
            self.slot = mmap.mmap(fd, SLOT_BYTES)
            command = [sys.executable, "-m", "anyseek.indexer.decode_child", str(fd), str(SLOT_BYTES)]
            self.process = subprocess.Popen(
                [*command, str(os.getpid()), str(nice)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=(fd,),
                bufsize=0,
            )
            self.started = False  # READY not read yet
        finally:
            os.close(fd)  # the mapping and the child hold it now

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask(self, job, timeout_s: float | None):
        """Send one job and wait for its reply: None when the child died, TimeoutError past the limit."""
        try:
            if not self.started:
                if not select.select([self.process.stdout], [], [], STARTUP_S)[0]:
                    raise TimeoutError
                if read_message(self.process.stdout) != READY:
                    return None  # it died while starting
                self.started = True
            write_message(self.process.stdin, job)
            ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
            if not ready:
                raise TimeoutError
            return read_message(self.process.stdout)
        except ValueError:  # close() stopped this child and closed its pipes while we were waiting on them
            if self.process.stdout.closed or self.process.stdin.closed:
                return None
            raise

    def stop(self, kill: bool) -> int | None:
        """End the process and reap it (no zombie is left); returns its exit status. Idempotent."""
        if self.slot.closed:
            return self.process.returncode
        try:
            if kill:
                self.process.kill()
            else:
                self.process.stdin.close()  # end of jobs: it exits by itself
            try:
                return self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait()
        finally:
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                self.slot.close()
            except BufferError:  # a thread is copying its last result out at this moment: unmapped with it
                pass


class ProcessDecoder:
    """Up to `workers` decode processes, started on first use and shared by the decode threads."""

    def __init__(self, workers: int, timeout_s: float | None, nice: int = 0) -> None:
        self.workers, self.timeout_s, self.nice = max(1, workers), timeout_s or None, nice
        self._idle: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._children: set[_Child] = set()
        self._closed = False

    def pids(self) -> list[int]:
        with self._lock:
            return [child.pid for child in self._children]

    def decode(self, path: bytes, fmt: str, max_pixels: int, draft: int | None, recipe: PixelRecipe):
        """(model input, capture time) of an image; raises the file's error as the in-thread decode would."""
        child = self._acquire()
        overran = False
        try:
            reply = child.ask((path, fmt, max_pixels, draft, recipe), self.timeout_s)
        except TimeoutError:
            reply, overran = None, True
        except (EOFError, OSError):  # a broken pipe: the child is gone
            reply = None
        if reply is None:
            status = self._retire(child)
            if self._closed:
                raise ExtractionError("indexing was stopped")
            if overran:
                limit = f"gave up after {self.timeout_s:g} s (setting file_timeout_s)"
                raise ExtractionError(f"decoding took too long: {limit}")
            raise ExtractionError(f"the image decoder crashed on this file (exit status {status})")
        try:
            if reply[0] == "error":
                raise reply[1]
            _, shape, inline, captured_at, said = reply
            for message, category in said:  # the child's warnings about this file join its report lines
                file_warnings.note(message, category)
            if inline is not None:
                return inline, captured_at
            # copied out before the child is handed to another thread, which would overwrite its slot
            count = int(np.prod(shape))
            try:
                return np.frombuffer(child.slot, np.float32, count).reshape(shape).copy(), captured_at
            except ValueError:  # close() unmapped the slot between the reply and the copy
                if child.slot.closed:
                    raise ExtractionError("indexing was stopped") from None
                raise
        finally:
            self._idle.put(child)

    def _acquire(self) -> _Child:
        with self._lock:
            if self._closed:
                raise ExtractionError("indexing was stopped")
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            if len(self._children) < self.workers:
                child = _Child(self.nice)
                self._children.add(child)
                return child
        while not self._closed:  # every process is busy: wait for one (threads <= processes, so rarely)
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue
        raise ExtractionError("indexing was stopped")

    def _retire(self, child: _Child) -> int | None:
        """A child that overran or died: killed and reaped, its place free for a fresh one."""
        with self._lock:
            self._children.discard(child)
        status = child.stop(kill=True)
        log.debug("decode process %d retired (status %s)", child.pid, status)
        return status

    def close(self) -> None:
        """Idle processes exit on end of input, busy ones are killed; every one is reaped."""
        with self._lock:
            self._closed = True
            children, self._children = list(self._children), set()
        idle = set()
        while True:
            try:
                idle.add(self._idle.get_nowait())
            except queue.Empty:
                break
        started = time.monotonic()
        for child in children:
            child.stop(kill=child not in idle)
        log.debug("closed %d decode processes in %.2f s", len(children), time.monotonic() - started)


class ProcessImages:
    """extract()'s image step (see extract.ImageDecoder) through a ProcessDecoder. The recipe is read from
    the joint model's transform on first use (which loads the model lazily, as the thread path does); a
    model whose transform has no recipe decodes in the calling thread instead."""

    def __init__(self, decoder: ProcessDecoder, joint) -> None:
        self.decoder, self.joint = decoder, joint
        self._recipe: PixelRecipe | None = None
        self._checked = False

    def __call__(self, path: bytes, fmt: str, max_pixels: int, draft: int | None):
        if not self._checked:
            self._recipe = recipe_from_transform(getattr(self.joint, "transform", None))
            self._checked = True
            if self._recipe is None:
                log.info("the joint model's preprocessing has no process recipe: images decode in threads")
        if self._recipe is None:
            return decode_image_here(path, fmt, max_pixels, draft, self.joint)
        pixels, captured_at = self.decoder.decode(path, fmt, max_pixels, draft, self._recipe)
        return DecodedImage(pixels, captured_at)  # the picture stays in its process: OCR decodes its own
