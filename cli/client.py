"""The CLI's use of a running server: when `anyseek serve` runs on the same index, `search` and `status`
ask it instead of loading the models in this process (tens of milliseconds instead of seconds).

Everything here returns the engine's own records (SearchResults, IndexStatus), so the CLI prints exactly
what it prints in-process. None means "no server can answer this": the caller works in-process. Standard
library only (urllib), so this costs nothing when no server runs.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from anyseek.engine import errors
from anyseek.engine.records import ChunkKind, FileError, Hit, IndexStatus, Modality, Moment, SearchResults
from anyseek.server import discovery

log = logging.getLogger("anyseek.cli.client")

NO_SERVER_ENV = "ANYSEEK_NO_SERVER"
REQUEST_TIMEOUT_S = 600.0  # an audio query can take a while to transcribe
ERRORS_BY_CODE = {
    "bad_query": errors.QueryError,
    "no_speech": errors.NoSpeechError,
    "undecodable": errors.ExtractionError,
    "unsupported_media": errors.UploadError,
    "too_large": errors.UploadTooLargeError,
    "not_found": errors.IndexNotFoundError,
    "locked": errors.IndexLockedError,
}


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
        headers = {**headers, "Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(f"{self.info.url}/api/v1{path}", data=data, headers=headers)
        try:
            with discovery.OPENER.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                raise ServerGone(str(exc)) from None
            if exc.code == 401:
                log.info("the server at %s refused this index's token: working in-process", self.info.url)
                raise ServerGone(error.get("message", "")) from None
            if exc.code >= 500:
                raise ServerGone(error.get("message", "")) from None
            raise ERRORS_BY_CODE.get(error.get("code"), errors.AnyseekError)(error["message"]) from None
        except (OSError, ValueError) as exc:  # refused, reset, timed out, garbled
            raise ServerGone(str(exc)) from None


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


def search(
    remote: Remote,
    query: str | None,
    images: list[Path],
    audio: Path | None,
    like: str | int | None,
    k: int,
    types: list[str],
    path: Path | None,
    min_similarity: float | None,
    min_score: float | None = None,
    mode: str | None = None,
    after: str | None = None,
    before: str | None = None,
    sort: str | None = None,
) -> SearchResults | None:
    """The search through the server, or None when it cannot be expressed there (file terms in the query,
    several query files): those run in-process, where files on this machine are read."""
    uploads = [*images, *([audio] if audio else [])]
    if (query and _names_a_file(query)) or len(uploads) > 1 or (uploads and like is not None):
        return None
    if uploads and (min_score or mode or after or before or path or sort or min_similarity is not None):
        return None  # the upload form takes words, types and k only: the rest runs in-process
    try:
        if uploads:
            fields = {"k": str(k), "types": ",".join(types)}
            if query:
                fields["q"] = query
            try:
                return _results(remote.post_file("/search/upload", fields, uploads[0].read_bytes()))
            except (errors.UploadError, errors.ExtractionError) as exc:  # the server saw bytes: name the file
                raise errors.UnreadableQueryFileError(str(uploads[0]), str(exc)) from None
        body: dict = {"q": query, "k": k, "types": types, "min_similarity": min_similarity, "mode": mode}
        body |= {"min_score": min_score or 0.0, "after": after, "before": before}
        if sort is not None:
            body["sort"] = sort
        if path is not None:
            body["path"] = os.path.abspath(os.path.expanduser(path))
        if isinstance(like, int) or (isinstance(like, str) and like.isdigit()):
            body["like"] = int(like)
        elif like is not None:
            body["like_path"] = os.path.abspath(os.path.expanduser(like))
        return _results(remote.post_json("/search", body))
    except ServerGone:
        return None


def status(remote: Remote) -> IndexStatus | None:
    try:
        data = remote.get("/status")
    except ServerGone:
        return None
    data["first_errors"] = [FileError(e["path"], e["reason"]) for e in data["first_errors"]]
    return IndexStatus(**data)


def _epoch(iso: str | None) -> float | None:
    return None if iso is None else dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _results(data: dict) -> SearchResults:
    hits = tuple(
        Hit(
            item_id=h["item_id"],
            path=h["path"],
            modality=Modality(h["modality"]),
            score=h["score"],
            similarity=h["similarity"],
            chunk_id=h["chunk_id"],
            snippet=h["snippet"],
            start=h["start"],
            end=h["end"],
            char_start=h["char_start"],
            char_end=h["char_end"],
            raw_path=base64.b64decode(h["path_b64"]) if h.get("path_b64") else os.fsencode(h["path"]),
            route=h.get("route", ""),
            page=h.get("page"),
            slide=h.get("slide"),
            sheet=h.get("sheet"),
            row=h.get("row"),
            row_end=h.get("row_end"),
            captured_at=_epoch(h.get("captured_at")),
            moments=tuple(
                Moment(m["start"], m["end"], m["score"], ChunkKind(m["kind"])) for m in h.get("moments") or ()
            ),
        )
        for h in data["hits"]
    )
    return SearchResults(hits, tuple(data["transcripts"]))
