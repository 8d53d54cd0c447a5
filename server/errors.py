"""Errors as the API returns them: `{"error": {"code": "...", "message": "one line for people"}}`.

An engine error answers with the status and stable code its class declares (engine/errors.py); anything
unexpected is a 500 whose message says nothing about the server's insides (the traceback goes to the
server's log)."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from anyseek.engine import errors as E

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """An error with its code. A subclass of HTTPException, so FastAPI's body parsing lets it through."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media",
    416: "range_not_satisfiable",
    422: "invalid_request",
}


def from_engine(exc: E.AnyseekError) -> ApiError:
    """The status and code the error's class declares (engine/errors.py); the message on one line."""
    return ApiError(exc.http_status, exc.code, " ".join(str(exc).split()) or exc.code)


def _response(error: ApiError, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return _response(exc, exc.headers)


async def _engine_error(_request: Request, exc: E.AnyseekError) -> JSONResponse:
    return _response(from_engine(exc))


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return _response(ApiError(exc.status_code, code, message), getattr(exc, "headers", None))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
    return _response(ApiError(422, "invalid_request", message))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return _response(ApiError(500, "internal", "internal error; the server log has the details"))


def install(app) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(E.AnyseekError, _engine_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
