"""Who may do what: the token, the Host and Origin checks, and the request size limits.

- Every endpoint under /api except the health check needs `Authorization: Bearer TOKEN`, on loopback too:
  an index holds the text of every document and transcript, and any local user or program can reach a
  loopback port. `--anonymous-read` (loopback only) lets reads through without it; changing the index
  (index jobs, cancelling them) always needs it.
- A thumbnail or media URL in a response carries an access code for that one item (an HMAC under a key
  this server made at start), because <img> and <audio> cannot send a header: the page streams a video
  and seeks in it without a token in any URL, and a URL that leaks opens one file until the server stops.
- On loopback the Host header must name the loopback address the server listens on: a web page that
  re-points its own domain name at 127.0.0.1 (DNS rebinding) sends its own name and is refused.
- A request whose Origin is not the server's own page is refused: no CORS, no cross-site form posts.
- Request bodies are capped while they arrive, before anything parses them.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from anyseek.engine.errors import ConfigError
from anyseek.engine.privacy import open_private
from anyseek.server.discovery import TOKEN_FILE
from anyseek.server.errors import ApiError

HEALTH_PATH = "/api/v1/health"
MAX_JSON_BYTES = 1024 * 1024
# beyond loopback "anonymous" would mean anyone on the network: reading there always needs the token
ANONYMOUS_BEYOND_LOOPBACK = "--anonymous-read is only allowed on a loopback address (127.0.0.1, ::1, localhost)"
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
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_TRUNC), "w", encoding="ascii") as out:
        out.write(token + "\n")
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
    anonymous_read: bool = False
    loopback: bool = field(init=False)
    allowed_hosts: frozenset[str] = field(init=False)
    item_key: bytes = field(init=False, repr=False, default_factory=lambda: secrets.token_bytes(32))

    def __post_init__(self) -> None:
        self.loopback = is_loopback(self.host)
        if self.anonymous_read and not self.loopback:
            raise ConfigError(ANONYMOUS_BEYOND_LOOPBACK)
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

    def access_code(self, item_id: int) -> str:
        digest = hmac.new(self.item_key, f"item:{item_id}".encode(), "sha256").digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    def grants(self, item_id: str, code: str) -> bool:
        """Whether `code` is this server's access code for the item (its id as the URL's path gives it)."""
        if not (item_id.isascii() and item_id.isdigit()) or item_id != str(int(item_id)):
            return False
        return hmac.compare_digest(code.encode(), self.access_code(int(item_id)).encode())

    def signed(self, url: str | None, item_id: int) -> str | None:
        """A file URL of the item with its access code added."""
        if url is None:
            return None
        return f"{url}{'&' if '?' in url else '?'}access={self.access_code(item_id)}"

    def sign(self, hit: dict) -> dict:
        """A hit's thumbnail_url and media_url with the item's access code (in place)."""
        for key in ("thumbnail_url", "media_url"):
            hit[key] = self.signed(hit.get(key), hit["item_id"])
        for part in hit.get("parts") or ():  # a record's file parts are served under the record's item id
            for key in ("thumbnail_url", "media_url"):
                part[key] = self.signed(part.get(key), hit["item_id"])
        return hit

    def body_limit(self, path: str) -> int:
        return self.max_upload_bytes + MULTIPART_SLACK if path.endswith("/upload") else MAX_JSON_BYTES


bearer = HTTPBearer(auto_error=False, description="The token in server.token of the index folder")


def policy_of(request: Request) -> AccessPolicy:
    return request.app.state.policy


async def reader(request: Request) -> None:
    """Reading: the token, unless `--anonymous-read` lets loopback clients read without it."""
    policy = policy_of(request)
    if not policy.anonymous_read:
        policy.check_token(await bearer(request))


async def file_reader(
    request: Request,
    access: Annotated[
        str | None,
        Query(max_length=64, description="The item's access code, as given in thumbnail_url and media_url"),
    ] = None,
) -> None:
    """An item's thumbnail or file: the token, or the access code for that item that a response handed out."""
    policy = policy_of(request)
    if policy.anonymous_read or (access and policy.grants(request.path_params.get("item_id", ""), access)):
        return
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
