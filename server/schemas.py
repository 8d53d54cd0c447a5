"""Request and response shapes of the HTTP API (pydantic), and their conversion from engine records."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from anyseek.engine.records import Hit, SearchResults

API = "/api/v1"
ModalityName = Literal["image", "text", "audio", "video"]
ModeName = Literal["hybrid", "dense", "lexical"]
SortName = Literal["relevance", "date"]
MAX_K = 1000
MAX_OFFSET = 10_000
TierName = Literal["exact", "duplicate", "similar"]
MAX_GROUPS = 1000  # duplicate groups per page


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, max_length=4096, description="Query syntax, every term taken as text")
    like: int | None = Field(None, ge=1, le=2**62, description="More like this indexed item (id)")
    like_path: str | None = Field(None, max_length=4096, description="More like this indexed file (its path)")
    types: list[ModalityName] = Field(default_factory=list, max_length=4)
    path: str | None = Field(None, max_length=4096, description="Only files under this path prefix")
    k: int = Field(20, ge=1, le=MAX_K)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="Drop hits whose calibrated score (0-1) is lower")
    min_similarity: float | None = Field(None, ge=-1.0, le=1.0, description="Drop chunks with a lower cosine")
    mode: ModeName | None = Field(None, description="hybrid (default), dense or lexical")
    after: str | None = Field(None, max_length=64, description="Only items captured on or after (2024-05-01)")
    before: str | None = Field(None, max_length=64, description="Only items captured before this date")
    sort: SortName = Field("relevance", description="relevance, or date: the hits above min_score, newest first")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class MomentOut(BaseModel):
    start: float
    end: float
    score: float
    kind: str


class HitOut(BaseModel):
    item_id: int
    path: str
    name: str
    modality: str
    score: float
    similarity: float | None
    chunk_id: int
    snippet: str | None
    start: float | None
    end: float | None
    char_start: int | None
    char_end: int | None
    thumbnail_url: str | None
    media_url: str
    route: str = ""
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    row: int | None = None
    row_end: int | None = None
    captured_at: str | None = None
    moments: list[MomentOut] = Field(default_factory=list)
    path_b64: str | None = None


class SearchResponse(BaseModel):
    version: int = 1
    query: str | None
    transcripts: list[str]
    took_ms: float
    hits: list[HitOut]


class ChunkOut(BaseModel):
    chunk_id: int
    kind: str
    text: str | None
    start: float | None
    end: float | None
    char_start: int | None
    char_end: int | None


class ItemOut(BaseModel):
    item_id: int
    path: str
    name: str
    modality: str
    size: int
    mtime: float
    indexed_at: float
    chunks: list[ChunkOut]
    thumbnail_url: str | None
    media_url: str


class IndexJobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., min_length=1, max_length=4096, description="An absolute folder or file path")
    prune: bool = False


class JobOut(BaseModel):
    job_id: str
    paths: list[str]
    state: Literal["running", "completed", "cancelled", "failed"]
    phase: str
    files_done: int
    files_total: int | None
    failed: int
    rate: float
    current: str
    errors: list[dict[str, str]]
    report: dict | None
    message: str
    started: float
    finished: float | None
    revision: int


class HealthOut(BaseModel):
    status: str
    version: str
    instance: str


def urls(item_id: int, modality: str) -> tuple[str | None, str]:
    thumb = f"{API}/items/{item_id}/thumbnail" if modality == "image" else None
    return thumb, f"{API}/items/{item_id}/media"


def hit_out(hit: Hit) -> dict:
    out = hit.to_dict()
    # full precision (JSON floats round-trip), so a client prints exactly what the engine computed
    out["score"] = float(hit.score)
    out["similarity"] = None if hit.similarity is None else float(hit.similarity)
    out["name"] = os.path.basename(hit.path)
    out["thumbnail_url"], out["media_url"] = urls(hit.item_id, str(hit.modality))
    return out


def search_out(results: SearchResults, query: str | None, took_ms: float, offset: int, min_score: float) -> dict:
    hits = [hit_out(h) for h in results.hits[offset:] if h.score >= min_score]
    return {"version": 1, "query": query, "transcripts": list(results.transcripts), "took_ms": took_ms, "hits": hits}
