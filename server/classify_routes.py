"""HTTP routes for classifying and aligning records: parse the body, call Engine.classify or Engine.align,
return their records as JSON. The records come inline (rows as `index --records` reads them, file parts
named by absolute paths on this machine) or as the absolute path of a manifest here.

They read the index (its labelled records, its calibration) and write nothing, so they need what a search
needs; they take the search lock, since they measure against the same vector catalog.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from anyseek.server.errors import ApiError
from anyseek.server.security import reader

MAX_ROWS = 10_000
Row = dict[str, Any]


class RecordsIn(BaseModel):
    """Records inline or a manifest on this machine, not both."""

    model_config = ConfigDict(extra="forbid")

    records: list[Row] | None = Field(None, max_length=MAX_ROWS, description="Rows with an id and their fields")
    manifest: str | None = Field(None, max_length=4096, description="Or: an absolute path to a JSONL or CSV manifest")
    label_field: str = Field("label", min_length=1, max_length=256)

    def source(self, what: str = "records") -> object:
        if (self.records is None) == (self.manifest is None):
            raise ApiError(422, "invalid_request", f"{what}: give records (rows) or manifest (a path), one of them")
        if self.manifest is not None:
            return _absolute(self.manifest, "manifest")
        return self.records


class ClassifyRequest(RecordsIn):
    labels: list[str] | None = Field(None, max_length=1000, description="Zero-shot labels; without: few-shot")
    examples: list[Row] | None = Field(None, max_length=MAX_ROWS, description="Labelled rows to learn from")
    examples_manifest: str | None = Field(None, max_length=4096, description="Or: a labelled manifest here")
    fusion: Literal["early", "late"] | None = None
    join: Literal["sum", "max", "mean"] | None = None
    weights: dict[str, float] | None = Field(None, description='Field weights, {"caption": 0.3}')
    top: int | None = Field(None, ge=1, le=1000, description="Labels kept per prediction, best first")


class AlignRequest(RecordsIn):
    manifest: str | None = Field(
        None, max_length=4096, description="Or: an absolute path to a manifest, or to `anyseek train` pairs"
    )
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="Flag agreement below this (default 0.1)")


class PredictionOut(BaseModel):
    id: str
    label: str
    probability: float
    scores: dict[str, float]


class ClassifyResponse(BaseModel):
    version: int = 1
    predictions: list[PredictionOut]
    method: Literal["zero-shot", "few-shot"]
    fusion: Literal["early", "late"]
    labels: list[str]
    examples: int
    errors: list[str]
    warnings: list[str]


class AgreementOut(BaseModel):
    id: str
    agreement: float | None
    flagged: bool


class AlignResponse(BaseModel):
    version: int = 1
    records: list[AgreementOut]
    threshold: float
    errors: list[str]
    warnings: list[str]


def router(service) -> APIRouter:
    """`service(request)` is the app's shared Service (its Engine and its search lock)."""
    routes = APIRouter()

    @routes.post("/classify", response_model=ClassifyResponse, dependencies=[Depends(reader)])
    async def classify(body: ClassifyRequest, request: Request) -> dict:
        svc = service(request)
        records = body.source()
        if body.examples is not None and body.examples_manifest is not None:
            raise ApiError(422, "invalid_request", "give examples (rows) or examples_manifest (a path), not both")
        examples = body.examples if body.examples_manifest is None else _absolute(body.examples_manifest, "examples")

        def run() -> dict:
            with svc.search_lock:
                result = svc.engine.classify(
                    records,
                    body.labels,
                    examples,
                    body.fusion,
                    join=body.join,
                    weights=body.weights,
                    label_field=body.label_field,
                    top=body.top,
                )
            return {
                **result.to_dict(),
                "method": result.method,
                "fusion": result.fusion,
                "labels": list(result.labels),
                "examples": result.examples,
                "errors": list(result.errors),
                "warnings": list(result.warnings),
            }

        return await run_in_threadpool(run)

    @routes.post("/align", response_model=AlignResponse, dependencies=[Depends(reader)])
    async def align(body: AlignRequest, request: Request) -> dict:
        svc = service(request)
        records = body.source()

        def run() -> dict:
            with svc.search_lock:
                report = svc.engine.align(records, body.threshold, label_field=body.label_field)
            return {
                **report.to_dict(),
                "threshold": report.threshold,
                "errors": list(report.errors),
                "warnings": list(report.warnings),
            }

        return await run_in_threadpool(run)

    return routes


def _absolute(path: str, what: str) -> str:
    if "\x00" in path or not path.startswith("/"):
        raise ApiError(422, "invalid_request", f"{what}: give an absolute path to a file on the server's machine")
    return path
