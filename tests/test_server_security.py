"""Hostile requests: traversal and injection payloads, forged hosts and origins, tokens, oversized, malformed
and decompression-bomb uploads. Nothing may leak a file outside the index, the token, or crash (5xx)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.server_helpers import API, AUTH, BASE, TOKEN, client_for

SECRET = "TOP-SECRET-7f3a9c"


@pytest.fixture(scope="module")
def secret(tmp_path_factory):
    folder = tmp_path_factory.mktemp("private")
    (folder / "secret.txt").write_text(SECRET)
    return folder / "secret.txt"


@pytest.fixture(scope="module")
def api(indexed):
    engine, _ = indexed
    with client_for(engine, max_upload_bytes=256 * 1024) as client:
        yield client


def assert_safe(response, *extra_secrets: str) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    body = response.content
    assert SECRET.encode() not in body and TOKEN.encode() not in body
    for value in extra_secrets:
        assert value.encode() not in body
    assert "access-control-allow-origin" not in response.headers


ITEM_PAYLOADS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..%252f..%252fetc%252fpasswd",
    "%2fetc%2fpasswd",
    "/etc/passwd",
    "1%00",
    "%00",
    "1%2f..%2f..%2fserver.token",
    "..\\..\\windows\\win.ini",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e3",
    "0x1",
    "%09",
    "1;cat%20/etc/passwd",
    "$(id)",
    "{{7*7}}",
    "'%20OR%201=1--",
    "1%20UNION%20SELECT%20path%20FROM%20items",
    "%c0%ae%c0%ae%2f",
    "1%2F..%2F2",
    "1.5",
    "true",
]


@pytest.mark.parametrize("payload", ITEM_PAYLOADS)
@pytest.mark.parametrize("kind", ["", "/media", "/thumbnail"])
def test_item_id_payloads_never_reach_a_file(api, payload, kind):
    response = api.get(f"{API}/items/{payload}{kind}")
    assert_safe(response, "root:x:0:0")
    assert response.status_code in (404, 405, 422), (payload, response.status_code)


STATIC_PAYLOADS = [
    "/static/../server.token",
    "/static/%2e%2e/%2e%2e/server.token",
    "/static/..%2f..%2fserver.token",
    "/static/%252e%252e/server.token",
    "/static//etc/passwd",
    "/static/..%5c..%5cserver.token",
    "/docs-assets/../../server.token",
    "/%2e%2e/%2e%2e/etc/passwd",
]


@pytest.mark.parametrize("path", STATIC_PAYLOADS)
def test_static_traversal_payloads(api, path):
    response = api.get(path)
    assert_safe(response, "root:x:0:0")
    assert response.status_code in (400, 404), (path, response.status_code)


def test_query_paths_are_never_opened(api, secret):
    for body in (
        {"q": str(secret)},
        {"q": f"{secret} + dog"},
        {"q": f"1:{secret}"},
        {"q": "../../private/secret.txt"},
        {"like_path": str(secret)},
        {"like_path": "/etc/passwd"},
        {"path": "/etc"},
        {"path": "/\x00etc"},
        {"q": "dog\x00cat"},
        {"like_path": "\x00"},
        {"q": "' OR 1=1 --", "types": ["image"]},
        {"q": "a" * 5000},
        {"q": "x", "k": 10**9},
        {"q": "x", "offset": -1},
        '{"q": "x", "min_score": NaN}',
        '{"q": "x", "k": 1e309}',
    ):
        if isinstance(body, str):
            response = api.post(f"{API}/search", content=body, headers={"Content-Type": "application/json"})
        else:
            response = api.post(f"{API}/search", json=body)
        assert_safe(response)
        if response.status_code == 200:
            assert all(SECRET not in (h["snippet"] or "") for h in response.json()["hits"])


def test_malformed_json_bodies(api):
    for raw, content_type in (
        (b"{", "application/json"),
        (b"[]", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b'{"q": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
        (b"q=dog", "application/x-www-form-urlencoded"),
        (b'{"q": "dog"}', "text/plain"),
    ):
        response = api.post(f"{API}/search", content=raw, headers={"Content-Type": content_type})
        assert_safe(response)
        assert 400 <= response.status_code < 500, (raw[:20], response.status_code)


def png_bomb(side: int = 30000) -> bytes:
    """A valid PNG header for a side x side grey image whose pixels compress to almost nothing."""
    row = b"\x00" + b"\x00" * side
    raw = zlib.compress(row * 64, 9)  # far fewer rows than declared: the size alone must refuse it

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize(
    "name, data, status, code",
    [
        ("bomb.png", png_bomb(), 422, "undecodable"),
        ("truncated.jpg", jpeg_bytes()[:200], 422, "undecodable"),
        ("text-as-image.jpg", b"just some words, not a picture", 415, "unsupported_media"),
        ("empty.png", b"", 415, "unsupported_media"),
        ("script.html", b"<script>alert(1)</script>", 415, "unsupported_media"),
        ("elf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, 415, "unsupported_media"),
        ("garbage.wav", b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 40, 422, "undecodable"),
        ("zip.png", b"PK\x03\x04" + b"\x00" * 200, 415, "unsupported_media"),
    ],
)
def test_hostile_uploads_are_refused_cleanly(api, name, data, status, code):
    response = api.post(f"{API}/search/upload", files={"file": (name, data, "image/png")})
    assert_safe(response)
    assert response.status_code == status, (name, response.status_code, response.text)
    assert response.json()["error"]["code"] == code


def test_oversized_uploads_are_cut_off(api):
    big = b"\xff\xd8\xff" + b"\x00" * (300 * 1024)
    response = api.post(f"{API}/search/upload", files={"file": ("big.jpg", big)})
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"

    def chunks():  # no Content-Length: the cap applies while the body streams in
        boundary = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
        yield boundary
        for _ in range(100):
            yield b"\x00" * 8192

    streamed = api.post(
        f"{API}/search/upload", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert streamed.status_code == 413
    lying = api.post(f"{API}/search", content=b"{}", headers={"Content-Length": str(10**12)})
    assert lying.status_code in (400, 413)
    assert api.post(f"{API}/search", json={"q": "x" * (2 * 1024 * 1024)}).status_code == 413


def test_malformed_multipart_is_a_client_error(api):
    for body, content_type in (
        (b"--x\r\nnonsense", "multipart/form-data; boundary=x"),
        (b"abc", "multipart/form-data"),
        (b"", "multipart/form-data; boundary=x"),
    ):
        response = api.post(f"{API}/search/upload", content=body, headers={"Content-Type": content_type})
        assert_safe(response)
        assert 400 <= response.status_code < 500
    no_file = api.post(f"{API}/search/upload", data={"q": "dog"})
    assert no_file.status_code == 422


FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:8765",
    "127.0.0.1.evil.example:8765",
    "127.0.0.1:9999",
    "",
    "localhost.:8765",
]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_host_headers_are_refused_on_loopback(api, host):
    response = api.get(f"{API}/status", headers={"Host": host})
    assert response.status_code == 403 and response.json()["error"]["code"] == "bad_host"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1:8765"])
def test_foreign_origins_are_refused(api, origin):
    for method, url, body in (("POST", "/search", {"q": "x"}), ("POST", "/jobs/index", {"path": "/tmp"})):
        response = api.request(method, f"{API}{url}", json=body, headers={"Origin": origin, **AUTH})
        assert response.status_code == 403 and response.json()["error"]["code"] == "bad_origin"
    same = api.post(f"{API}/search", json={"q": "x", "k": 1}, headers={"Origin": BASE})
    assert same.status_code == 200


def test_beyond_loopback_everything_but_health_needs_the_token(indexed):
    engine, _ = indexed
    with client_for(engine, host="0.0.0.0", with_token=False) as remote:
        assert remote.get(f"{API}/health").status_code == 200
        for method, url in (("GET", "/status"), ("POST", "/search"), ("GET", "/items/1/media"), ("GET", "/jobs")):
            response = remote.request(method, f"{API}{url}", json={"q": "x"})
            assert response.status_code == 401, url
            wrong = remote.request(method, f"{API}{url}", json={"q": "x"}, headers={"Authorization": "Bearer x" * 3})
            assert wrong.status_code == 401, url
        assert remote.get(f"{API}/status", headers=AUTH).status_code == 200
        assert remote.get(f"{API}/status", headers={"Host": "my-nas.lan:8765", **AUTH}).status_code == 200


def test_token_file_is_private_and_stable(tmp_path):
    import stat

    from anyseek.server.security import load_or_create_token

    token = load_or_create_token(tmp_path)
    assert len(token) >= 40 and stat.S_IMODE((tmp_path / "server.token").stat().st_mode) == 0o600
    (tmp_path / "server.token").chmod(0o644)
    assert load_or_create_token(tmp_path) == token
    assert stat.S_IMODE((tmp_path / "server.token").stat().st_mode) == 0o600


# --- a token for every read, on loopback too (issue 26) -----------------------------------------------
def _operations(app) -> list[tuple[str, str]]:
    """Every operation under /api but the health check, from the app's own schema: a route added later is
    covered without editing this test."""
    schema = app.openapi()["paths"]
    return [
        (method.upper(), path.replace("{item_id}", "1").replace("{job_id}", "abc"))
        for path, operations in schema.items()
        for method in operations
        if path.startswith(API) and path != f"{API}/health"
    ]


@pytest.fixture(scope="module")
def tokenless(indexed):
    engine, _ = indexed
    with client_for(engine, with_token=False) as client:
        yield client


def test_every_api_route_but_health_refuses_a_request_without_the_token_on_loopback(tokenless):
    operations = _operations(tokenless.app)
    assert len(operations) >= 10 and ("GET", f"{API}/items/1/media") in operations
    assert tokenless.get(f"{API}/health").status_code == 200
    for method, url in operations:
        for headers in ({}, {"Authorization": "Bearer " + "x" * 43}, {"Authorization": TOKEN}):
            response = tokenless.request(method, url, headers=headers)
            assert response.status_code == 401, (method, url, headers, response.status_code)
            assert response.json()["error"]["code"] == "unauthorized"
            assert_safe(response)


def test_every_read_route_answers_with_the_token_on_loopback(tokenless):
    hits = tokenless.post(f"{API}/search", json={"q": "a photo", "types": ["image"], "k": 1}, headers=AUTH)
    assert hits.status_code == 200
    item_id = hits.json()["hits"][0]["item_id"]
    png = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(png, "PNG")
    for method, url, extra in (
        ("POST", "/search", {"json": {"q": "weather"}}),
        ("POST", "/search/upload", {"files": {"file": ("q.png", png.getvalue())}}),
        ("GET", f"/items/{item_id}", {}),
        ("GET", f"/items/{item_id}/thumbnail", {}),
        ("GET", f"/items/{item_id}/media", {}),
        ("GET", "/status", {}),
        ("GET", "/jobs", {}),
    ):
        response = tokenless.request(method, f"{API}{url}", headers=AUTH, **extra)
        assert response.status_code == 200, (url, response.text[:200])
    # a job that does not exist is looked up (404), not refused (401)
    assert tokenless.get(f"{API}/jobs/abc", headers=AUTH).status_code == 404
    assert tokenless.get(f"{API}/jobs/abc/events", headers=AUTH).status_code == 404


def test_a_file_url_from_a_response_opens_its_own_item_without_the_header_and_no_other(tokenless):
    hits = tokenless.post(f"{API}/search", json={"q": "a photo", "types": ["image"], "k": 2}, headers=AUTH).json()
    first, second = hits["hits"][:2]
    for url in (first["thumbnail_url"], first["media_url"]):
        assert "access=" in url and tokenless.get(url).status_code == 200
    item = tokenless.get(f"{API}/items/{first['item_id']}", headers=AUTH).json()
    assert tokenless.get(item["media_url"]).content == tokenless.get(first["media_url"]).content
    code = first["media_url"].partition("access=")[2]
    borrowed = tokenless.get(f"{API}/items/{second['item_id']}/media", params={"access": code})
    assert borrowed.status_code == 401  # one item's code opens that item only
    for forged in ("", "x" * 24, code[:-1], code + "A"):
        assert tokenless.get(f"{API}/items/{first['item_id']}/media", params={"access": forged}).status_code == 401
    assert tokenless.get(f"{API}/items/0{first['item_id']}/media", params={"access": code}).status_code == 401


def test_access_codes_die_with_the_server_that_made_them(indexed, tokenless):
    engine, _ = indexed
    url = tokenless.post(f"{API}/search", json={"q": "a photo", "types": ["image"], "k": 1}, headers=AUTH).json()
    with client_for(engine, with_token=False) as restarted:
        assert restarted.get(url["hits"][0]["media_url"]).status_code == 401


def test_anonymous_read_lets_reads_through_on_loopback_but_never_index_jobs(indexed):
    engine, _ = indexed
    with client_for(engine, with_token=False, anonymous_read=True) as client:
        assert client.get(f"{API}/status").status_code == 200
        hit = client.post(f"{API}/search", json={"q": "a photo", "types": ["image"], "k": 1}).json()["hits"][0]
        assert client.get(f"{API}/items/{hit['item_id']}/media").status_code == 200
        refused = client.post(f"{API}/jobs/index", json={"path": "/tmp"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert client.delete(f"{API}/jobs/abc").status_code == 401


def test_anonymous_read_is_refused_beyond_loopback():
    from anyseek.engine.errors import ConfigError
    from anyseek.server.security import AccessPolicy

    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(ConfigError, match="loopback"):
            AccessPolicy(TOKEN, host, 8765, 1024, anonymous_read=True)
    assert AccessPolicy(TOKEN, "::1", 8765, 1024, anonymous_read=True).anonymous_read
