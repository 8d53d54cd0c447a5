"""Records over HTTP: a records job, record hits with their parts and the parts' media, and the errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.server_helpers import API, AUTH, client_for, wait_job


@pytest.fixture(scope="module")
def served(tmp_path_factory, encoders):
    from anyseek.engine import Engine
    from tests.conftest import TEST_SETTINGS

    folder = Path(shutil.copytree(FIXTURES / "tickets", tmp_path_factory.mktemp("tickets") / "tickets"))
    engine = Engine.open(tmp_path_factory.mktemp("index"), encoders=encoders, **TEST_SETTINGS)
    with client_for(engine) as client:
        body = {"manifest": str(folder / "tickets.csv"), "label_field": "team"}
        response = client.post(f"{API}/jobs/records", json=body, headers=AUTH)
        assert response.status_code == 202, response.text
        job = wait_job(client, response.json()["job_id"])
        assert job["state"] == "completed", job
        assert job["paths"] == [str(folder / "tickets.csv")] and job["report"]["added"] == 6
        yield client, folder
    engine.close()


def search(client, **body) -> list[dict]:
    response = client.post(f"{API}/search", json=body)
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def test_record_hits_carry_their_parts_with_urls(served):
    client, folder = served
    (hit,) = search(client, q="I was charged twice for an invoice", types=["record"], k=1)
    assert (hit["modality"], hit["record_id"], hit["label"], hit["metadata"]) == (
        "record",
        "T-102",
        "billing",
        {"priority": 2},
    )
    assert hit["media_url"] is None and "/thumbnail?part=screenshot&access=" in hit["thumbnail_url"]
    parts = {p["field"]: p for p in hit["parts"]}
    assert parts["description"]["kind"] == "text" and parts["description"]["media_url"] is None
    assert parts["voice"]["media_url"].startswith(f"{API}/items/{hit['item_id']}/media?part=voice&access=")
    assert parts["screenshot"]["path"] == str(folder / "screenshots" / "T-102.png")
    assert max(hit["parts"], key=lambda p: p["score"])["field"] == "description"


def test_a_parts_media_and_thumbnail_are_served_and_a_record_has_none(served):
    client, folder = served
    (hit,) = search(client, q="the VAT number is missing", types=["record"], k=1)
    item = hit["item_id"]
    voice = client.get(f"{API}/items/{item}/media?part=voice", headers={"Range": "bytes=0-3"})
    assert voice.status_code == 206 and voice.content == b"OggS"
    full = client.get(f"{API}/items/{item}/media?part=screenshot")
    assert full.content == (folder / "screenshots" / "T-105.png").read_bytes()
    assert full.headers["content-type"] == "image/png"
    thumb = client.get(f"{API}/items/{item}/thumbnail?part=screenshot&size=64")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert client.get(f"{API}/items/{item}/media?part=description").status_code == 404
    assert client.get(f"{API}/items/{item}/media?part=nope").status_code == 404
    assert client.get(f"{API}/items/{item}/thumbnail?part=voice").status_code == 404
    assert client.get(f"{API}/items/{item}/media").status_code == 410


def test_fusion_options_and_the_record_type_over_http(served):
    client, _ = served
    # the tests' joint model is random, and a ticket with a picture is fused in the joint space: early
    # fusion is asked for and used here, its ranking is tested on text records (test_record_search.py)
    early = search(client, q="notifications arrive late", types=["record"], k=6, fusion="early")
    assert len(early) == 6 and all(h["route"].startswith("fused:joint") for h in early)
    late = search(client, q="notifications arrive late", types=["record"], k=1)
    weighted = search(client, q="notifications arrive late", types=["record"], k=6, weights={"description": 0})
    assert late[0]["record_id"] == "T-104"
    assert next(h for h in weighted if h["record_id"] == "T-104")["score"] < late[0]["score"]
    bad = client.post(f"{API}/search", json={"q": "x", "fusion": "middle"})
    assert bad.status_code == 422


def test_the_item_of_a_record_names_each_chunks_part(served):
    client, _ = served
    (hit,) = search(client, q="dashboard blank after update", types=["record"], k=1)
    item = client.get(f"{API}/items/{hit['item_id']}").json()
    assert {c["field"] for c in item["chunks"]} == {"description", "screenshot", None}


def test_a_broken_manifest_fails_its_job_with_one_line(served, tmp_path):
    client, _ = served
    (tmp_path / "empty.csv").write_text("id,text\n")
    job = client.post(f"{API}/jobs/records", json={"manifest": str(tmp_path / "empty.csv")}, headers=AUTH).json()
    done = wait_job(client, job["job_id"])
    assert done["state"] == "failed" and "holds no records" in done["message"] and "\n" not in done["message"]
    relative = client.post(f"{API}/jobs/records", json={"manifest": "tickets.csv"}, headers=AUTH)
    assert relative.status_code == 422
    wrong = {"Authorization": "Bearer " + "x" * 43}
    assert client.post(f"{API}/jobs/records", json={"manifest": "/x.csv"}, headers=wrong).status_code == 401
