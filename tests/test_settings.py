"""Settings: every source in its documented order, any field type, one-line errors, text_spaces as a set of
spaces; and where an index and the caches live on each platform. (More cases of the layers and of typed
values are in tests/test_query_syntax.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import platformdirs.windows
import pytest
from platformdirs.macos import MacOS
from platformdirs.unix import Unix
from platformdirs.windows import Windows

from anyseek.engine import paths
from anyseek.engine.errors import ConfigError
from anyseek.engine.records import Space
from anyseek.engine.settings import CONFIG_FILE, Settings, TextSpaces, load_settings


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    for name in list(os.environ):
        if name.startswith("ANYSEEK_") and name not in ("ANYSEEK_CACHE",):
            monkeypatch.delenv(name)
    home = tmp_path / "index"
    home.mkdir()
    return home


# --- the order of the sources ------------------------------------------------------------------------------
def test_each_source_overrides_the_ones_below_it_in_the_documented_order(home, monkeypatch):
    extra = home.parent / "extra.toml"
    extra.write_text("oversample = 3\n")
    (home / CONFIG_FILE).write_text("oversample = 2\n")
    monkeypatch.setenv("ANYSEEK_OVERSAMPLE", "4")
    assert load_settings(home, {"oversample": 5}, extra).oversample == 5  # keyword (CLI flag)
    assert load_settings(home, {"oversample": None}, extra).oversample == 4  # environment
    monkeypatch.delenv("ANYSEEK_OVERSAMPLE")
    assert load_settings(home, {}, extra).oversample == 3  # --config file
    assert load_settings(home).oversample == 2  # the index's anyseek.toml
    (home / CONFIG_FILE).unlink()
    assert load_settings(home).oversample == Settings.model_fields["oversample"].default == 4  # the default


class WithDeadline(Settings):
    """A setting that may be unset: `float | None` (the hand-made coercion this replaced raised KeyError)."""

    deadline_s: float | None = None


def test_an_optional_float_setting_comes_from_the_environment_and_from_toml(home, monkeypatch):
    assert WithDeadline.load(home).deadline_s is None
    (home / CONFIG_FILE).write_text("deadline_s = 2\n")
    assert WithDeadline.load(home).deadline_s == 2.0
    monkeypatch.setenv("ANYSEEK_DEADLINE_S", "0.25")
    assert WithDeadline.load(home).deadline_s == 0.25
    monkeypatch.setenv("ANYSEEK_DEADLINE_S", "soon")
    with pytest.raises(
        ConfigError,
        match=r"^setting 'deadline_s' \(environment variable ANYSEEK_DEADLINE_S\) must be float, got 'soon'$",
    ):
        WithDeadline.load(home)


# --- errors ----------------------------------------------------------------------------------------------
def test_a_bad_value_is_one_line_naming_the_setting_its_source_and_what_it_must_be(home, monkeypatch):
    (home / CONFIG_FILE).write_text("[anyseek]\nsearch_mode = 'fuzzy'\n")
    with pytest.raises(ConfigError) as from_file:
        load_settings(home)
    assert str(from_file.value) == (
        f"setting 'search_mode' (in {home / CONFIG_FILE}) must be one of hybrid, dense, lexical, got 'fuzzy'"
    )
    monkeypatch.setenv("ANYSEEK_IMAGE_BATCH", "many")
    with pytest.raises(ConfigError) as from_env:
        load_settings(home, {"search_mode": "dense"})
    assert (
        str(from_env.value)
        == "setting 'image_batch' (environment variable ANYSEEK_IMAGE_BATCH) must be int, got 'many'"
    )
    with pytest.raises(ConfigError) as from_keyword:
        load_settings(home, {"search_mode": "dense", "image_batch": 8, "max_video_frames": -1})
    assert str(from_keyword.value) == "setting 'max_video_frames' must be greater than 0, got -1"


def test_a_bool_setting_takes_true_and_false_and_a_number_setting_does_not(home, monkeypatch):
    (home / CONFIG_FILE).write_text("subtitles_replace_speech = false\n")
    assert load_settings(home).subtitles_replace_speech is False
    monkeypatch.setenv("ANYSEEK_SUBTITLES_REPLACE_SPEECH", "yes")
    assert load_settings(home).subtitles_replace_speech is True
    monkeypatch.setenv("ANYSEEK_SUBTITLES_REPLACE_SPEECH", "perhaps")
    with pytest.raises(ConfigError, match="subtitles_replace_speech.*must be bool, got 'perhaps'"):
        load_settings(home)
    with pytest.raises(ConfigError, match="^setting 'oversample' must be int, got True$"):
        load_settings(home, {"oversample": True, "subtitles_replace_speech": True})


def test_unknown_keys_are_all_named_at_once(home):
    (home / CONFIG_FILE).write_text("imag_batch = 8\nsearch_mod = 'dense'\n")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\): imag_batch, search_mod \(known: ") as raised:
        load_settings(home)
    assert "\n" not in str(raised.value)


# --- text_spaces ------------------------------------------------------------------------------------------
def test_text_spaces_is_a_set_of_spaces_read_from_its_written_form_anywhere(home, monkeypatch):
    (home / CONFIG_FILE).write_text("text_spaces = 'text'\n")
    from_file = load_settings(home).text_spaces
    assert isinstance(from_file, TextSpaces) and from_file == {Space.TEXT}
    monkeypatch.setenv("ANYSEEK_TEXT_SPACES", "text, joint")
    from_env = load_settings(home).text_spaces
    assert from_env == frozenset({Space.JOINT, Space.TEXT}) and str(from_env) == "joint,text"
    assert load_settings(home, {"text_spaces": "joint"}).text_spaces == {Space.JOINT}
    assert load_settings(home, {"text_spaces": {Space.TEXT}}).text_spaces == {Space.TEXT}


def test_text_spaces_compares_and_prints_as_its_written_form(home):
    spaces = load_settings(home, {"text_spaces": "text,joint"}).text_spaces
    assert spaces == "joint,text" and spaces != "text,joint" and spaces != "text"
    assert Space.TEXT in spaces and "joint" in spaces
    assert load_settings(home, {"text_spaces": "joint,text"}).as_dict()["text_spaces"] == "joint,text"
    assert load_settings(home).as_dict()["text_spaces"] is None  # unset: the index's own


def test_unknown_text_spaces_are_one_line_naming_the_allowed_values(home, monkeypatch):
    monkeypatch.setenv("ANYSEEK_TEXT_SPACES", "pixels")
    with pytest.raises(ConfigError) as raised:
        load_settings(home)
    assert str(raised.value) == (
        "setting 'text_spaces' (environment variable ANYSEEK_TEXT_SPACES) must be 'joint,text', 'text' or "
        "'joint', got 'pixels'"
    )


# --- where things live ------------------------------------------------------------------------------------
@pytest.fixture()
def user(tmp_path, monkeypatch) -> Path:
    """A user with a fresh home folder and none of the variables that say where things go."""
    for name in ("ANYSEEK_HOME", "ANYSEEK_CACHE", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "ann"))
    return tmp_path / "ann"


def on(platform: type, monkeypatch) -> None:
    monkeypatch.setattr(platformdirs, "PlatformDirs", platform)
    # Windows asks the shell for its folders; here they are what a Windows machine would answer
    folders = {"CSIDL_LOCAL_APPDATA": r"C:\Users\ann\AppData\Local", "CSIDL_APPDATA": r"C:\Users\ann\AppData\Roaming"}
    monkeypatch.setattr(platformdirs.windows, "get_win_folder", folders.__getitem__)


def test_on_linux_the_index_and_cache_stay_where_they_always_were(user, monkeypatch):
    on(Unix, monkeypatch)
    assert paths.default_home() == user / ".local" / "share" / "anyseek" / "default"
    assert paths.cache_root() == user / ".cache" / "anyseek"


@pytest.mark.parametrize(
    "platform, data, cache",
    [
        (MacOS, "~/Library/Application Support/anyseek", "~/Library/Caches/anyseek"),
        (Windows, r"C:\Users\ann\AppData\Local/anyseek", r"C:\Users\ann\AppData\Local/anyseek/Cache"),
    ],
    ids=["macos", "windows"],
)
def test_macos_and_windows_get_their_platforms_folders(user, monkeypatch, platform, data, cache):
    on(platform, monkeypatch)
    assert paths.default_home() == Path(data).expanduser() / "default"
    assert paths.cache_root() == Path(cache).expanduser()


@pytest.mark.parametrize("platform", [Unix, MacOS, Windows], ids=["linux", "macos", "windows"])
def test_anyseek_home_cache_and_the_xdg_variables_win_on_every_platform(user, tmp_path, monkeypatch, platform):
    on(platform, monkeypatch)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    assert paths.default_home() == tmp_path / "xdg-data" / "anyseek" / "default"
    assert paths.cache_root() == tmp_path / "xdg-cache" / "anyseek"
    monkeypatch.setenv("ANYSEEK_HOME", "~/my-index")
    monkeypatch.setenv("ANYSEEK_CACHE", str(tmp_path / "my-cache"))
    assert paths.default_home() == user / "my-index"
    assert paths.cache_root() == tmp_path / "my-cache"


def test_an_index_where_older_releases_put_it_on_macos_stays_the_default_until_one_is_made_here(user, monkeypatch):
    on(MacOS, monkeypatch)
    legacy = user / ".local" / "share" / "anyseek" / "default"
    legacy.mkdir(parents=True)
    (legacy / "anyseek.db").write_bytes(b"")
    assert paths.default_home() == legacy
    platform_home = user / "Library" / "Application Support" / "anyseek" / "default"
    platform_home.mkdir(parents=True)
    (platform_home / "anyseek.db").write_bytes(b"")
    assert paths.default_home() == platform_home


def test_asking_a_server_loads_no_settings_library(tmp_path):
    """The CLI's path to a running server stays light: pydantic-settings would cost it ~0.15 s."""
    code = (
        "import sys; from anyseek.cli import app, client; assert client.connect(None) is None; "
        "print(sorted({'pydantic_settings', 'anyseek.engine.settings'} & set(sys.modules)))"
    )
    env = {**os.environ, "ANYSEEK_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_configuration_reference_lists_every_setting_with_its_variable():
    reference = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"| `{name}` |" in reference and f"`ANYSEEK_{name.upper()}`" in reference, name
