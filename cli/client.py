"""The CLI's use of a running server: when `anyseek serve` runs on the same index, `search` and `status`
ask it instead of loading the models in this process (tens of milliseconds instead of seconds).

It sends the CLI's SearchRequest as the request's own JSON form and reads the answers back with the
records' own definitions (`SearchResults.from_dict`, engine/wire.py), so the CLI prints exactly what it
prints in-process; an error comes back as the class its code names (engine/errors.py). None means "no
server can answer this": the caller works in-process. Standard library only (urllib), so this costs
nothing when no server runs.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from anyseek.engine import errors
from anyseek.engine.records import IndexStatus, SearchResults
from anyseek.engine.request import SearchRequest
from anyseek.server import discovery

log = logging.getLogger("anyseek.cli.client")

NO_SERVER_ENV = "ANYSEEK_NO_SERVER"
REQUEST_TIMEOUT_S = 600.0  # an audio query can take a while to transcribe


class ServerGone(Exception):
    """The server stopped answering between discovery and the request: work in-process instead."""


@dataclass(frozen=True, slots=True)
class Remote:
    info: discovery.ServerInfo
    token: str = field(repr=False, default="")

    def post_json(self, path: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        return self._request(path, data, {"Content-Type": "application/json"})

    def post_file(self, path: str, fields: dict[str, str], data: bytes) -> dict:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="query"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self._request(path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def get(self, path: str) -> dict:
        return self._request(path, None, {})

    def _request(self, path: str, data: bytes | None, headers: dict[str, str]) -> dict:
        method = "GET" if data is None else "POST"
        headers = {**headers, "Authorization": f"Bearer {self.token}"}
        try:
            status, body = discovery.request(
                self.info.url, method, f"/api/v1{path}", data, headers, timeout=REQUEST_TIMEOUT_S
            )
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, garbled
            raise ServerGone(str(exc)) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise ServerGone(f"HTTP {status}: not JSON") from None
        if status < 300:
            return answer
        try:
            code, message = answer["error"]["code"], answer["error"]["message"]
        except (KeyError, TypeError):
            raise ServerGone(f"HTTP {status}") from None
        if status == 401:
            log.info("the server at %s refused this index's token: working in-process", self.info.url)
            raise ServerGone(message)
        if status >= 500:
            raise ServerGone(message)
        raise errors.by_code(code)(message)


def connect(home: Path | None, no_server: bool = False) -> Remote | None:
    if no_server or os.environ.get(NO_SERVER_ENV, "") not in ("", "0"):
        return None
    from anyseek.engine.paths import default_home  # not engine.settings: pydantic would cost this path ~0.15 s

    home = Path(home).expanduser() if home else default_home()
    info = discovery.find(home)
    if info is None:
        return None
    # The token is read from the index folder, which only its owner can read; without it (a token file
    # that is missing or someone else's), this process works on its own rather than ask unauthenticated.
    token = discovery.read_token(home)
    if token is None:
        log.info("a server runs on %s, but its token is not readable here: working in-process", home)
        return None
    log.info("asking the server at %s (pid %d)", info.url, info.pid)
    return Remote(info, token)


def _names_a_file(term: str) -> bool:
    from anyseek.engine.search.syntax import _looks_like_path, split_terms

    return any(_looks_like_path(t) and Path(os.path.expanduser(t)).is_file() for _, t in split_terms(term))


def search(remote: Remote, request: SearchRequest) -> SearchResults | None:
    """The search through the server, or None when it cannot be expressed there (file terms in the query,
    several query files, options the upload form does not take): those run in-process, where files on
    this machine are read."""
    files = [part.image for part in request.parts if part.image is not None and part.weight == 1.0]
    files += [file for file in (request.image, request.audio) if file is not None]
    if request.query and request.query_files and _names_a_file(request.query):
        return None
    if len(files) != len(request.parts) + (request.image is not None) + (request.audio is not None):
        return None  # a text, item or weighted part: the server takes words only as a query
    rest = dataclasses.replace(request, image=None, audio=None, parts=())
    try:
        if not files:
            return SearchResults.from_dict(remote.post_json("/search", rest.to_dict())) if rest.sendable else None
        upload = SearchRequest(query=rest.query, k=rest.k, modalities=rest.modalities, query_files=rest.query_files)
        if len(files) > 1 or rest != upload:
            return None  # the upload form takes one file, words, modalities and k: the rest runs in-process
        fields = {"k": str(request.k), "modalities": ",".join(request.modalities)}
        if request.query:
            fields["query"] = request.query
        try:
            return SearchResults.from_dict(remote.post_file("/search/upload", fields, Path(files[0]).read_bytes()))
        except (errors.UploadError, errors.ExtractionError) as exc:  # the server saw bytes: name the file
            raise errors.UnreadableQueryFileError(str(files[0]), str(exc)) from None
    except ServerGone:
        return None


def status(remote: Remote) -> IndexStatus | None:
    try:
        return IndexStatus.from_dict(remote.get("/status"))
    except ServerGone:
        return None
