"""One record per concept: each record's JSON form is declared once (engine/wire.py), and the CLI's JSON,
the HTTP API's models and OpenAPI schema, and the CLI's reading of a server's answers all follow it; each
error class declares its own code and statuses, and every front end reports exactly those."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import pytest
import typer

from anyseek import SearchRequest
from anyseek.engine import errors as E
from anyseek.engine.jobs import JobState, JobStatus
from anyseek.engine.records import (
    Chunk,
    ChunkKind,
    FileError,
    Hit,
    IndexReport,
    IndexStatus,
    ItemInfo,
    Modality,
    Mode,
    Moment,
    SearchResults,
    Space,
)
from anyseek.engine.wire import json_fields
from anyseek.server.app import create_app
from anyseek.server.errors import from_engine
from anyseek.server.schemas import HTTP_RENAMED, LINKS, hit_out
from anyseek.server.security import AccessPolicy

NOT_UTF8 = b"/media/caf\xe9/photo.jpg"  # Latin-1 bytes: not valid UTF-8


def a_hit(**changes) -> Hit:
    moments = (Moment(2.0, 4.5, 0.812345678, ChunkKind.FRAME), Moment(9.0, 11.0, 0.7, ChunkKind.SPEECH))
    fields = dict(
        item_id=7,
        path="/media/caf\ufffd/photo.jpg",
        modality=Modality.VIDEO,
        score=0.123456789123,
        similarity=0.3141592653589793,
        chunk_id=12,
        snippet="a walk by the sea",
        start=2.0,
        end=4.5,
        route="joint+lexical",
        captured_at=1714557300.0,  # whole seconds: JSON carries capture dates as ISO 8601 to the second
        moments=moments,
        raw_path=NOT_UTF8,
    )
    return Hit(**(fields | changes))


def keys(record: type) -> set[str]:
    return {found.key for found in json_fields(record)}


@pytest.fixture(scope="module")
def schema() -> dict:
    # the schema only: no route is called, so the app needs no engine behind it
    app = create_app(SimpleNamespace(twin=None), AccessPolicy("t" * 43, "127.0.0.1", 8765, 1024))
    return app.openapi()["components"]["schemas"]


# --- one shape per record ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "component, record, added",
    [
        ("Hit", Hit, set(LINKS)),
        ("Moment", Moment, set()),
        ("Item", ItemInfo, set(LINKS)),
        ("Chunk", Chunk, set()),
        ("Job", JobState, set()),
        ("IndexReport", IndexReport, set()),
        ("FileError", FileError, set()),
        ("IndexStatus", IndexStatus, set()),
    ],
)
def test_the_openapi_schema_has_exactly_the_records_fields(schema, component, record, added):
    assert set(schema[component]["properties"]) == keys(record) | added


def test_the_search_body_is_the_search_requests_sendable_fields_plus_the_old_names(schema):
    properties = schema["SearchRequest"]["properties"]
    assert set(properties) == keys(SearchRequest) | set(HTTP_RENAMED)
    assert all(properties[old]["deprecated"] for old in HTTP_RENAMED)
    assert properties["k"]["minimum"] == 1 and properties["min_score"]["anyOf"][0]["maximum"] == 1
    assert not {"image", "audio", "parts", "text", "spaces", "query_files"} & set(properties)  # never sent


def test_a_hit_survives_the_http_api_exactly():
    hit = a_hit()
    over_the_wire = json.loads(json.dumps(hit_out(hit)))
    assert Hit.from_dict(over_the_wire) == hit
    assert over_the_wire["path_b64"] and over_the_wire["captured_at"] == "2024-05-01T09:55:00Z"


def test_a_hit_with_nothing_optional_survives_too():
    hit = Hit(1, "/a.jpg", Modality.IMAGE, 0.5, None, 3, raw_path=b"/a.jpg")
    assert Hit.from_dict(json.loads(json.dumps(hit.to_dict(exact=True)))) == hit


def test_the_clis_json_of_a_hit_keeps_its_keys_and_rounds_scores_for_people():
    compact = a_hit().to_dict()
    assert compact["score"] == 0.123457 and compact["moments"][0]["score"] == 0.812346
    assert set(compact) == {
        "item_id", "path", "modality", "score", "similarity", "route", "chunk_id", "snippet", "start", "end",
        "char_start", "char_end", "page", "slide", "sheet", "row", "row_end", "captured_at", "moments", "path_b64",
    }  # fmt: skip
    plain = Hit(1, "/a.jpg", Modality.IMAGE, 0.5, 0.2, 3, raw_path=b"/a.jpg").to_dict()
    assert "moments" not in plain and "path_b64" not in plain  # left out while empty, as before


def test_search_results_status_reports_and_jobs_round_trip():
    results = SearchResults((a_hit(), a_hit(item_id=8, path="/b", moments=(), raw_path=b"/b")), ("heard this",), ("w",))
    assert SearchResults.from_dict(json.loads(json.dumps(results.to_dict(exact=True)))) == results
    report = IndexReport(scanned=3, added=2, failed=1, errors=[FileError("/x\ufffd", "truncated", b"/x\xff")])
    status = IndexStatus(
        "/idx", 4, {"joint_model": "m"}, {"joint": {"dim": 4}}, {"image": 2}, {"image": 2}, {"joint": 2}, 1, 0,
        123, {"command": "index", "stats": report.to_dict()}, list(report.errors), {"device": "cpu"},
    )  # fmt: skip
    assert IndexStatus.from_dict(json.loads(json.dumps(status.to_dict()))) == status
    job = JobState("ab12", ("/m",), JobStatus.COMPLETED, "finishing", 3, 3, 1, 2.5, "", tuple(report.errors), report)
    assert JobState.from_dict(json.loads(json.dumps(job.to_dict()))) == job


def test_an_item_is_sent_with_its_chunks_and_without_what_only_the_indexer_needs():
    from anyseek.engine.records import Item, ItemStatus

    item = Item(3, b"/m/notes.txt", Modality.TEXT, 120, 1_700_000_000_500_000_000, "h", ItemStatus.OK, None, 5.0)
    chunk = Chunk(ChunkKind.PASSAGE, 0, "hello", 0, 5, id=9, page=None)
    data = ItemInfo(item, (chunk,)).to_dict()
    assert data == {
        "item_id": 3, "path": "/m/notes.txt", "modality": "text", "size": 120, "mtime": 1_700_000_000.5,
        "indexed_at": 5.0,
        "chunks": [{"kind": "passage", "text": "hello", "char_start": 0, "char_end": 5, "start": None, "end": None,
                    "chunk_id": 9}],
    }  # fmt: skip


# --- the search request ---------------------------------------------------------------------------
def test_a_search_request_sent_to_a_server_reads_back_the_same():
    request = SearchRequest(
        query="dog + 2:beach - cartoon",
        like="/m/a.jpg",
        k=5,
        offset=10,
        modalities=["Image", "text"],
        path="/m",
        min_similarity=0.1,
        min_score=0.3,
        mode="dense",
        after="2024-05-01",
    )
    assert request.modalities == (Modality.IMAGE, Modality.TEXT) and request.mode is Mode.DENSE
    assert SearchRequest.from_dict(json.loads(json.dumps(request.to_dict()))) == request
    assert request.sendable and not SearchRequest(text="x").sendable and not SearchRequest(spaces=["text"]).sendable


@pytest.mark.parametrize(
    "options, message",
    [
        ({"k": 0}, "k (the number of results) must be a whole number of at least 1, not 0"),
        ({"k": True}, "at least 1"),
        ({"offset": -1}, "offset (the hits to skip) must be a whole number of at least 0"),
        ({"min_similarity": 2}, "min_similarity is a cosine similarity, between -1 and 1, not 2"),
        ({"min_score": 1.5}, "min_score is a calibrated score, between 0 and 1, not 1.5"),
        ({"min_score": float("nan")}, "between 0 and 1"),
        ({"modalities": ["movie"]}, "unknown type 'movie'"),
        ({"mode": "fuzzy"}, "search mode must be one of hybrid, dense, lexical, got 'fuzzy'"),
        ({"spaces": ["pixels"]}, "spaces must be among joint, text"),
        ({"after": "last tuesday"}, "after: 'last tuesday' is not a date"),
        ({"text": 123}, "text must be a string, not int"),
        ({"like": 1.5}, "like is an item id or the path of an indexed file"),
    ],
)
def test_a_search_request_refuses_bad_options_with_one_message(options, message):
    with pytest.raises(E.QueryError) as raised:
        SearchRequest(**options)
    assert message in str(raised.value)


def test_spaces_are_spaces():
    assert SearchRequest(spaces=["text"]).spaces == (Space.TEXT,)


# --- errors -----------------------------------------------------------------------------------------
def every_error() -> list[type[E.AnyseekError]]:
    found, pending = [], [E.AnyseekError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return list(dict.fromkeys(found))  # a class with two error bases is found twice


def test_every_declared_error_code_is_distinct_and_names_its_class():
    declaring = [kind for kind in every_error() if "code" in vars(kind)]
    assert len({kind.code for kind in declaring}) == len(declaring)
    for kind in every_error():
        assert issubclass(kind, E.by_code(kind.code)) and E.by_code(kind.code).code == kind.code
    assert E.by_code("internal") is E.AnyseekError and E.by_code(None) is E.AnyseekError


@pytest.mark.parametrize("kind", every_error(), ids=lambda kind: kind.__name__)
def test_the_server_and_the_cli_report_an_error_as_its_class_declares(kind):
    error = (
        kind("/q.jpg", "something\nwent wrong") if kind is E.UnreadableQueryFileError else kind("something\nwent wrong")
    )
    api = from_engine(error)
    assert (api.status, api.code, api.message) == (kind.http_status, kind.code, " ".join(str(error).split()))

    from anyseek.cli import usage
    from anyseek.cli.app import friendly

    @friendly
    def command():
        raise error

    # a usage error (a bad value given) leaves through click's UsageError, whose exit status is 2
    with pytest.raises((typer.Exit, usage.click_module("exceptions").UsageError)) as exited:
        command()
    assert getattr(exited.value, "exit_code", None) == kind.exit_status


# --- old names ------------------------------------------------------------------------------------
def test_as_dict_is_the_old_name_of_to_dict():
    report = IndexReport(scanned=2)
    with pytest.warns(DeprecationWarning, match="to_dict"):
        assert report.as_dict() == report.to_dict()


def test_path_prefix_is_the_old_name_of_path():
    from anyseek.engine.request import search_request

    with pytest.warns(DeprecationWarning, match="path_prefix is deprecated; use path"):
        assert search_request("red", path_prefix="/m") == SearchRequest(text="red", path="/m")
    with warnings.catch_warnings(), pytest.raises(E.QueryError, match="not both"):
        warnings.simplefilter("ignore")
        search_request("red", path_prefix="/m", path="/n")
