"""The HTTP API: routes turn a request into one Engine call and its result into JSON or bytes. No search,
indexing or file logic lives here (see engine/item_files.py, engine/jobs.py, engine/uploads.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from anyseek.engine.jobs import JobManager
from anyseek.engine.records import Modality
from anyseek.engine.request import SearchRequest
from anyseek.server import classify_routes, docs, errors
from anyseek.server.errors import ApiError
from anyseek.server.ranges import STREAM_CHUNK, byte_range
from anyseek.server.schemas import (
    API,
    MAX_GROUPS,
    MAX_K,
    MAX_OFFSET,
    MAX_TEXT,
    ErrorBody,
    HealthOut,
    IndexJobRequest,
    ItemOut,
    JobOut,
    ModalityName,
    RecordsJobRequest,
    SearchBody,
    SearchResponse,
    StatusOut,
    TierName,
    duplicates_out,
    item_out,
    renamed,
    search_out,
)
from anyseek.server.security import AccessPolicy, GuardMiddleware, file_reader, policy_of, reader, writer

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
ItemId = Annotated[int, PathParam(ge=1, le=2**62, description="An item id from a search hit")]
PartField = Annotated[
    str | None, Query(min_length=1, max_length=256, description="A record's file part (its field), not the record")
]
JobId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
SSE_POLL_S = 0.25
SSE_KEEPALIVE_S = 15.0
MEDIA_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # the bytes of an indexed file are data, never a page of this origin
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, max-age=60",
}
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 410, 413, 415, 416, 422)}


class FairLock:
    """First come, first served. A plain Lock lets whichever waiter the scheduler wakes cut the line, and
    under load that starved the slower image searches (p50 3x the text searches' in bench/load.py)."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._next_ticket = self._serving = 0

    def __enter__(self) -> None:
        with self._turn:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._turn.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc: object) -> None:
        with self._turn:
            self._serving += 1
            self._turn.notify_all()


@dataclass(slots=True)
class Service:
    """What the routes share: the reading Engine, the job manager and this server's identity."""

    engine: object
    jobs: JobManager
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)
    # One search at a time on the reading Engine: its vector catalog follows the writer's commits and must
    # not be refreshed by two requests at once. A search takes tens of ms; the models use every core anyway.
    search_lock: FairLock = field(default_factory=FairLock)
    stopping: threading.Event = field(default_factory=threading.Event)


