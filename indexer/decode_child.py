"""A decode process: reads image jobs from stdin, writes each model input into its shared-memory slot and
a short reply to its result pipe. Started by indexer/decode_procs.py; never imported by anything else.

It imports PIL, NumPy and the image extractor only (no torch, no models), so it starts in a fraction of a
second, and it leaves every decision to the parent: Ctrl-C is the parent's to handle, and when the parent
is gone (killed with SIGKILL) the process exits by itself.
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import struct
import sys
import threading
import time
import warnings

HEADER = struct.Struct("<I")
READY = ("ready",)  # the first message of a started process, before any reply
ORPHAN_CHECK_S = 0.5


def _read_exact(stream, size: int) -> bytes | None:
    """`size` bytes, or None at end of input: an unbuffered pipe hands out what has arrived so far."""
    parts, wanted = [], size
    while wanted:
        part = stream.read(wanted)
        if not part:
            return None
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def read_message(stream):
    """The next message, or None when the other side has gone."""
    head = _read_exact(stream, HEADER.size)
    payload = head and _read_exact(stream, HEADER.unpack(head)[0])
    return None if payload is None else pickle.loads(payload)


def write_message(stream, message) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(HEADER.pack(len(payload)) + payload)
    while data:  # an unbuffered pipe may take part of a large message per write
        data = data[stream.write(data) :]
    stream.flush()


def _exit_when_orphaned(parent: int) -> None:
    """A parent killed with SIGKILL cannot close us; reparenting is how we learn of it. A thread rather
    than PR_SET_PDEATHSIG, which fires when the spawning *thread* ends, and decode threads come and go."""
    while True:
        time.sleep(ORPHAN_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)


def _portable(exc: BaseException) -> BaseException:
    """The exception itself where it pickles (the parent then reports it exactly as a thread would)."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any unpicklable exception becomes a plain one with the same words
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")


def decode(job, slot: mmap.mmap):
    from anyseek.media.image import open_photo, open_raw

    path, fmt, max_pixels, draft, recipe = job
    opener = open_raw if fmt == "raw" else open_photo
    # one decode at a time in this process: catch_warnings is safe here, and the parent words them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        photo = opener(path, max_pixels, draft_size=draft)
        pixels = recipe.apply(photo.image)
    said = [(str(w.message), w.category) for w in caught]
    if pixels.nbytes <= len(slot):
        slot[: pixels.nbytes] = pixels.tobytes()
        return ("ok", pixels.shape, None, photo.captured_at, said)
    return ("ok", pixels.shape, pixels, photo.captured_at, said)  # larger than the slot: inline, rare


def main() -> None:
    slot_fd, slot_bytes, parent, nice = (int(arg) for arg in sys.argv[1:5])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    slot = mmap.mmap(slot_fd, slot_bytes)
    jobs = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a library's print must not corrupt the replies
    # Imported before the first job and announced, so the parent's per-file clock (file_timeout_s) counts
    # the file, not this process's start: on a loaded machine a cold start takes seconds.
    from PIL import Image

    import anyseek.media.image  # noqa: F401

    Image.init()
    write_message(replies, READY)
    while (job := read_message(jobs)) is not None:
        try:
            reply = decode(job, slot)
        except Exception as exc:  # noqa: BLE001 - the file's error, reported to the parent as it would be raised
            reply = ("error", _portable(exc))
        write_message(replies, reply)


if __name__ == "__main__":
    main()
