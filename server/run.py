"""`anyseek serve`: open one index, load its models once, serve until SIGINT/SIGTERM.

The socket is bound (and listening) before the discovery file is written, so a client that reads the file
can connect at once; the port may be 0 (the system picks a free one). On SIGINT or SIGTERM uvicorn stops
accepting, open requests finish (for up to GRACE_S), a running index job stops at its next safe point, and
the discovery file is removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anyseek.server import discovery
from anyseek.server.security import ANONYMOUS_BEYOND_LOOPBACK, AccessPolicy, is_loopback, load_or_create_token

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
GRACE_S = 5
MAX_UPLOAD_MB = 64


@dataclass(frozen=True, slots=True)
class Started:
    """What `serve` tells its caller once the server accepts connections."""

    url: str
    page_url: str
    token: str
    loopback: bool
    anonymous_read: bool = False


def prefer_sleeping_threads() -> None:
    """Call before FAISS or torch is loaded: OpenMP reads this once, when its library loads.

    A server overlaps work in threads (a hybrid query's words are searched while the models encode it;
    index jobs and other requests run beside searches). OpenMP's default lets a pool's idle workers spin,
    and a spinning worker holds a core that another thread is waiting for: on two cores a hybrid search
    with warm models at 100,000 passages took 35.9 ms against 32.5 ms with passive waiting, dense
    searches and indexing throughput were the same either way (bench.quality_mixed, README). A value the
    user set wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio turns Nagle off (TCP_NODELAY) only on accepted sockets whose proto is
    # IPPROTO_TCP, and with proto 0 a kept-alive connection waited ~40 ms per response (Nagle holding the
    # body behind the headers until the client's delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(
    engine,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_upload_mb: int = MAX_UPLOAD_MB,
    on_started: Callable[[Started], None] | None = None,
    warm: bool = True,
    anonymous_read: bool = False,
) -> None:
    import uvicorn

    from anyseek.engine.errors import ConfigError
    from anyseek.server.app import create_app

    if anonymous_read and not is_loopback(host):
        raise ConfigError(ANONYMOUS_BEYOND_LOOPBACK)
    home: Path = engine.home
    token = load_or_create_token(home)
    sock = bind(host, port)
    port = sock.getsockname()[1]
    policy = AccessPolicy(token, host, port, max_upload_mb * 1024 * 1024, anonymous_read)
    app = create_app(engine, policy)
    service = app.state.service
    info = discovery.ServerInfo.make(host, port, service.instance)
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=GRACE_S, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    # The discovery file appears once the models are warm: until then the CLI is no faster through the
    # server than on its own, and a health check could time out while the models load.
    announce = threading.Thread(
        target=_warm_then_announce, args=(engine, service, home, info, warm), name="anyseek-warm", daemon=True
    )
    announce.start()
    try:
        if on_started:
            on_started(Started(info.url, f"{info.url}/#token={token}", token, is_loopback(host), anonymous_read))
        with _quiet_signals():
            server.run(sockets=[sock])
    finally:
        service.stopping.set()
        service.jobs.shutdown()
        announce.join(30)
        discovery.remove(home, info)
        with contextlib.suppress(OSError):
            sock.close()


@contextlib.contextmanager
def _quiet_signals():
    """uvicorn handles SIGINT/SIGTERM itself (graceful shutdown), then re-raises the signal to the handler
    it found: a no-op one here, so a stopped server exits normally (status 0) after its own cleanup."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _warm_then_announce(engine, service, home: Path, info: discovery.ServerInfo, warm: bool) -> None:
    """Load the models a text search needs now, so the first query does not pay for them; then write the
    discovery file (unless the server is already stopping)."""
    from anyseek.engine.errors import AnyseekError

    if warm:
        try:
            with service.search_lock:
                engine.warm()
        except AnyseekError as exc:
            log.info("models not warmed: %s", exc)
        except Exception:  # noqa: BLE001 - warming is an optimisation: the server serves either way
            log.warning("models not warmed", exc_info=True)
    if not service.stopping.is_set():
        discovery.write(home, info)
