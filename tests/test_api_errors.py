"""Bad arguments through the Python API raise anyseek's own documented errors, with the CLI's messages."""

from __future__ import annotations

import pytest

from anyseek import ConfigError, Hit, Modality, QueryError, QueryFileNotFoundError, StorageError


def test_a_bare_string_is_one_type_and_case_is_ignored(indexed):
    eng, _ = indexed
    hits = eng.search(text="tomatoes", k=5, modalities="Text")
    assert hits and {hit.modality for hit in hits} == {Modality.TEXT}


@pytest.mark.parametrize(
    "arguments,error,message",
    [
        ({"text": "red", "modalities": ["movie"]}, QueryError, "unknown type 'movie'; the types are image, text"),
        ({"text": 123}, QueryError, "text must be a string, not int"),
        ({"text": "red", "k": 0}, QueryError, "at least 1"),
        ({"text": "red", "min_similarity": 2}, QueryError, "between -1 and 1"),
        ({"image": "nothere.jpg"}, QueryFileNotFoundError, "the image nothere.jpg does not exist"),
        ({"audio": "nothere.wav"}, QueryFileNotFoundError, "the recording nothere.wav does not exist"),
        ({"image": "."}, QueryFileNotFoundError, "is a folder"),
    ],
)
def test_bad_search_arguments_raise_query_errors(indexed, arguments, error, message):
    eng, _ = indexed
    with pytest.raises(error, match=message):
        eng.search(**arguments)


def test_a_missing_query_file_is_also_a_file_not_found_error(indexed):
    eng, _ = indexed
    with pytest.raises(FileNotFoundError):
        eng.search(image="nothere.jpg")


def test_a_query_file_that_cannot_be_decoded_is_a_query_error_naming_the_file(indexed, tmp_path):
    from anyseek import ExtractionError

    eng, _ = indexed
    (tmp_path / "notes.md").write_text("# Not a picture\n")
    (tmp_path / "memo.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    with pytest.raises(QueryError, match=f"^{tmp_path / 'notes.md'}: not a readable image") as caught:
        eng.search(image=tmp_path / "notes.md")
    assert isinstance(caught.value, ExtractionError)  # what a decoder's failure was before, still caught as such
    with pytest.raises(QueryError, match=f"^{tmp_path / 'memo.wav'}: "):
        eng.search(audio=tmp_path / "memo.wav")


def test_a_term_that_looks_like_a_missing_file_comes_back_as_a_warning(indexed):
    eng, _ = indexed
    results = eng.search(parts=eng.parse("holiday/beach.jpg"), k=1)
    assert results.warnings == ("'holiday/beach.jpg' is not a file here, so it was searched as text",)
    assert eng.search(text="a beach", k=1).warnings == ()


def test_zero_workers_is_a_config_error(tmp_path):
    from anyseek import Engine

    with pytest.raises(ConfigError, match="workers"):
        Engine.open(tmp_path / "index", workers=0)


def test_an_index_under_a_regular_file_is_a_storage_error(tmp_path):
    from anyseek import Engine

    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="cannot create the index"):
        Engine.open(tmp_path / "file" / "index")


def test_similarity_never_exceeds_one():
    hit = Hit(1, "/a.jpg", Modality.IMAGE, 0.5, 1.0004, 7)
    assert hit.similarity == 1.0 and hit.to_dict()["similarity"] == 1.0
