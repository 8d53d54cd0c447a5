"""Index jobs over HTTP (start, follow, events, cancel, one at a time) and files that change after indexing."""

from __future__ import annotations

import json
import os
import threading

import pytest
from PIL import Image

from tests.media import photo
from tests.server_helpers import API, AUTH, client_for, wait_job


@pytest.fixture()
def served(open_engine, tmp_path):
    engine = open_engine(tmp_path / "index")
    with client_for(engine) as client:
        yield engine, client


def photos(folder, count: int, start: int = 0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        photo(100 + i, (96, 64)).save(folder / f"p{i:03d}.png")
    return folder


def start(client, path, **extra):
    response = client.post(f"{API}/jobs/index", json={"path": str(path), **extra}, headers=AUTH)
    assert response.status_code == 202, response.text
    return response.json()


def test_job_indexes_a_folder_and_reports(served, tmp_path):
    _, client = served
    folder = photos(tmp_path / "media", 6)
    (folder / "note.txt").write_text("The lighthouse keeper writes about storms.")
    job = start(client, folder)
    assert job["state"] == "running" and job["paths"] == [str(folder)]
    done = wait_job(client, job["job_id"])
    assert done["state"] == "completed", done
    assert done["report"]["added"] == 7 and done["files_done"] == done["files_total"] == 7
    assert done["rate"] > 0 and done["finished"] >= done["started"]
    body = {"q": "storms at the lighthouse", "k": 1, "types": ["text"]}  # the tests' joint model is random
    hits = client.post(f"{API}/search", json=body).json()["hits"]
    assert hits[0]["name"] == "note.txt"
    assert [j["job_id"] for j in client.get(f"{API}/jobs").json()] == [job["job_id"]]


def test_searches_keep_working_while_a_job_writes(served, tmp_path):
    _, client = served
    first = photos(tmp_path / "media", 4)
    (first / "note.txt").write_text("Bees make honey from the nectar of flowers.")
    wait_job(client, start(client, first)["job_id"])
    photos(first, 30, start=4)
    job = start(client, first)
    answered = []
    while client.get(f"{API}/jobs/{job['job_id']}").json()["state"] == "running":
        # documents only: the tests' joint model has random weights, so photos rank by noise
        response = client.post(f"{API}/search", json={"q": "honey bees", "k": 3, "types": ["text"]})
        assert response.status_code == 200, response.text
        answered.append(response.json()["hits"][0]["name"])
    assert wait_job(client, job["job_id"])["state"] == "completed"
    assert answered and set(answered) == {"note.txt"}
    assert client.get(f"{API}/status").json()["items"]["image"] == 34


def test_one_job_at_a_time(served, tmp_path):
    _, client = served
    job = start(client, photos(tmp_path / "media", 20))
    second = client.post(f"{API}/jobs/index", json={"path": str(tmp_path)}, headers=AUTH)
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    wait_job(client, job["job_id"])


def test_cancel_stops_at_a_safe_point_and_the_next_job_resumes(served, tmp_path):
    engine, client = served
    folder = photos(tmp_path / "media", 60)
    job = start(client, folder)
    cancelled = client.delete(f"{API}/jobs/{job['job_id']}", headers=AUTH)
    assert cancelled.status_code == 202
    final = wait_job(client, job["job_id"])
    assert final["state"] == "cancelled", final
    kept = client.get(f"{API}/status").json()["items"].get("image", 0)
    assert kept < 60
    again = wait_job(client, start(client, folder)["job_id"])
    assert again["state"] == "completed" and again["report"]["added"] == 60 - kept
    status = engine.status()
    assert status.items["image"] == 60 and status.vectors["joint"] == 60  # nothing lost, nothing twice


def test_event_stream_follows_a_job_to_its_end(served, tmp_path):
    _, client = served
    job = start(client, photos(tmp_path / "media", 5))
    states = []
    with client.stream("GET", f"{API}/jobs/{job['job_id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                states.append(json.loads(line[6:]))
    assert states[-1]["state"] == "completed" and states[-1]["report"]["added"] == 5
    revisions = [s["revision"] for s in states]
    assert revisions == sorted(set(revisions))


def test_job_on_a_missing_folder_finishes_with_the_problem(served, tmp_path):
    _, client = served
    assert wait_job(client, start(client, photos(tmp_path / "media", 2))["job_id"])["state"] == "completed"
    done = wait_job(client, start(client, tmp_path / "nowhere")["job_id"])
    assert done["state"] == "failed" and "nothing was changed" in done["message"]
    status = client.get(f"{API}/status").json()  # the refused run with its reason, and the good run before it
    assert status["last_run"]["status"] == "refused" and str(tmp_path / "nowhere") in status["last_run"]["reason"]
    assert status["last_completed_run"]["stats"]["added"] == 2
    assert client.post(f"{API}/jobs/index", json={"path": "relative/dir"}, headers=AUTH).status_code == 422


def test_changed_replaced_or_deleted_files_are_gone_not_another_file(served, tmp_path):
    _, client = served
    folder = photos(tmp_path / "media", 3)
    secret = tmp_path / "secret.png"
    photo(999, (96, 64)).save(secret)
    wait_job(client, start(client, folder)["job_id"])
    hits = client.post(f"{API}/search", json={"q": "x", "types": ["image"], "k": 3}).json()["hits"]
    by_name = {h["name"]: h["item_id"] for h in hits}
    assert client.get(f"{API}/items/{by_name['p000.png']}/media").status_code == 200
    photo(555, (96, 64)).save(folder / "p000.png")  # changed in place
    os.utime(folder / "p000.png", ns=(1, 1))
    (folder / "p001.png").unlink()  # deleted
    (folder / "p002.png").unlink()
    (folder / "p002.png").symlink_to(secret)  # swapped for a link to a file outside
    for name in ("p000.png", "p001.png", "p002.png"):
        for kind in ("media", "thumbnail"):
            response = client.get(f"{API}/items/{by_name[name]}/{kind}")
            assert response.status_code == 410, (name, kind, response.status_code)
            assert response.json()["error"]["code"] == "gone"
            assert secret.read_bytes()[:64] not in response.content


def test_a_folder_linked_in_on_purpose_is_served(served, tmp_path):
    _, client = served
    outside = photos(tmp_path / "elsewhere", 1)
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    wait_job(client, start(client, folder)["job_id"])
    hit = client.post(f"{API}/search", json={"q": "x", "k": 1}).json()["hits"][0]
    assert hit["path"] == str(folder / "linked" / "p000.png")
    assert client.get(hit["media_url"]).content == (outside / "p000.png").read_bytes()


def test_thumbnail_follows_exif_orientation(served, tmp_path):
    _, client = served
    folder = tmp_path / "media"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    photo(7, (200, 100)).save(folder / "rotated.jpg", exif=exif)
    wait_job(client, start(client, folder)["job_id"])
    hit = client.post(f"{API}/search", json={"q": "x", "k": 1}).json()["hits"][0]
    import io

    thumb = Image.open(io.BytesIO(client.get(hit["thumbnail_url"], params={"size": 64}).content))
    assert thumb.size == (32, 64)  # stored 200x100, shown 100x200


def test_shutdown_cancels_a_running_job(served, tmp_path):
    _, client = served
    service = client.app.state.service
    job = start(client, photos(tmp_path / "media", 60))
    stopper = threading.Thread(target=service.jobs.shutdown)
    stopper.start()
    stopper.join(120)
    assert not stopper.is_alive()
    assert service.jobs.get(job["job_id"]).state in ("cancelled", "completed")


def test_an_emptied_folder_is_refused_unless_the_job_prunes(served, tmp_path):
    engine, client = served
    folder = photos(tmp_path / "media", 3)
    assert wait_job(client, start(client, folder)["job_id"])["state"] == "completed"
    for picture in folder.iterdir():
        picture.unlink()
    refused = wait_job(client, start(client, folder)["job_id"])
    assert refused["state"] == "failed" and "--prune" in refused["message"]
    assert engine.status().items.get("image") == 3  # nothing was deleted
    pruned = wait_job(client, start(client, folder, prune=True)["job_id"])
    assert pruned["state"] == "completed" and pruned["report"]["deleted"] == 3
