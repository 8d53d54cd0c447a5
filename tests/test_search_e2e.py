"""Any-to-any search over one indexed mixed folder, through the public Engine API."""

from __future__ import annotations

import numpy as np
import pytest

from anyseek.engine.errors import QueryError
from anyseek.engine.records import Modality, QueryPart
from tests.conftest import FIXTURES, SPEECH
from tests.fuzzy import overlaps, sounds_like


def paths(results) -> list[str]:
    return [hit.path.rsplit("/", 1)[-1] for hit in results]


def test_every_modality_is_indexed(indexed):
    eng, report = indexed
    assert report.failed == 0, report.errors
    status = eng.status()
    assert status.items == {"image": 7, "text": 4, "audio": 3}
    assert status.vectors["joint"] == status.chunks["image"] + status.chunks["passage"] + status.chunks["speech"]
    assert status.vectors["text"] == status.chunks["passage"] + status.chunks["speech"]


def test_text_query_finds_the_spoken_sentence_with_its_timestamps(indexed, speech_manifest):
    eng, _ = indexed
    truth = _sentence(speech_manifest, "budget.wav", 0)
    hits = eng.search(text="the budget for next year was approved by the board", k=5)
    top = hits[0]
    assert top.path.endswith("budget.wav") and top.modality is Modality.AUDIO
    assert overlaps(top.start, top.end, truth["start_s"], truth["end_s"]), (top.start, top.end)
    assert sounds_like(top.snippet, truth["text"]), top.snippet


def test_second_sentence_of_a_recording_seeks_past_the_first(indexed, speech_manifest):
    eng, _ = indexed
    truth = _sentence(speech_manifest, "meeting.mp3", 1)
    hits = eng.search(text="the red bicycle is parked outside the library", k=3, modalities=["audio"])
    assert hits[0].path.endswith("meeting.mp3")
    assert overlaps(hits[0].start, hits[0].end, truth["start_s"], truth["end_s"]), (hits[0].start, hits[0].end)
    first = _sentence(speech_manifest, "meeting.mp3", 0)
    assert not overlaps(hits[0].start, hits[0].end, first["start_s"], first["end_s"], slack=0), "seeks past it"
    assert sounds_like(hits[0].snippet, truth["text"]), hits[0].snippet


def test_text_query_finds_documents_with_offsets(indexed, shared_media):
    eng, _ = indexed
    hits = eng.search(text="how often should tomatoes be watered", k=3, modalities=["text"])
    assert hits[0].path.endswith("garden.txt")
    source = (shared_media / "docs" / "garden.txt").read_text()
    assert source[hits[0].char_start : hits[0].char_end].startswith("Tomatoes")


def test_legacy_encodings_are_searchable(indexed):
    eng, _ = indexed
    assert paths(eng.search(text="le café était fermé à la gare", k=2, modalities=["text"]))[0] == "cafe.txt"
    assert paths(eng.search(text="snow in the harbour, boats asleep", k=2, modalities=["text"]))[0] == "poem.rst"


def test_audio_query_is_transcribed_and_searches_everything(indexed, speech_manifest):
    eng, _ = indexed
    results = eng.search(audio=SPEECH / "memo.m4a", k=5)
    assert sounds_like(results.transcripts[0], speech_manifest["files"]["memo.m4a"]["sentences"][0]["text"])
    assert "meeting.mp3" in paths(results)[:2]


def test_a_voice_memo_in_a_video_container_named_in_a_query_is_heard(indexed, speech_manifest):
    """`anyseek search ./memo.webm`: sound and no picture is a recording, not text nor an unknown video."""
    eng, _ = indexed
    results = eng.search(parts=eng.parse(str(FIXTURES / "video" / "voice.webm")), k=5, modalities=["audio"])
    sentence = speech_manifest["files"]["weather.ogg"]["sentences"][0]["text"]  # voice.webm's sound
    assert results.transcripts and sounds_like(results.transcripts[0], sentence)
    assert "weather.ogg" in paths(results)


