"""The CLI's query language, and how settings are layered."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from anyseek.engine.errors import ConfigError, QueryError
from anyseek.engine.records import Modality, QueryPart
from anyseek.engine.search.syntax import parse_query, split_terms
from anyseek.engine.settings import CONFIG_FILE, Settings, load_settings

# --- split_terms -------------------------------------------------------------------------------------


def test_terms_are_joined_by_spaced_plus_and_minus():
    assert split_terms("dog + ./beach.jpg - cartoon") == [(1.0, "dog"), (1.0, "./beach.jpg"), (-1.0, "cartoon")]


def test_a_weight_prefix_scales_a_term():
    assert split_terms("2:dog") == [(2.0, "dog")]
    assert split_terms("dog - 0.5:cartoon") == [(1.0, "dog"), (-0.5, "cartoon")]
    assert split_terms("1.5:./beach.jpg") == [(1.5, "./beach.jpg")]


@pytest.mark.parametrize("text", ["t-shirt", "red t-shirt -dog", "state-of-the-art +1", "a+b", "x -y"])
def test_a_plus_or_minus_inside_or_against_a_word_is_part_of_the_text(text):
    assert split_terms(text) == [(1.0, text)]


@pytest.mark.parametrize("text", ["10:30 meeting", "meeting at 10:30", "3:45", "a:b"])
def test_a_clock_time_or_colon_word_is_text_not_a_weight(text):
    assert split_terms(text) == [(1.0, text)]


def test_a_leading_minus_makes_the_first_term_negative():
    assert split_terms("- cartoon + dog") == [(-1.0, "cartoon"), (1.0, "dog")]


def test_a_leading_plus_is_just_a_sign():
    assert split_terms("+ dog") == [(1.0, "dog")]


def test_extra_spaces_and_tabs_around_operators_are_ignored():
    assert split_terms("  dog   -\tcat  ") == [(1.0, "dog"), (-1.0, "cat")]


@pytest.mark.parametrize("expression", ["", "   ", "+", "-", "dog +", "dog + + cat", "dog + - cat", "- + dog"])
def test_an_empty_term_raises_query_error(expression):
    with pytest.raises(QueryError):
        split_terms(expression)


# --- parse_query -------------------------------------------------------------------------------------

SUFFIXES = {".jpg": Modality.IMAGE, ".wav": Modality.AUDIO, ".m4a": Modality.AUDIO, ".txt": Modality.TEXT}


def sniff(path: Path) -> Modality | None:
    return SUFFIXES.get(path.suffix)


def not_indexed(_path: Path) -> int | None:
    return None


@pytest.fixture()
def folder(tmp_path, monkeypatch) -> Path:
    """The current directory, holding a picture, a recording, a note and a file named like a word."""
    for name in ["beach.jpg", "memo.wav", "notes.txt", "dog"]:
        (tmp_path / name).write_bytes(b"content")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_image_and_negative_terms_become_query_parts(folder):
    parts = parse_query("dog + ./beach.jpg - cartoon", sniff, not_indexed)
    assert parts == [
        QueryPart(1.0, text="dog"),
        QueryPart(1.0, image=Path("beach.jpg")),
        QueryPart(-1.0, text="cartoon"),
    ]
    assert parts[1].image.is_file()


def test_a_recording_is_an_audio_part_with_its_weight(folder):
    assert parse_query("0.5:memo.wav + talk", sniff, not_indexed) == [
        QueryPart(0.5, audio=Path("memo.wav")),
        QueryPart(1.0, text="talk"),
    ]


def test_an_indexed_document_is_used_as_more_like_this(folder):
    seen = []

    def find_item(path: Path) -> int | None:
        seen.append(path)
        return 42 if path.name == "notes.txt" else None

    assert parse_query("notes.txt", sniff, find_item) == [QueryPart(1.0, item_id=42)]
    assert seen == [Path("notes.txt")]


def test_a_document_that_is_not_indexed_is_searched_as_its_words(folder):
    assert parse_query("notes.txt", sniff, not_indexed) == [QueryPart(1.0, text="notes.txt")]


def test_a_word_is_text_even_when_a_file_of_that_name_exists(folder):
    def sniff_anything(_path: Path) -> Modality:
        return Modality.IMAGE

    assert (folder / "dog").is_file()
    assert parse_query("dog", sniff_anything, not_indexed) == [QueryPart(1.0, text="dog")]


def test_a_file_name_that_does_not_exist_is_text(folder):
    assert parse_query("sunset.jpg", sniff, not_indexed) == [QueryPart(1.0, text="sunset.jpg")]


def test_an_absolute_path_and_a_home_path_are_used_by_content(folder, monkeypatch):
    monkeypatch.setenv("HOME", str(folder))
    parts = parse_query(f"{folder / 'beach.jpg'} + ~/memo.wav", sniff, not_indexed)
    assert parts == [QueryPart(1.0, image=folder / "beach.jpg"), QueryPart(1.0, audio=folder / "memo.wav")]


def test_a_file_of_no_known_type_is_text(folder):
    (folder / "data.bin").write_bytes(b"\x00")
    assert parse_query("./data.bin", sniff, not_indexed) == [QueryPart(1.0, text="./data.bin")]


@pytest.mark.parametrize("expression", ["- dog", "- dog - cat", "0:dog", "0:dog - cat"])
def test_a_query_without_a_positive_term_raises_query_error(folder, expression):
    with pytest.raises(QueryError, match="positive"):
        parse_query(expression, sniff, not_indexed)


def test_an_empty_query_raises_query_error(folder):
    with pytest.raises(QueryError, match="empty"):
        parse_query("  ", sniff, not_indexed)


# --- settings ----------------------------------------------------------------------------------------


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """An index directory, with no ANYSEEK_* variable leaking in from the environment."""
    for name in list(os.environ):
        if name.startswith("ANYSEEK_"):
            monkeypatch.delenv(name)
    return tmp_path


def write_config(home: Path, text: str) -> None:
    (home / CONFIG_FILE).write_text(text, encoding="utf-8")


def test_defaults_apply_without_a_file_environment_or_overrides(home):
    assert load_settings(home) == Settings()
    assert load_settings(home).requested_models() == {}


def test_each_layer_overrides_the_one_below(home, monkeypatch):
    write_config(home, "image_batch = 8\nlexical_weight = 0.5\noversample = 3\nsearch_mode = 'dense'\n")
    monkeypatch.setenv("ANYSEEK_LEXICAL_WEIGHT", "2")
    monkeypatch.setenv("ANYSEEK_OVERSAMPLE", "5")
    settings = load_settings(home, {"oversample": 7, "device": None})
    assert settings.text_batch == Settings().text_batch  # default
    assert settings.image_batch == 8 and settings.search_mode == "dense"  # file
    assert settings.lexical_weight == 2.0  # environment over file
    assert settings.oversample == 7  # override over environment
    assert settings.device == "auto", "a None override means not given"


def test_the_file_may_use_an_anyseek_table(home):
    write_config(home, "[anyseek]\njoint_model = 'ViT-S-32'\n")
    settings = load_settings(home)
    assert settings.joint_model == "ViT-S-32"
    assert settings.requested_models() == {"joint_model": "ViT-S-32"}


def test_environment_values_are_parsed_to_the_settings_types(home, monkeypatch):
    monkeypatch.setenv("ANYSEEK_MAX_AUDIO_SECONDS", "90.5")
    monkeypatch.setenv("ANYSEEK_WORKERS", "3")
    settings = load_settings(home)
    assert settings.max_audio_seconds == 90.5 and settings.workers == 3


def test_an_int_is_accepted_for_a_float_setting(home):
    write_config(home, "max_audio_seconds = 60\n")
    assert load_settings(home).max_audio_seconds == 60.0


@pytest.mark.parametrize(
    "source, value",
    [("file", "imag_batch = 8"), ("override", "oversampel")],
)
def test_unknown_keys_raise_config_error_naming_them(home, source, value):
    if source == "file":
        write_config(home, value + "\n")
        with pytest.raises(ConfigError, match="imag_batch"):
            load_settings(home)
    else:
        with pytest.raises(ConfigError, match="oversampel"):
            load_settings(home, {value: 3})


def test_unrelated_anyseek_environment_variables_are_not_settings(home, monkeypatch):
    monkeypatch.setenv("ANYSEEK_HOME", str(home))
    assert load_settings(home) == Settings()


@pytest.mark.parametrize(
    "config",
    ["workers = 'four'", "image_batch = 2.5", "device = ['cpu']", "oversample = true", "max_audio_seconds = 'long'"],
)
def test_a_wrongly_typed_file_value_raises_config_error(home, config):
    write_config(home, config + "\n")
    with pytest.raises(ConfigError, match=config.split()[0]):
        load_settings(home)


def test_a_wrongly_typed_environment_value_raises_config_error(home, monkeypatch):
    monkeypatch.setenv("ANYSEEK_OVERSAMPLE", "lots")
    with pytest.raises(ConfigError, match="oversample.*int.*lots"):
        load_settings(home)


def test_a_wrongly_typed_override_raises_config_error(home):
    with pytest.raises(ConfigError, match="workers"):
        load_settings(home, {"workers": 1.5})


def test_a_broken_config_file_raises_config_error_naming_it(home):
    write_config(home, "workers = = 2\n")
    with pytest.raises(ConfigError, match=CONFIG_FILE):
        load_settings(home)


def test_a_given_config_file_overrides_the_index_toml_and_env_overrides_both(home, monkeypatch):
    (home / CONFIG_FILE).write_text("workers = 1\ntext_batch = 8\nimage_batch = 4\n")
    extra = home / "extra.toml"
    extra.write_text("workers = 3\ntext_batch = 16\n")
    monkeypatch.setenv("ANYSEEK_TEXT_BATCH", "32")
    settings = load_settings(home, {}, extra)
    assert (settings.image_batch, settings.workers, settings.text_batch) == (4, 3, 32)


def test_a_missing_config_file_is_a_clear_error(home):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(home, {}, home / "nope.toml")
