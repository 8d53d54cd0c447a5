"""`--sort date`: the hits above --min-score, newest capture first, undated last; from Python, HTTP and
the CLI. Membership and order of dates, never which hit a model ranks first."""

from __future__ import annotations

import json

import pytest

from tests.duplicate_media import DEMO_MODEL, dated
from tests.media import photo

DATES = {"spring.jpg": "2023:04:01 09:00:00", "summer.jpg": "2024:07:15 12:00:00", "winter.jpg": "2022:12:24 18:00:00"}


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory):
    from anyseek.engine import Engine

    folder = tmp_path_factory.mktemp("dated")
    for seed, (name, when) in enumerate(DATES.items()):
        dated(photo(seed), folder / name, when, quality=90)
    photo(9).save(folder / "undated.jpg", quality=90)
    (folder / "note.txt").write_text("A photo album of the seasons: spring, summer and winter pictures.")
    eng = Engine.open(tmp_path_factory.mktemp("dated-index"), joint_model=str(DEMO_MODEL), device="cpu")
    eng.index([folder])
    yield eng
    eng.close()


def _names(hits) -> list[str]:
    return [h.path.rsplit("/", 1)[-1] for h in hits]


def test_date_sort_orders_the_hits_above_min_score_newest_first_and_undated_last(dated_index):
    relevance = dated_index.search("photo of the seasons", k=50, min_score=0.0)
    by_date = dated_index.search("photo of the seasons", k=50, min_score=0.0, sort="date")
    assert set(_names(by_date)) == set(_names(relevance))  # the same hits, another order
    dates = [h.captured_at for h in by_date]
    known = [d for d in dates if d is not None]
    assert known == sorted(known, reverse=True)
    assert dates[: len(known)] == known  # the undated follow the dated
    assert _names(by_date)[:3] == ["summer.jpg", "spring.jpg", "winter.jpg"]


def test_without_min_score_the_k_most_relevant_are_ordered_by_date(dated_index):
    relevance = dated_index.search("photo of the seasons", k=2)
    by_date = dated_index.search("photo of the seasons", k=2, sort="date")
    assert set(_names(by_date)) == set(_names(relevance))


def test_an_unknown_sort_is_a_clear_error(dated_index):
    from anyseek.engine.errors import QueryError

    with pytest.raises(QueryError, match="sort must be one of relevance, date"):
        dated_index.search("photo", sort="size")


def test_http_and_cli_sort_by_date(dated_index):
    from tests.server_helpers import API, client_for
    from tests.test_cli_e2e import anyseek

    client = client_for(dated_index)
    body = {"q": "photo of the seasons", "k": 3, "min_score": 0.0, "sort": "date", "types": ["image"]}
    answer = client.post(f"{API}/search", json=body)
    assert answer.status_code == 200, answer.text
    assert [h["path"].rsplit("/", 1)[-1] for h in answer.json()["hits"]] == ["summer.jpg", "spring.jpg", "winter.jpg"]
    assert client.post(f"{API}/search", json={**body, "sort": "size"}).status_code == 422
    done = anyseek(
        "search",
        "photo of the seasons",
        "--min-score",
        "0",
        "--sort",
        "date",
        "-t",
        "image",
        "--json",
        "--no-server",
        index=dated_index.home,
    )
    assert done.returncode == 0, done.stderr
    names = [h["path"].rsplit("/", 1)[-1] for h in json.loads(done.stdout)["hits"]]
    assert names[:3] == ["summer.jpg", "spring.jpg", "winter.jpg"] and names[-1] == "undated.jpg"