def test_an_uploaded_recording_is_transcribed_before_the_callers_turn_to_search(
    indexed, shared_media, speech_manifest, monkeypatch
):
    """A server passes the lock that takes its searches in turn: transcribing (seconds) must happen
    outside it, the search inside it."""
    eng, _ = indexed
    events = []

    class Turn:
        def __enter__(self):
            events.append("turn")

        def __exit__(self, *exc):
            events.append("done")

    speech = eng.encoders.speech
    heard = speech.transcript
    monkeypatch.setattr(speech, "transcript", lambda samples: events.append("hearing") or heard(samples))
    data = (shared_media / "recordings" / "budget.wav").read_bytes()
    results = eng.search_upload(data, "plans", exclusive=Turn(), k=3)
    assert events == ["hearing", "turn", "done"]  # heard once, before its turn
    budget = speech_manifest["files"]["budget.wav"]["sentences"][0]["text"]
    assert sounds_like(results.transcripts[0], budget) and "budget.wav" in paths(results)


def test_image_query_finds_the_same_photo_first(indexed, shared_media):
    eng, _ = indexed
    hits = eng.search(image=shared_media / "photos" / "forest.png", k=3)
    assert paths(hits)[0] == "forest.png"
    assert hits[0].similarity == pytest.approx(1.0, abs=2e-3)


def test_image_query_accepts_bytes_and_pil_images(indexed, shared_media):
    from PIL import Image

    eng, _ = indexed
    raw = (shared_media / "photos" / "city.webp").read_bytes()
    assert paths(eng.search(image=raw, k=1)) == ["city.webp"]
    with Image.open(shared_media / "photos" / "city.webp") as picture:
        assert paths(eng.search(image=picture.copy(), k=1)) == ["city.webp"]


def test_more_like_this_excludes_the_item_itself(indexed, shared_media):
    eng, _ = indexed
    hits = eng.search(like=shared_media / "recordings" / "budget.wav", k=3)
    assert "budget.wav" not in paths(hits) and len(hits) == 3
    # audio -> document: the note about next year's budget is the closest text
    documents = eng.search(like=shared_media / "recordings" / "budget.wav", k=3, modalities=["text"])
    assert paths(documents)[0] == "budget-notes.md"


def test_negative_part_pushes_its_match_down(indexed, shared_media):
    eng, _ = indexed
    beach, forest = shared_media / "photos" / "beach.jpg", shared_media / "photos" / "forest.png"
    plain = paths(eng.search(image=forest, k=7, modalities=["image"]))
    combined = paths(
        eng.search(parts=[QueryPart(image=forest), QueryPart(-1.0, image=beach)], k=7, modalities=["image"])
    )
    # forest scores +|f-b|²/2 and beach -|f-b|²/2 against (forest - beach): the negative must sink beach
    assert combined.index("forest.png") < combined.index("beach.jpg")
    assert combined.index("beach.jpg") > plain.index("beach.jpg") or combined[-1] == "beach.jpg"


def test_cli_syntax_combines_text_images_and_weights(indexed, shared_media):
    eng, _ = indexed
    parts = eng.parse(f"budget + 2:{shared_media / 'photos' / 'beach.jpg'} - weather")
    assert [p.weight for p in parts] == [1.0, 2.0, -1.0]
    assert parts[1].image is not None and parts[0].text == "budget"
    assert len(eng.search(parts=parts, k=3)) == 3


def test_filters_restrict_modality_path_and_similarity(indexed, shared_media):
    eng, _ = indexed
    images = eng.search(text="a photo", k=20, modalities=[Modality.IMAGE])
    assert len(images) == 7 and {h.modality for h in images} == {Modality.IMAGE}
    docs = eng.search(text="anything", k=20, path_prefix=shared_media / "docs")
    assert docs and all("/docs/" in h.path for h in docs)
    strict = eng.search(text="the budget for next year", k=20, min_similarity=0.5)
    assert strict and all(h.similarity >= 0.5 for h in strict)
    assert len(strict) < len(eng.search(text="the budget for next year", k=20))


def test_one_hit_per_item_even_when_many_chunks_match(indexed):
    eng, _ = indexed
    hits = eng.search(text="meeting", k=20)
    assert len({h.item_id for h in hits}) == len(hits)


def test_empty_or_negative_only_query_is_refused(indexed):
    eng, _ = indexed
    with pytest.raises(QueryError):
        eng.search(k=3)
    with pytest.raises(QueryError):
        eng.search(parts=[QueryPart(-1.0, text="cats")])


def test_scores_are_sorted_and_hits_are_typed(indexed):
    eng, _ = indexed
    hits = eng.search(text="weather", k=10)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(h.chunk_id, int) and np.isfinite(h.similarity) for h in hits)


def _sentence(manifest: dict, name: str, index: int) -> dict:
    return manifest["files"][name]["sentences"][index]
