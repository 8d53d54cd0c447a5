"""Videos end to end through the public Engine API and the CLI: indexed as frames plus speech, found at the
right moment, re-indexed incrementally, damaged copies reported. Mechanics with the session's models
(seeded-random CLIP, MiniLM, Whisper tiny.en); what a frame shows with the trained demo model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from anyseek.engine.records import ChunkKind, Hit, Modality, Moment, SearchResults
from tests.conftest import SPEECH, TEST_SETTINGS
from tests.test_cli_e2e import anyseek

VIDEO = Path(__file__).parent / "fixtures" / "video"
MANIFEST = json.loads((VIDEO / "manifest.json").read_text())["files"]
SPEECH_TRUTH = json.loads((SPEECH / "manifest.json").read_text())["files"]
DEMO_MODEL = Path(__file__).resolve().parent.parent / "data" / "demo-model"
VIDEOS = ["scenes.mp4", "talk.mp4", "silent.webm", "clip.mov", "clip.mkv"]


def copy_fixtures(target: Path, names=(*VIDEOS, "voice.webm")) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(VIDEO / name, target / name)
    return target


def overlap(hit, start: float, end: float) -> float:
    return min(hit.end, end) - max(hit.start, start)


@pytest.fixture(scope="module")
def video_index(tmp_path_factory, encoders):
    from anyseek.engine import Engine

    media = copy_fixtures(tmp_path_factory.mktemp("videos"))
    eng = Engine.open(tmp_path_factory.mktemp("video-index"), encoders=encoders, **TEST_SETTINGS)
    report = eng.index([media])
    yield eng, media, report
    eng.close()


def test_videos_are_items_with_frames_and_speech(video_index):
    eng, _, report = video_index
    assert report.failed == 0, report.errors
    status = eng.status()
    assert status.items == {"video": 5, "audio": 1}  # voice.webm has no picture: a recording
    assert status.chunks["frame"] == sum(len(MANIFEST[name]["scenes"]) for name in VIDEOS)
    assert status.chunks["speech"] >= 4  # talk (2 sentences), clip.mov, clip.mkv, voice.webm
    # frames live in the joint space only; text read in a frame (OCR) is text
    assert status.vectors["text"] == status.chunks["speech"] + status.chunks.get("ocr", 0)


def test_speech_in_a_video_is_found_with_its_time_window(video_index):
    eng, _, _ = video_index
    truth = SPEECH_TRUTH["meeting.mp3"]["sentences"][1]  # talk.mp4's sound track
    top = eng.search(text="the red bicycle is parked outside the library", k=3, modalities=["video"])[0]
    assert top.path.endswith("talk.mp4") and top.modality is Modality.VIDEO
    assert abs(top.start - truth["start_s"]) <= 0.5 and abs(top.end - truth["end_s"]) <= 0.5
    assert "bicycle" in top.snippet.lower()


def test_a_video_hit_lists_its_strong_moments_best_first(video_index):
    eng, _, _ = video_index
    top = eng.search(text="good morning everyone, let us begin the weekly meeting", k=1, modalities=["video"])[0]
    assert top.path.endswith("talk.mp4")
    assert (top.moments[0].start, top.moments[0].end) == (top.start, top.end)
    scores = [m.score for m in top.moments]
    assert scores == sorted(scores, reverse=True) and all(s >= 0.8 * scores[0] for s in scores)
    assert {m.kind for m in top.moments} <= {ChunkKind.FRAME, ChunkKind.SPEECH}
    listed = top.to_dict()["moments"]
    assert listed[0] == {"start": top.start, "end": top.end, "score": round(top.score, 6), "kind": "speech"}


def test_type_video_keeps_videos_only(video_index):
    eng, _, _ = video_index
    hits = eng.search(text="tomorrow the weather will be sunny", k=10, modalities=["video"])
    assert {h.modality for h in hits} == {Modality.VIDEO} and len(hits) == 5
    assert hits[0].path.endswith("clip.mov")
    recordings = eng.search(text="tomorrow the weather will be sunny", k=10, modalities=["audio"])
    assert [h.path.rsplit("/", 1)[-1] for h in recordings] == ["voice.webm"]


def test_a_still_from_a_video_finds_the_video_at_that_moment(video_index, tmp_path):
    import av

    eng, _, _ = video_index
    with av.open(str(VIDEO / "scenes.mp4")) as container:  # the blue square scene, 2-4 s
        still = next(f for f in container.decode(video=0) if f.time >= 3.0).to_image()
    still.save(tmp_path / "still.png")
    top = eng.search(image=tmp_path / "still.png", k=1, modalities=["video"])[0]
    assert top.path.endswith("scenes.mp4") and top.similarity > 0.95
    assert overlap(top, 2.0, 4.0) >= 1.0


def test_unchanged_videos_are_not_decoded_again(video_index, monkeypatch):
    from anyseek.indexer import extract

    eng, media, _ = video_index

    def refuse(*args, **kwargs):
        raise AssertionError("an unchanged video was decoded again")

    monkeypatch.setattr(extract, "decode_video", refuse)
    again = eng.index([media])
    assert (again.added, again.updated, again.failed) == (0, 0, 0)
    assert again.unchanged == again.scanned == 6


def test_damaged_videos_are_reported_with_a_reason_and_the_rest_is_indexed(open_engine, tmp_path):
    media = copy_fixtures(tmp_path / "media", ["silent.webm"])
    scenes, talk = (VIDEO / "scenes.mp4").read_bytes(), (VIDEO / "talk.mp4").read_bytes()
    (media / "cut-after-index.mp4").write_bytes(scenes[: len(scenes) // 2])
    (media / "cut-before-index.mp4").write_bytes(talk[: len(talk) // 3])
    (media / "notes.mp4").write_text("not a film, just words")
    (media / "empty.webm").write_bytes(b"")
    report = open_engine().index([media])
    reasons = {e.path.rsplit("/", 1)[-1]: e.reason for e in report.errors}
    assert "truncated video" in reasons["cut-after-index.mp4"]
    assert "cannot read video" in reasons["cut-before-index.mp4"]
    assert "not a recognised video" in reasons["notes.mp4"]
    assert "empty" in reasons["empty.webm"]
    assert (report.added, report.failed) == (1, 4)


def test_video_moments_print_as_times_in_the_table(capsys):
    from anyseek.cli import render

    moment = Moment(2.0, 4.0, 0.9, ChunkKind.FRAME)
    hit = Hit(1, "/m/scenes.mp4", Modality.VIDEO, 0.9, 0.3, 7, None, 2.0, 4.0, moments=(moment,))
    render.search_table(SearchResults((hit,)))
    assert "00:02–00:04" in capsys.readouterr().out


# --- what a frame shows: the trained demo model ---------------------------------------------------
@pytest.fixture(scope="module")
def demo_videos(tmp_path_factory):
    from anyseek.engine import Engine

    media = copy_fixtures(tmp_path_factory.mktemp("demo-videos"), ["scenes.mp4", "silent.webm"])
    home = tmp_path_factory.mktemp("demo-video-index")
    with Engine.open(home, joint_model=str(DEMO_MODEL), device="cpu") as eng:
        report = eng.index([media])
    assert report.failed == 0 and report.added == 2
    return home


SCENES = [(name, scene) for name in ("scenes.mp4", "silent.webm") for scene in MANIFEST[name]["scenes"]]


@pytest.mark.parametrize("name, scene", SCENES, ids=[s["text"] for _, s in SCENES])
def test_text_finds_the_video_at_the_moment_it_shows_that(demo_videos, name, scene):
    from anyseek.engine import Engine

    with Engine.open(demo_videos, create=False, device="cpu") as eng:
        top = eng.search(text=scene["text"], k=1, modalities=["video"])[0]
    assert top.path.endswith(name)
    assert overlap(top, scene["start_s"], scene["end_s"]) >= 0.5 * (scene["end_s"] - scene["start_s"])


@pytest.mark.slow  # a CLI process loading its models (~20 s); Hit.to_dict's moments are tested above
def test_cli_json_lists_the_moments_of_a_video(demo_videos):
    done = anyseek("search", "a blue square", "--type", "video", "-k", "2", "--json", index=demo_videos)
    assert done.returncode == 0, done.stderr
    top = json.loads(done.stdout)["hits"][0]
    assert top["path"].endswith("scenes.mp4") and top["modality"] == "video"
    assert min(top["end"], 4.0) - max(top["start"], 2.0) >= 1.0
    assert top["moments"][0]["kind"] == "frame" and {"start", "end", "score", "kind"} <= set(top["moments"][0])
