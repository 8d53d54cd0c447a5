"""text_spaces: which spaces hold passages and speech windows. Fixed when the index is created, like its
models; "text" alone is the documents-only mode that does a third of the model work per passage."""

from __future__ import annotations

import pytest

from anyseek.engine.errors import ConfigError, ModelMismatchError
from anyseek.engine.records import QueryPart, Space
from anyseek.engine.settings import normalize_text_spaces
from tests.test_indexing_e2e import store_and_index_agree


def test_text_only_index_puts_text_in_one_space_and_still_finds_everything(open_engine, media):
    eng = open_engine(text_spaces="text")
    report = eng.index([media])
    assert report.failed == 0, report.errors
    status = eng.status()
    assert status.vectors["joint"] == status.chunks["image"]
    assert status.vectors["text"] == status.chunks["passage"] + status.chunks["speech"]
    assert status.settings["text_spaces"] == "text"
    store_and_index_agree(eng)

    hits = eng.search(text="how often should tomatoes be watered", k=3)
    assert hits[0].path.endswith("garden.txt")
    hits = eng.search(text="the budget for next year was approved by the board", k=3)
    assert hits[0].path.endswith("budget.wav")
    hits = eng.search(image=media / "photos" / "forest.png", k=3)
    assert hits[0].path.endswith("forest.png")


def test_documents_only_index_encodes_queries_only_where_vectors_are(open_engine, media):
    eng = open_engine(text_spaces="text")
    eng.index([media / "docs"])
    encoded = eng._searcher.encode([QueryPart(text="tomatoes")])
    assert set(encoded.vectors) == {Space.TEXT}  # no CLIP pass for an empty joint space
    assert eng.search(image=media / "photos" / "forest.png", k=3).hits == ()


def test_text_spaces_are_stored_with_the_index(open_engine, media, tmp_path):
    home = tmp_path / "index"
    open_engine(home, text_spaces="text, ").index([media / "docs"])
    reopened = open_engine(home)  # unset: the index's own
    assert reopened.settings.text_spaces == "text"
    with pytest.raises(ModelMismatchError, match="text_spaces='text'.*new index"):
        open_engine(home, text_spaces="joint,text")


def test_index_built_before_the_setting_keeps_both_spaces(open_engine, media, tmp_path):
    home = tmp_path / "index"
    eng = open_engine(home)
    eng.index([media / "docs"])
    with eng.store.engine.begin() as conn:  # what an index from before the setting looks like
        conn.exec_driver_sql("DELETE FROM meta WHERE key = 'text_spaces'")
    assert open_engine(home).settings.text_spaces == "joint,text"


@pytest.mark.parametrize("value", ["", "pixels", "text,audio", " , "])
def test_unknown_text_spaces_are_refused(value):
    with pytest.raises(ConfigError, match="text_spaces"):
        normalize_text_spaces(value)


def test_passages_follow_the_text_models_window_whenever_text_goes_to_the_text_space(open_engine, encoders, tmp_path):
    """MiniLM ranks documents, so its window cuts passages (CLIP embeds a longer one as the mean of its
    77-token pieces); only a joint-only index cuts them to CLIP's window."""
    folder = tmp_path / "docs"
    folder.mkdir()
    sentences = [
        f"Sentence {i} tells how the {w} garden grows near the river in spring."
        for i, w in enumerate("abcdefghijklmnopqrstuvwxyz")
    ]
    (folder / "long.txt").write_text(" ".join(sentences))
    chunks = {}
    for spaces in ("text", "joint,text", "joint"):
        eng = open_engine(tmp_path / spaces, text_spaces=spaces)
        eng.index([folder])
        item = eng.store.find_item(path=bytes(folder / "long.txt"))
        chunks[spaces] = [
            c.chunk.text
            for c in eng.store.chunk_contexts(eng.store.chunk_ids(Space(spaces.split(",")[-1]))).values()
            if c.item.id == item.id
        ]
    text, joint = encoders.text, encoders.joint
    assert chunks["text"] == chunks["joint,text"]
    assert all(text.count_tokens(t) <= text.max_tokens for t in chunks["text"])
    assert any(joint.count_tokens(t) > joint.max_tokens for t in chunks["joint,text"])
    assert all(joint.count_tokens(t) <= joint.max_tokens for t in chunks["joint"])
    assert len(chunks["text"]) < len(chunks["joint"])
    assert max(joint.count_tokens(t) for t in chunks["text"]) > joint.max_tokens
