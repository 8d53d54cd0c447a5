"""Request and response shapes of the HTTP API. The engine's records are the shapes (server/models.py
derives each model from its record); what is here is only what the HTTP API adds to them: links, timings,
the limits a public endpoint puts on a request, and the names it accepted before 0.2."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator

from anyseek.engine.duplicates.records import DuplicateReport
from anyseek.engine.jobs import JobState
from anyseek.engine.records import Hit, IndexStatus, ItemInfo, Modality, PartHit, SearchResults
from anyseek.engine.request import RENAMED, SearchRequest
from anyseek.server.models import derive, model_of

log = logging.getLogger(__name__)

API = "/api/v1"
MAX_K = 1000
MAX_OFFSET = 10_000
MAX_TEXT = 4096
MAX_VECTOR = 8192  # numbers in a query vector: the widest CLIP (ViT-bigG) has 1280 dimensions
# The HTTP API's old names of search options (engine/request.py's RENAMED), still read in 0.2
HTTP_RENAMED = ("q", "types", "like_path")
_warned: set[str] = set()
ModalityName = Literal["image", "text", "audio", "video"]
TierName = Literal["exact", "duplicate", "similar"]
MAX_GROUPS = 1000  # duplicate groups per page


def renamed(data: dict[str, Any]) -> dict[str, Any]:
    """A body or form with the old names of its options replaced by the new ones; the server's log says
    so, once per name. Both names at once is a mistake (ValueError: a 422 with this message)."""
    data = dict(data)
    for old in HTTP_RENAMED:
        if data.get(old) is None:
            data.pop(old, None)
            continue
        new = RENAMED[old]
        if data.get(new) is not None:
            raise ValueError(f"give {new} or {old} (its old name), not both")
        if old not in _warned:
            _warned.add(old)
            log.warning("a client sends %r, the old name of %r (accepted until 0.3)", old, new)
        data[new] = data.pop(old)
    return data


def _document_old_names(schema: dict[str, Any]) -> None:
    for old in HTTP_RENAMED:
        schema["properties"][old] = {"deprecated": True, "description": f"Old name of `{RENAMED[old]}` (until 0.3)"}


class _SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=lambda schema, _model: _document_old_names(schema))

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        return renamed(data) if isinstance(data, dict) else data

    def to_request(self) -> SearchRequest:
        # every term of the query is text: a client never names files on the server's machine
        return dataclasses.replace(SearchRequest.from_dict(self.model_dump()), query_files=False)


SearchBody = derive(
    SearchRequest,
    "SearchRequest",
    base=_SearchBody,
    # a public endpoint bounds what one request may cost; the record itself has no upper limits
    limits={
        "query": {"max_length": MAX_TEXT},
        "modalities": {"max_length": len(Modality)},
        "path": {"max_length": MAX_TEXT},
        "k": {"le": MAX_K},
        "offset": {"le": MAX_OFFSET},
        "after": {"max_length": 64},
        "before": {"max_length": 64},
        "weights": {"max_length": 64},
        "vector": {"max_length": MAX_VECTOR},
    },
    replace={
        # records: the values are few, so a wrong one is a 422 of the body's own (the engine checks them too)
        "fusion": (Literal["early", "late"] | None, Field(None, description="Records: early or late fusion")),
        "join": (
            Literal["sum", "max", "mean"] | None,
            Field(None, description="Records, late fusion: how part scores join (sum, max or mean)"),
        ),
        "like": (
            Annotated[int, Field(ge=1, le=2**62)] | Annotated[str, Field(max_length=MAX_TEXT)] | None,
            Field(None, description="More like this indexed item: its id, or its path (looked up, never read)"),
        ),
    },
    defaults={"k": 20},  # the API's default since v1: a page of results (Python and the CLI: 10)
)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


# What the HTTP API adds to an item or a hit: where a front end gets its file and its picture
# (a record's hit has no media_url: its files are its parts')
LINKS = {"name": (str, ...), "thumbnail_url": (str | None, ...), "media_url": (str | None, ...)}

# A record's file part: its own file and picture, served under the record's item id (?part=FIELD)
PartOut = derive(PartHit, "PartHit", tail={"thumbnail_url": (str | None, None), "media_url": (str | None, None)})
HitOut = derive(Hit, "Hit", tail=LINKS, replace={"parts": (list[PartOut], Field(default_factory=list))})
SearchResponse = derive(
    SearchResults,
    "SearchResponse",
    head={"version": (int, 1), "query": (str | None, ...), "took_ms": (float, ...)},
    replace={"hits": (list[HitOut], ...)},
    exclude=frozenset({"warnings"}),  # about files on the client's machine, which the server never reads
)
ItemOut = derive(ItemInfo, "Item", tail=LINKS)
JobOut = derive(JobState, "Job")
StatusOut = model_of(IndexStatus)


class IndexJobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., min_length=1, max_length=4096, description="An absolute folder or file path")
    prune: bool = False


class RecordsJobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest: str = Field(
        ..., min_length=1, max_length=4096, description="The absolute path of a record manifest (JSONL or CSV)"
    )
    label_field: str = Field("label", min_length=1, max_length=256, description="The field of a record's class")


class HealthOut(BaseModel):
    status: str
    version: str
    instance: str


def links(item_id: int, path: str, modality: Modality | str | None) -> dict[str, str | None]:
    thumb = f"{API}/items/{item_id}/thumbnail" if modality == Modality.IMAGE else None
    return {"name": os.path.basename(path), "thumbnail_url": thumb, "media_url": f"{API}/items/{item_id}/media"}


def part_urls(item_id: int, field: str, modality: str | None) -> tuple[str | None, str]:
    query = f"?part={quote(field, safe='')}"
    thumb = f"{API}/items/{item_id}/thumbnail{query}" if modality == "image" else None
    return thumb, f"{API}/items/{item_id}/media{query}"


def hit_out(hit: Hit) -> dict:
    # exact scores (JSON floats round-trip), so a client prints exactly what the engine computed
    out = hit.to_dict(exact=True) | links(hit.item_id, hit.path, hit.modality)
    return _record_out(hit, out) if hit.record_id is not None else out


def _record_out(hit: Hit, out: dict) -> dict:
    """A record's hit: named by its id; its file parts link their own files, and its picture is its first
    picture part's (a record has no file of its own)."""
    out["name"] = hit.record_id
    for part, data in zip(hit.parts, out["parts"], strict=True):
        if part.kind == "file" and not part.error:
            data["thumbnail_url"], data["media_url"] = part_urls(hit.item_id, part.field, data["modality"])
    pictures = [p for p in out["parts"] if p.get("thumbnail_url")]
    out["thumbnail_url"], out["media_url"] = (pictures[0]["thumbnail_url"] if pictures else None), None
    return out


def item_out(info: ItemInfo) -> dict:
    return info.to_dict(exact=True) | links(info.item.id, info.item.display_path, info.item.modality)


def duplicates_out(report: DuplicateReport, limit: int) -> dict:
    """A page of duplicate groups; each file with its links, as a hit has them (a front end shows them)."""
    data = report.to_dict()
    for group in data["groups"]:
        for item in group["items"]:
            item.update(links(item["item_id"], item["path"], group["kind"]))
    return data | {"limit": limit}


def search_out(results: SearchResults, query: str | None, took_ms: float) -> dict:
    hits = [hit_out(h) for h in results.hits]
    return {"version": 1, "query": query, "took_ms": took_ms, "transcripts": list(results.transcripts), "hits": hits}
