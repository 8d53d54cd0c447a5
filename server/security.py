"""Who may do what: the token, the Host and Origin checks, and the request size limits.

- Bound to loopback, reading (search, items, media, status) needs no token; anything that changes the index
  (index jobs, cancelling them) needs `Authorization: Bearer TOKEN`. Bound to any other address, every
  endpoint under /api except the health check needs it.
- On loopback the Host header must name the loopback address the server listens on: a web page that
  re-points its own domain name at 127.0.0.1 (DNS rebinding) sends its own name and is refused.
- A request whose Origin is not the server's own page is refused: no CORS, no cross-site form posts.
- Request bodies are capped while they arrive, before anything parses them.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from anyseek.server.errors import ApiError

TOKEN_FILE = "server.token"
HEALTH_PATH = "/api/v1/health"
MAX_JSON_BYTES = 1024 * 1024
MULTIPART_SLACK = 64 * 1024  # form field names, boundaries and the small text fields around the file


def load_or_create_token(home: Path) -> str:
    """The index's server token: made on first start, kept in a file only its owner can read."""
    path = home / TOKEN_FILE
    with contextlib.suppress(FileNotFoundError):
        token = path.read_text(encoding="ascii").strip()
        if len(token) >= 32:
            os.chmod(path, 0o600)  # a copy restored with looser bits is tightened
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(slots=True)
class AccessPolicy:
    token: str
    host: str
    port: int
    max_upload_bytes: int
    loopback: bool = field(init=False)
    allowed_hosts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.loopback = is_loopback(self.host)
        names = {"127.0.0.1", "localhost", "[::1]", self.host if ":" not in self.host else f"[{self.host}]"}
        self.allowed_hosts = frozenset(f"{name}:{self.port}" for name in names) | frozenset(names)

    def check_host(self, host_header: str | None) -> None:
        if self.loopback and (host_header or "").lower() not in self.allowed_hosts:
            raise ApiError(403, "bad_host", "this server only answers requests addressed to its loopback address")

    def check_origin(self, origin: str | None, host_header: str | None) -> None:
        if origin is None:
            return
        own = {f"http://{name}" for name in self.allowed_hosts} if self.loopback else set()
        own.add(f"http://{host_header}")
        if origin.lower() not in own:
            raise ApiError(403, "bad_origin", "requests from other web sites are refused")

    def check_token(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        given = credentials.credentials if credentials else ""
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise ApiError(
                401, "unauthorized", "a valid token is required: send 'Authorization: Bearer TOKEN' (server.token)"
            )

    def body_limit(self, path: str) -> int:
        return self.max_upload_bytes + MULTIPART_SLACK if path.endswith("/upload") else MAX_JSON_BYTES


bearer = HTTPBearer(auto_error=False, description="The token in server.token of the index folder")


def policy_of(request: Request) -> AccessPolicy:
    return request.app.state.policy


async def reader(request: Request) -> None:
    """Reading: a token only when the server listens beyond loopback."""
    policy = policy_of(request)
    if not policy.loopback:
        policy.check_token(await bearer(request))


async def writer(request: Request) -> None:
    """Changing the index: always a token."""
    policy_of(request).check_token(await bearer(request))


class GuardMiddleware:
    """Host and Origin checks and the streaming body cap, before any route or parser runs (pure ASGI, so
    an oversized upload is cut off while it arrives instead of being spooled first)."""

    def __init__(self, app, policy: AccessPolicy) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            self.policy.check_host(headers.get("host"))
            if scope["path"].startswith("/api/"):
                self.policy.check_origin(headers.get("origin"), headers.get("host"))
            limit = self.policy.body_limit(scope["path"])
            declared = headers.get("content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > limit):
                raise ApiError(413, "too_large", f"the request body is over the {limit // 1024} KiB limit")
        except ApiError as exc:
            return await _send_error(send, exc)
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # an HTTPException: FastAPI's body parsing passes it on, and the handler answers 413
                    raise ApiError(413, "too_large", f"the request body is over the {limit // 1024} KiB limit")
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except ApiError as exc:  # raised while the body was read outside any route's handlers
            if not started:
                await _send_error(send, exc)


async def _send_error(send, exc: ApiError) -> None:
    body = json.dumps(exc.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
