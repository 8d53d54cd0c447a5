"""The server's small pure parts: Range parsing, error mapping, discovery files, host rules."""

from __future__ import annotations

import json
import os

import pytest

from anyseek.engine import errors as E
from anyseek.server import discovery
from anyseek.server.errors import ApiError, from_engine
from anyseek.server.ranges import byte_range
from anyseek.server.security import AccessPolicy, is_loopback


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=90-", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=50-5000", (50, 99)),
        ("bytes=0-1,4-5", None),  # several ranges: the whole file
        ("items=0-9", None),
        ("bytes=-", None),
        ("bytes=abc", None),
    ],
)
def test_ranges(header, expected):
    assert byte_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0", "bytes=9-3"])
def test_unsatisfiable_ranges_are_416(header):
    with pytest.raises(ApiError) as info:
        byte_range(header, 100)
    assert info.value.status == 416 and info.value.headers["Content-Range"] == "bytes */100"


@pytest.mark.parametrize(
    "error, status, code",
    [
        (E.NoSpeechError("no speech recognised"), 422, "no_speech"),
        (E.QueryError("empty"), 400, "bad_query"),
        (E.MediaGoneError("changed"), 410, "gone"),
        (E.UploadTooLargeError("big"), 413, "too_large"),
        (E.UploadError("what"), 415, "unsupported_media"),
        (E.ExtractionError("bomb"), 422, "undecodable"),
        (E.JobNotFoundError("x"), 404, "not_found"),
        (E.JobError("busy"), 409, "conflict"),
        (E.IndexLockedError("locked"), 409, "locked"),
        (E.ConfigError("bad\nsetting"), 400, "error"),
    ],
)
def test_engine_errors_map_to_status_and_code(error, status, code):
    api = from_engine(error)
    assert (api.status, api.code) == (status, code) and "\n" not in api.message


def test_loopback_rules():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.com")
    policy = AccessPolicy("t" * 40, "127.0.0.1", 9000, 1024)
    policy.check_host("127.0.0.1:9000")
    policy.check_host("localhost:9000")
    for bad in ("127.0.0.1:9001", "evil.example:9000", None):
        with pytest.raises(ApiError):
            policy.check_host(bad)


def test_discovery_round_trip_and_stale_pid(tmp_path):
    info = discovery.ServerInfo.make("127.0.0.1", 1234, "abc")
    discovery.write(tmp_path, info)
    assert discovery.read(tmp_path) == info
    dead = {**json.loads((tmp_path / "server.json").read_text()), "pid": 2**22 + 12345}
    (tmp_path / "server.json").write_text(json.dumps(dead))
    assert discovery.find(tmp_path) is None and not (tmp_path / "server.json").exists()
    (tmp_path / "server.json").write_text("{not json")
    assert discovery.find(tmp_path) is None
    other = discovery.ServerInfo.make("127.0.0.1", 1, "someone-else")
    discovery.write(tmp_path, other)
    discovery.remove(tmp_path, info)  # not ours: stays
    assert discovery.read(tmp_path) == other
    assert discovery.pid_alive(os.getpid())


def test_search_lock_serves_in_arrival_order():
    import threading
    import time

    from anyseek.server.app import FairLock

    lock, order = FairLock(), []

    def search(n: int) -> None:
        with lock:
            order.append(n)

    with lock:
        threads = []
        for n in range(8):
            thread = threading.Thread(target=search, args=(n,))
            thread.start()
            threads.append(thread)
            while lock._next_ticket < n + 2:  # wait until this one has its ticket
                time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    assert order == list(range(8))


def test_connections_accepted_by_the_server_turn_nagle_off():
    """A kept-alive connection must not wait for the client's delayed ACK before each response body
    (it did: ~40 ms per request). asyncio turns TCP_NODELAY on only for sockets that say they are TCP."""
    import asyncio
    import socket
    import threading

    from anyseek.server.run import bind

    listening = bind("127.0.0.1", 0)
    nodelay: list[int] = []

    async def main() -> None:
        async def accepted(reader, writer) -> None:
            nodelay.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=listening)
        port = listening.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        while not nodelay:
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    # in a thread of its own: an earlier test (Playwright's sync API) may leave a loop running in this one
    runner = threading.Thread(target=lambda: asyncio.run(asyncio.wait_for(main(), 10)))
    runner.start()
    runner.join(20)
    assert nodelay == [1]
