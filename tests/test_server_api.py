"""Every endpoint of the HTTP API on a real index with real models (FastAPI's TestClient: no socket needed to
check what a route answers; tests/test_server_process.py runs a real server)."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from tests.conftest import FIXTURES
from tests.fuzzy import sounds_like
from tests.server_helpers import API, AUTH, client_for


@pytest.fixture(scope="module")
def api(indexed):
    engine, _ = indexed
    with client_for(engine) as client:
        yield client


def paths_of(response) -> list[str]:
    return [os.path.basename(hit["path"]) for hit in response.json()["hits"]]


def search(api, **body):
    response = api.post(f"{API}/search", json=body)
    assert response.status_code == 200, response.text
    return response


def test_health_answers_with_version_and_instance(api):
    body = api.get(f"{API}/health").json()
    assert body["status"] == "ok" and body["version"] and len(body["instance"]) == 32


def test_text_search_finds_the_spoken_sentence_with_its_time(api):
    response = search(api, q="the budget for next year", k=5)
    body = response.json()
    assert body["version"] == 1 and body["query"] == "the budget for next year" and body["took_ms"] > 0
    top = {os.path.basename(h["path"]): h for h in body["hits"][:3]}
    assert "budget.wav" in top
    hit = top["budget.wav"]
    assert hit["modality"] == "audio" and hit["start"] is not None and hit["end"] > hit["start"]
    assert file_url(hit["media_url"]) == f"{API}/items/{hit['item_id']}/media" and hit["thumbnail_url"] is None
    assert hit["name"] == "budget.wav"


def test_image_hits_carry_a_thumbnail_url(api):
    hits = search(api, q="a photo", types=["image"], k=3).json()["hits"]
    assert hits and all(h["modality"] == "image" for h in hits)
    assert all(file_url(h["thumbnail_url"]) == f"{API}/items/{h['item_id']}/thumbnail" for h in hits)


def test_offset_pages_through_one_ranking(api):
    first = [h["item_id"] for h in search(api, q="planning and spending", k=6).json()["hits"]]
    second = [h["item_id"] for h in search(api, q="planning and spending", k=3, offset=3).json()["hits"]]
    assert second == first[3:6]


def test_type_and_path_filters_restrict_hits(api, shared_media):
    hits = search(api, q="watering tomatoes", types=["text"], k=10).json()["hits"]
    assert hits and {h["modality"] for h in hits} == {"text"}
    under = str(shared_media / "photos")
    hits = search(api, q="watering tomatoes", path=under, k=10).json()["hits"]
    assert hits and all(h["path"].startswith(under + "/") for h in hits)


def test_min_score_drops_weaker_hits(api):
    hits = search(api, q="snow on the harbour", k=10).json()["hits"]
    cut = hits[2]["score"]
    kept = search(api, q="snow on the harbour", k=10, min_score=cut).json()["hits"]
    assert kept and all(h["score"] >= cut for h in kept) and len(kept) < len(hits)


def test_like_finds_related_items_and_not_itself(api):
    budget = next(h for h in search(api, q="budget next year", k=5).json()["hits"] if h["name"] == "budget-notes.md")
    hits = search(api, like=budget["item_id"], k=5).json()["hits"]
    assert budget["item_id"] not in [h["item_id"] for h in hits]
    assert "budget.wav" in [h["name"] for h in hits[:3]]
    by_path = search(api, like_path=budget["path"], k=5).json()["hits"]
    assert [h["item_id"] for h in by_path] == [h["item_id"] for h in hits]


def test_file_names_in_a_query_are_only_text(api, shared_media):
    # the server never opens a file a client names: an existing image path is searched as words
    image = shared_media / "photos" / "beach.jpg"
    body = search(api, q=str(image), k=3).json()
    assert body["transcripts"] == [] and len(body["hits"]) == 3


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({}, 400, "bad_query"),
        ({"q": "   "}, 400, "bad_query"),
        ({"q": "- cartoon"}, 400, "bad_query"),
        ({"q": "dog", "k": 0}, 422, "invalid_request"),
        ({"q": "dog", "types": ["movie"]}, 422, "invalid_request"),
        ({"q": "dog", "surprise": 1}, 422, "invalid_request"),
        ({"like": 99999}, 400, "bad_query"),
        ({"like": 1, "like_path": "/x"}, 422, "invalid_request"),
        ({"like_path": "/not/indexed.md"}, 404, "not_found"),
    ],
)
def test_bad_searches_get_one_line_errors(api, body, status, code):
    response = api.post(f"{API}/search", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and "\n" not in error["message"]


def test_image_upload_finds_the_same_photo(api, shared_media):
    data = (shared_media / "photos" / "forest.png").read_bytes()
    response = api.post(f"{API}/search/upload", files={"file": ("x.bin", data, "text/plain")}, data={"k": "3"})
    assert response.status_code == 200, response.text
    assert paths_of(response)[0] == "forest.png"


def test_audio_upload_is_transcribed_and_searched(api, shared_media):
    data = (shared_media / "recordings" / "budget.wav").read_bytes()
    response = api.post(f"{API}/search/upload", files={"file": ("memo", data)}, data={"k": "3", "types": "audio,text"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert sounds_like(" ".join(body["transcripts"]), "The budget for next year was approved by the board.")
    assert "budget.wav" in paths_of(response)


WEATHER = "Tomorrow the weather will be sunny and warm."  # voice.webm's sound: weather.ogg's sentence


def test_a_voice_memo_in_a_video_container_is_a_recording(api):
    """Phones and browsers record speech as WebM/Opus (or MP4): sound and no picture is a recording."""
    data = (FIXTURES / "video" / "voice.webm").read_bytes()
    response = api.post(f"{API}/search/upload", files={"file": ("memo", data)}, data={"k": "3", "types": "audio"})
    assert response.status_code == 200, response.text
    assert sounds_like(" ".join(response.json()["transcripts"]), WEATHER)
    assert "weather.ogg" in paths_of(response)


def test_a_video_upload_is_refused_with_one_line(api):
    data = (FIXTURES / "video" / "silent.webm").read_bytes()
    response = api.post(f"{API}/search/upload", files={"file": ("clip", data)}, data={"k": "3"})
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_media" and "video" in error["message"] and "\n" not in error["message"]


def test_upload_combines_with_text_and_filters(api, shared_media):
    data = (shared_media / "photos" / "city.webp").read_bytes()
    response = api.post(f"{API}/search/upload", files={"file": ("a", data)}, data={"q": "city", "types": "image"})
    assert response.status_code == 200, response.text
    assert {h["modality"] for h in response.json()["hits"]} == {"image"}


def test_item_metadata_lists_its_chunks(api):
    hit = next(h for h in search(api, q="weather", types=["audio"], k=3).json()["hits"])
    item = api.get(f"{API}/items/{hit['item_id']}").json()
    assert item["item_id"] == hit["item_id"] and item["path"] == hit["path"] and item["modality"] == "audio"
    assert item["size"] > 0 and item["mtime"] > 0 and item["thumbnail_url"] is None
    speech = [c for c in item["chunks"] if c["kind"] == "speech"]
    assert speech and all(c["end"] > c["start"] for c in speech)
    assert hit["chunk_id"] in [c["chunk_id"] for c in item["chunks"]]


def test_unknown_item_is_404(api):
    for url in (f"{API}/items/987654", f"{API}/items/987654/media", f"{API}/items/987654/thumbnail"):
        response = api.get(url)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_thumbnail_is_a_small_jpeg_cached_under_the_index(api, indexed):
    engine, _ = indexed
    hit = search(api, q="a picture", types=["image"], k=10).json()["hits"]
    large = next(h for h in hit if h["name"] == "large.jpg")
    response = api.get(f"{API}/items/{large['item_id']}/thumbnail", params={"size": 128})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG" and max(image.size) == 128 and image.size[0] > image.size[1]
    cached = list((engine.home / "thumbnails").glob(f"{large['item_id']}-*-128.jpg"))
    assert len(cached) == 1
    again = api.get(f"{API}/items/{large['item_id']}/thumbnail", params={"size": 128})
    assert again.content == response.content


def test_thumbnail_of_a_recording_is_404_and_bad_sizes_422(api):
    audio = search(api, q="weather", types=["audio"], k=1).json()["hits"][0]
    assert api.get(f"{API}/items/{audio['item_id']}/thumbnail").status_code == 404
    image = search(api, q="x", types=["image"], k=1).json()["hits"][0]
    for size in (0, 8, 5000, -1):
        assert api.get(f"{API}/items/{image['item_id']}/thumbnail", params={"size": size}).status_code == 422


def test_media_serves_the_file_with_ranges(api):
    hit = search(api, q="weather", types=["audio"], k=1).json()["hits"][0]
    url = f"{API}/items/{hit['item_id']}/media"
    whole = open(hit["path"], "rb").read()
    response = api.get(url)
    assert response.status_code == 200 and response.content == whole
    assert response.headers["accept-ranges"] == "bytes" and response.headers["content-type"].startswith("audio/")
    assert response.headers["x-content-type-options"] == "nosniff"
    part = api.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    tail = api.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    open_ended = api.get(url, headers={"Range": f"bytes={len(whole) - 5}-"})
    assert open_ended.content == whole[-5:]
    beyond = api.get(url, headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"
    ignored = api.get(url, headers={"Range": "bytes=0-1,5-6"})  # several ranges: the whole file, as allowed
    assert ignored.status_code == 200 and ignored.content == whole


def test_text_media_is_plain_text_that_cannot_run_as_a_page(api):
    hit = search(api, q="tomatoes", types=["text"], k=1).json()["hits"][0]
    response = api.get(f"{API}/items/{hit['item_id']}/media")
    assert response.headers["content-type"].startswith("text/plain")
    assert "sandbox" in response.headers["content-security-policy"]


def test_status_has_the_facts_of_anyseek_status(api, indexed):
    engine, _ = indexed
    body = api.get(f"{API}/status").json()
    expected = engine.status().as_dict()
    for key in ("home", "schema_version", "models", "items", "chunks", "vectors", "errors", "settings"):
        assert body[key] == expected[key], key


def test_schema_docs_and_page_are_served(api):
    schema = api.get("/openapi.json").json()
    assert {f"{API}/search", f"{API}/search/upload", f"{API}/jobs/index"} <= set(schema["paths"])
    docs = api.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200  # offline: no CDN
    page = api.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_no_cors_headers_are_sent(api):
    response = api.options(
        f"{API}/search", headers={"Origin": "http://127.0.0.1:8765", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers


def test_jobs_refuse_a_wrong_token(api):
    response = api.post(f"{API}/jobs/index", json={"path": "/tmp"}, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert api.delete(f"{API}/jobs/abc", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api.get(f"{API}/jobs/abc", headers=AUTH).status_code == 404


def test_modes_and_words_only_hits_come_through_http(api):
    lexical = search(api, q="tomatoes", mode="lexical", k=3).json()["hits"]
    assert paths_of_hits(lexical)[0] == "garden.txt"
    assert lexical[0]["route"] == "lexical" and lexical[0]["similarity"] is None
    assert search(api, q="tomatoes", mode="dense", k=3).json()["hits"][0]["route"] in ("text", "joint")
    refused = api.post(f"{API}/search", json={"q": "tomatoes", "mode": "fuzzy"})
    assert refused.status_code == 422


def test_capture_date_filters_pass_through_http(api):
    # the test photos carry no capture date, so a date filter leaves nothing
    assert search(api, q="a photo", after="2000-01-01", k=5).json()["hits"] == []
    bad = api.post(f"{API}/search", json={"q": "a photo", "after": "last tuesday"})
    assert bad.status_code == 400 and "date" in bad.json()["error"]["message"]


def file_url(url: str) -> str:
    """A hit's file URL without its access code (which it must carry: the page loads it with no header)."""
    path, _, query = url.partition("?")
    assert query.startswith("access=") and len(query) > len("access=") + 20, url
    return path


def paths_of_hits(hits) -> list[str]:
    return [os.path.basename(hit["path"]) for hit in hits]