def create_app(engine, policy: AccessPolicy) -> FastAPI:
    from anyseek import __version__

    app = FastAPI(
        title="anyseek",
        version=__version__,
        description="Local-first cross-modal search over one index. See server/API.md.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.policy = policy
    app.state.service = Service(engine, JobManager(engine.twin))
    errors.install(app)
    app.add_middleware(GuardMiddleware, policy=policy)
    app.include_router(_router(), prefix=API)
    app.include_router(classify_routes.router(_service), prefix=API, responses=ERRORS)
    docs.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app


def _service(request: Request) -> Service:
    return request.app.state.service


def _router() -> APIRouter:
    router = APIRouter(responses=ERRORS)

    @router.get("/health", response_model=HealthOut)
    def health(request: Request) -> dict:
        from anyseek import __version__

        return {"status": "ok", "version": __version__, "instance": _service(request).instance}

    @router.post("/search", response_model=SearchResponse, dependencies=[Depends(reader)])
    def search(body: SearchBody, request: Request) -> dict:  # type: ignore[valid-type]
        svc = _service(request)
        search_request = body.to_request()
        started = time.perf_counter()
        with svc.search_lock:
            results = svc.engine.search(search_request)
        took = (time.perf_counter() - started) * 1000
        return _signed(request, search_out(results, search_request.query, round(took, 2)))

    @router.post("/search/upload", response_model=SearchResponse, dependencies=[Depends(reader)])
    async def search_upload(
        request: Request,
        file: Annotated[UploadFile, File(description="An image or a recording; the type is read from the content")],
        query: Annotated[str | None, Form(max_length=MAX_TEXT, description="Words, every term text")] = None,
        modalities: Annotated[
            str | None, Form(max_length=64, description="Comma-separated: image,text,audio,video,record")
        ] = None,
        k: Annotated[int, Form(ge=1, le=MAX_K)] = 20,
        q: Annotated[str | None, Form(max_length=MAX_TEXT, deprecated=True, description="Old name of query")] = None,
        types: Annotated[str | None, Form(max_length=64, deprecated=True, description="Old name of modalities")] = None,
    ) -> dict:
        svc, policy = _service(request), request.app.state.policy
        try:
            form = renamed({"query": query, "modalities": modalities, "q": q, "types": types})
        except ValueError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None
        listed = [t.strip() for t in (form.get("modalities") or "").split(",") if t.strip()]
        if any(t not in set(Modality) for t in listed):
            raise ApiError(422, "invalid_request", f"modalities: each must be {', '.join(Modality)}")
        search_request = SearchRequest(query=form.get("query"), k=k, modalities=listed, query_files=False)
        data = await file.read(policy.max_upload_bytes + 1)

        def run() -> dict:
            started = time.perf_counter()
            results = svc.engine.search_upload(
                data, search_request, max_bytes=policy.max_upload_bytes, exclusive=svc.search_lock
            )
            took = round((time.perf_counter() - started) * 1000, 2)
            return _signed(request, search_out(results, search_request.query, took))

        return await run_in_threadpool(run)  # the pool the other routes use: one queue for all searches

    @router.get("/items/{item_id}", response_model=ItemOut, dependencies=[Depends(reader)])
    def item(item_id: ItemId, request: Request) -> dict:
        # the item's file URLs with its access code (security.py: why <img> and <audio> need one)
        return policy_of(request).sign(item_out(_service(request).engine.item(item_id)))

    @router.get(
        "/items/{item_id}/thumbnail",
        dependencies=[Depends(file_reader)],
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}},
    )
    def thumbnail(
        item_id: ItemId, request: Request, size: Annotated[int, Query(ge=16, le=1024)] = 256, part: PartField = None
    ) -> Response:
        path = _service(request).engine.thumbnail(item_id, size, part=part)
        headers = {**MEDIA_HEADERS, "Cache-Control": "private, max-age=3600"}
        return FileResponse(path, media_type="image/jpeg", headers=headers)

    @router.get(
        "/items/{item_id}/media",
        dependencies=[Depends(file_reader)],
        response_class=Response,
        responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "Partial content"}},
    )
    def media(item_id: ItemId, request: Request, part: PartField = None) -> Response:
        opened = _service(request).engine.open_media(item_id, part=part)
        try:
            span = byte_range(request.headers.get("range"), opened.size)
        except BaseException:
            opened.close()
            raise
        start, end = span if span else (0, opened.size - 1)
        headers = {**MEDIA_HEADERS, "Accept-Ranges": "bytes", "Content-Length": str(max(0, end - start + 1))}
        if opened.content_type == "application/octet-stream":
            headers["Content-Disposition"] = "attachment"
        if span:
            headers["Content-Range"] = f"bytes {start}-{end}/{opened.size}"
        return StreamingResponse(
            _stream(opened, start, end),
            status_code=206 if span else 200,
            media_type=opened.content_type,
            headers=headers,
        )

    @router.get("/duplicates", dependencies=[Depends(reader)])
    def duplicates(
        request: Request,
        tier: Annotated[list[TierName] | None, Query(description="exact, duplicate, similar (repeatable)")] = None,
        type: Annotated[list[ModalityName] | None, Query(description="image, text, audio, video")] = None,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_GROUPS)] = 50,
    ) -> dict:
        """Groups of duplicate files, largest savings first, a page at a time (`total` counts them all).
        Without `tier`: exact and duplicate. The first call fingerprints new pictures and videos."""
        svc = _service(request)
        with svc.search_lock:  # it reads the vector catalog, which searches refresh
            report = svc.engine.duplicates(tiers=tier, modalities=type or (), offset=offset, limit=limit)
        out = duplicates_out(report, limit)
        for group in out["groups"]:
            for item in group["items"]:
                policy_of(request).sign(item)  # the thumbnails the page shows need their access codes
        return out

    # Status and jobs leave out what their records leave out (a path_b64 for a path that is UTF-8), as
    # `anyseek status --json` does; a hit keeps its fixed keys, as it always has over HTTP.
    @router.get("/status", response_model=StatusOut, response_model_exclude_unset=True, dependencies=[Depends(reader)])
    def status(request: Request) -> dict:
        return _service(request).engine.status().to_dict(exact=True)

    @router.post(
        "/jobs/index",
        status_code=202,
        response_model=JobOut,
        response_model_exclude_unset=True,
        dependencies=[Depends(writer)],
    )
    def start_job(body: IndexJobRequest, request: Request) -> dict:
        if "\x00" in body.path or not body.path.startswith("/"):
            raise ApiError(422, "invalid_request", "path: give an absolute folder path")
        return _service(request).jobs.start([body.path], prune=body.prune).to_dict()

    @router.post(
        "/jobs/records",
        status_code=202,
        response_model=JobOut,
        response_model_exclude_unset=True,
        dependencies=[Depends(writer)],
    )
    def start_records_job(body: RecordsJobRequest, request: Request) -> dict:
        if "\x00" in body.manifest or not body.manifest.startswith("/"):
            raise ApiError(422, "invalid_request", "manifest: give the absolute path of a JSONL or CSV file")
        return _service(request).jobs.start_records(body.manifest, body.label_field).to_dict()

    @router.get("/jobs", response_model=list[JobOut], response_model_exclude_unset=True, dependencies=[Depends(reader)])
    def list_jobs(request: Request) -> list[dict]:
        return [job.to_dict() for job in _service(request).jobs.list()]

    @router.get(
        "/jobs/{job_id}", response_model=JobOut, response_model_exclude_unset=True, dependencies=[Depends(reader)]
    )
    def get_job(job_id: JobId, request: Request) -> dict:
        return _service(request).jobs.get(job_id).to_dict()

    @router.get(
        "/jobs/{job_id}/events",
        dependencies=[Depends(reader)],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    def job_events(job_id: JobId, request: Request) -> StreamingResponse:
        svc = _service(request)
        svc.jobs.get(job_id)  # 404 before the stream starts
        return StreamingResponse(
            _events(svc, job_id), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @router.delete(
        "/jobs/{job_id}",
        status_code=202,
        response_model=JobOut,
        response_model_exclude_unset=True,
        dependencies=[Depends(writer)],
    )
    def cancel_job(job_id: JobId, request: Request) -> dict:
        return _service(request).jobs.cancel(job_id).to_dict()

    return router


def _signed(request: Request, response: dict) -> dict:
    """Each hit's file URLs with their access codes (security.py: why <img> and <audio> need them)."""
    for hit in response["hits"]:
        policy_of(request).sign(hit)
    return response


def _stream(opened, start: int, end: int):
    try:
        position = start
        while position <= end:
            data = opened.read(position, min(STREAM_CHUNK, end - position + 1))
            if not data:
                break  # the file shrank while being sent: stop short rather than invent bytes
            position += len(data)
            yield data
    finally:
        opened.close()


async def _events(svc: Service, job_id: str):
    """One `data:` line of the job's state on each change, until it finishes (StreamingResponse stops it
    when the client leaves)."""
    revision, quiet = -1, 0.0
    while not svc.stopping.is_set():
        state = svc.jobs.get(job_id)
        if state.revision != revision:
            revision, quiet = state.revision, 0.0
            yield f"event: job\ndata: {json.dumps(state.to_dict())}\n\n"
            if state.finished_state:
                return
        elif quiet >= SSE_KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(SSE_POLL_S)
        quiet += SSE_POLL_S
