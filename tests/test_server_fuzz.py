"""Property-based fuzz of the whole OpenAPI schema (schemathesis): every operation, with inputs the schema
allows and inputs it forbids, bounded in examples. No request may get a server error (5xx), and every
JSON error has the documented shape."""

from __future__ import annotations

import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from tests.server_helpers import AUTH, BASE, PORT, TOKEN

EXAMPLES = 20  # per operation and mode: ~15 operations x 2 modes x 20 requests
HOST = {"Host": f"127.0.0.1:{PORT}"}


@pytest.fixture(scope="module")
def operations(indexed):
    from anyseek.server.app import create_app
    from anyseek.server.security import AccessPolicy

    engine, _ = indexed
    app = create_app(engine, AccessPolicy(TOKEN, "127.0.0.1", PORT, 256 * 1024))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=HOST)
    found = [result.ok() for result in schema.get_all_operations()]
    # an index job would index whatever folder the fuzzer names: jobs have their own tests (cancel is fuzzed)
    return [op for op in found if not (op.method.upper() == "POST" and op.path.endswith("/jobs/index"))]


def test_the_schema_covers_every_endpoint(operations):
    paths = {op.path for op in operations}
    assert {"/api/v1/search", "/api/v1/search/upload", "/api/v1/items/{item_id}/media", "/api/v1/status"} <= paths
    assert len(operations) >= 10


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_a_server_error(operations, mode):
    failures, ran = [], 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case):
            nonlocal ran
            ran += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                response = case.call(base_url=BASE, headers={**AUTH, **HOST})
            assert response.status_code < 500, (case.method, case.path, case.body, response.text[:200])
            content_type = response.headers.get("content-type") or [""]  # schemathesis: a list per header
            if response.status_code >= 400 and content_type[0].startswith("application/json"):
                error = response.json()["error"]
                assert error["code"] and error["message"] and "\n" not in error["message"]

        try:
            check()
        except Unsatisfiable:
            continue  # an operation with no input that this mode can break (negative mode on GET /status)
        except AssertionError as exc:
            failures.append(str(exc)[:500])
    assert not failures, "\n".join(failures)
    assert ran >= EXAMPLES * 3
