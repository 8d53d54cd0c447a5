"""Effective configuration, on pydantic-settings. Each source overrides the ones below it:

1. keyword arguments: CLI flags, `Engine.open(**overrides)` (a None value means "not given")
2. `ANYSEEK_<NAME>` environment variables
3. the TOML file given as `--config` / `config_file`
4. `anyseek.toml` in the index directory
5. the defaults in code

A TOML file holds the settings at its top level or in an `[anyseek]` table. Unknown keys in a file or among
the keywords are an error, so a typo never silently does nothing; an unrelated ANYSEEK_ variable
(ANYSEEK_HOME, ANYSEEK_CACHE) is not a setting. A bad value is one `ConfigError` line naming the setting,
where its value came from and what it must be. docs/configuration.md lists every setting.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import tomllib
import types
import typing
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from anyseek.engine.errors import ConfigError
from anyseek.engine.paths import default_home
from anyseek.engine.records import Mode
from anyseek.engine.request import format_weights, parse_weights
from anyseek.engine.text_spaces import TextSpaces, normalize_text_spaces

__all__ = [  # default_home, TextSpaces and normalize_text_spaces live elsewhere and are kept here for callers
    "CONFIG_FILE",
    "DEFAULT_TEXT_SPACES",
    "ENV_PREFIX",
    "MODEL_FIELDS",
    "ModelSpecs",
    "Settings",
    "TextSpaces",
    "default_home",
    "load_settings",
    "normalize_text_spaces",
]

CONFIG_FILE = "anyseek.toml"
ENV_PREFIX = "ANYSEEK_"

DEFAULT_JOINT_MODEL = "ViT-B-32"
DEFAULT_JOINT_PRETRAINED = "laion2b_s34b_b79k"
DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SPEECH_MODEL = "tiny.en"
# Which spaces hold text chunks (document passages, speech windows). Both by default: the joint space lets
# a photo find the passages that describe it; "text" alone halves to a third of the model work of indexing
# documents when no image needs to reach them (the CLIP text tower costs ~2x MiniLM per passage).
DEFAULT_TEXT_SPACES = normalize_text_spaces("joint,text")


@dataclass(frozen=True, slots=True)
class ModelSpecs:
    """Which models an index uses. Chosen when the index is created, then stored with it."""

    joint_model: str = DEFAULT_JOINT_MODEL
    joint_pretrained: str = DEFAULT_JOINT_PRETRAINED
    text_model: str = DEFAULT_TEXT_MODEL
    speech_model: str = DEFAULT_SPEECH_MODEL


MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelSpecs))

# The TOML tables of one load_settings call, highest first, for settings_customise_sources (a classmethod
# that pydantic-settings calls with no way to pass them). A ContextVar keeps concurrent loads apart.
_FILE_TABLES: ContextVar[tuple[dict[str, Any], ...]] = ContextVar("anyseek_file_tables", default=())


class _Table(PydanticBaseSettingsSource):
    """One TOML file's settings as a pydantic-settings source. Unknown keys pass through, so the model's
    extra="forbid" names them."""

    def __init__(self, settings_cls: type[BaseSettings], table: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.table = table

    def get_field_value(self, field, field_name: str) -> tuple[Any, str, bool]:
        return self.table.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.table)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # Model fields are None unless someone asked for a model: an existing index then keeps its own.
    joint_model: str | None = None
    joint_pretrained: str | None = None
    text_model: str | None = None
    speech_model: str | None = None
    # Like the models: fixed when the index is created (None: the index's). NoDecode: the environment
    # writes it "joint,text", not as JSON.
    text_spaces: Annotated[TextSpaces | None, NoDecode] = None
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # Decode workers. None follows the machine: cores, and whether the model is on a GPU (see
    # indexer/workers.plan_decoding). decode_workers_kind: threads | processes | auto (processes when the
    # model is on a GPU; threads with the model on the CPU, measured faster on 2 cores).
    workers: int | None = None
    decode_workers_kind: Literal["auto", "threads", "processes"] = "auto"
    # JPEGs: auto decodes them on the model's device when that is CUDA (batched nvJPEG); device does so on
    # any device (on the CPU: torchvision's libjpeg, which tests use); cpu decodes them with PIL as before.
    jpeg_decode: Literal["auto", "cpu", "device"] = "auto"
    torch_threads: int = 0  # 0: let torch decide
    image_batch: int = 32
    text_batch: int = 64
    # auto: the text model on ONNX Runtime when on CPU (same vectors, faster) | torch
    text_runtime: Literal["auto", "torch"] = "auto"
    # auto: on CPU, a text query in a process that has not loaded the models uses their text towers exported
    # to ONNX Runtime (same vectors; no torch import: a cold search in ~1/4 the time) | torch: load the models
    query_runtime: Literal["auto", "torch"] = "auto"
    queue_size: int = 64  # decoded files waiting for the encoders; bounds memory
    max_image_pixels: int = 100_000_000
    # JPEGs decode at a reduced DCT scale (1/2, 1/4, 1/8) down to this multiple of the model's input side;
    # 0 decodes at full size. Chosen by the worst case on detailed photos (bench/jpeg_draft.py: fine
    # texture, line art, small print, fractals): against a full decode, 1.0 gave a worst cosine of 0.993
    # (line art; pixel RMS 44/255 at a 224 px input), 2.0 0.9993 (RMS 2.9), both decoding ~4x as fast as
    # in full. A query photo decodes exactly the same way (docs/scores.md).
    jpeg_draft: float = 2.0
    max_text_bytes: int = 64 * 1024 * 1024
    max_file_bytes: int = 4 * 1024 * 1024 * 1024
    file_timeout_s: float = 120.0  # a file still decoding after this long is failed (0: no limit)
    max_audio_seconds: float = 3 * 3600.0  # decoded 16 kHz audio costs 230 MB per hour
    # Video: a longer or larger one is that file's error; max_video_frames is spread over the whole video
    # (the interval between frames stretches), so a long video is sampled thinner, not cut short.
    max_video_seconds: float = 3 * 3600.0
    max_video_pixels: int = 40_000_000  # 8K is 33 MP a frame
    max_video_frames: int = 300
    video_min_interval_s: float = 1.0  # no two frames of a video closer than this
    video_max_interval_s: float = 10.0  # a frame at least this often, even when nothing changes
    video_scene_threshold: float = 0.08  # picture change (0-1, pixels and colours) that takes a frame; bench/video.py
    # A video (or recording) with subtitles, beside it (film.srt, film.en.srt) or inside it (an MKV/MP4 text
    # track), is searched through its cues and Whisper is not run on it: the cues are the words said, with
    # their times, and skipping the transcription saves most of the video's indexing time (docs/formats.md).
    subtitles_replace_speech: bool = True
    # Extensions read as plain text as they are, e.g. ".py,.js,.svg": never taken for a web page or markup,
    # and read even when the encoding detector is unsure. Text files of any other unknown extension (or none:
    # README, TODO) are recognised by their content anyway.
    text_extensions: str = ""
    # Text in pictures (docs/ocr.md): photos, kept video frames and PDF pages without a text layer are read
    # with PP-OCR on ONNX Runtime. auto: on when the OCR package (rapidocr) is installed, which the default
    # install does | on: an error without it | off. A picture whose reading fails or runs past ocr_timeout_s
    # (seconds of the reading's own CPU time, so a busy machine does not trip it; each photo, frame or page;
    # 0: no limit) is indexed without its text, with a warning in the run's report.
    ocr: Literal["auto", "on", "off"] = "auto"
    ocr_timeout_s: float = 20.0
    speech_min_window_s: float = 4.0
    speech_max_window_s: float = 30.0
    speech_max_gap_s: float = 1.5
    oversample: int = 4
    search_mode: Mode = Mode.HYBRID  # hybrid: dense routes + lexical evidence (records.Mode: the closed set)
    # How far (in standard deviations of dense evidence) the best lexical match of a query can lift a
    # chunk in the hybrid mode; chosen on bench/quality.py (see README, Benchmarks).
    lexical_weight: float = 1.0
    save_interval_s: float = 30.0
    # Records (docs/record-collections.md): how a record's parts join in search. early: one fused vector per record and
    # space, the weighted mean of its parts' vectors; late: each part scored on its own route, and the
    # calibrated part scores joined by record_join (sum: the probabilistic sum 1 - prod((1 - s) ** w), a
    # record matches when any part does and better when several do; max; mean: weighted). The defaults were
    # chosen on bench/records.py.
    record_fusion: Literal["early", "late"] = "late"
    record_join: Literal["sum", "max", "mean"] = "sum"
    record_weights: str = ""  # "caption=0.3,picture=0.7": a field not named weighs 1; 0 leaves a field out
    # RAM the vector indexes of all spaces may hold, in MiB (0: a quarter of the machine's). It picks each
    # space's index kind: flat, IVF, IVF-PQ codes re-ranked from float16 rows on disk, or that with its lists
    # on disk too (engine/vectors/factory.choose_kind).
    vector_memory_mb: int = 0
    ann_recall: float = 0.95  # recall@10 that approximate indexes are tuned to when built (engine/vectors/tuning)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **_dotenv_and_secrets):
        """Keywords, then the environment, then the TOML files (the --config file before the index's own);
        no .env file and no secrets directory: anyseek never read those."""
        return (init_settings, env_settings, *(_Table(settings_cls, table) for table in _FILE_TABLES.get()))

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic takes true as 1; `oversample = true` in a file is a mistake to report, not a number
        if isinstance(value, bool) and cls.model_fields[info.field_name].annotation is not bool:
            raise ValueError(f"must be {_expected(cls, info.field_name)}")
        return value

    @field_validator("workers")
    @classmethod
    def _at_least_one_worker(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("(decode workers) must be at least 1")
        return value

    @field_validator("max_video_seconds", "max_video_pixels", "max_video_frames", "video_min_interval_s")
    @classmethod
    def _positive(cls, value: float) -> float:
        # limits that would make video sampling meaningless or endless are refused up front
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("record_weights")
    @classmethod
    def _record_weights(cls, value: str) -> str:
        # canonical "caption=0.3,picture=0.7"; a bad weight is this setting's error, named by its field
        return format_weights(parse_weights(value, ValueError)) if value else value

    @field_validator("ann_recall")
    @classmethod
    def _a_recall(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError("must be above 0 and at most 1")
        return value

    @field_validator("vector_memory_mb")
    @classmethod
    def _a_budget(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (automatic) or more")
        return value

    @field_validator("video_scene_threshold")
    @classmethod
    def _a_fraction(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError("must be between 0 and 1")
        return value

    @model_validator(mode="after")
    def _video_intervals_in_order(self) -> Settings:
        if self.video_max_interval_s < self.video_min_interval_s:
            raise ValueError(
                f"setting 'video_max_interval_s' ({self.video_max_interval_s}) must be at least "
                f"video_min_interval_s ({self.video_min_interval_s})"
            )
        return self

    def plain_extensions(self) -> frozenset[str]:
        """text_extensions as a set of lower-case extensions with their dot."""
        names = (name.strip().lower() for name in self.text_extensions.split(","))
        return frozenset(name if name.startswith(".") else f".{name}" for name in names if name)

    def requested_models(self) -> dict[str, str]:
        return {name: v for name in MODEL_FIELDS if (v := getattr(self, name)) is not None}

    def as_dict(self) -> dict[str, Any]:
        """Every value in plain types (text_spaces as "joint,text"): what `anyseek status` shows."""
        values = self.model_dump()
        values["text_spaces"] = None if self.text_spaces is None else str(self.text_spaces)
        values["search_mode"] = self.search_mode.value
        return values

    @classmethod
    def load(cls, home: Path, overrides: dict[str, Any] | None = None, config_file: Path | None = None):
        """The settings for the index at `home`, from every source (see the module docstring)."""
        paths = [path for path in (config_file, home / CONFIG_FILE) if path is not None]
        files = [(path, _read_toml(path)) for path in paths if path is config_file or path.is_file()]
        given = {name: value for name, value in (overrides or {}).items() if value is not None}
        token = _FILE_TABLES.set(tuple(table for _, table in files))
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError(_one_line(cls, exc, given, files)) from None
        finally:
            _FILE_TABLES.reset(token)


def load_settings(home: Path, overrides: dict[str, Any] | None = None, config_file: Path | None = None) -> Settings:
    return Settings.load(home, overrides, config_file)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return table.get("anyseek", table)


# --- one line per validation error ----------------------------------------------------------------
def _one_line(cls: type[Settings], exc: ValidationError, given: dict, files: list[tuple[Path, dict]]) -> str:
    """The first problem, as a sentence: all unknown keys at once, else the first bad value."""
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(cls.model_fields))})"
    error = errors[0]
    if not error["loc"]:  # a check across settings (model validator): its message is the whole sentence
        return str(error["ctx"]["error"])
    name = str(error["loc"][0])
    if error["type"] == "value_error":
        must = str(error["ctx"]["error"])
    else:
        must = f"must be {_expected(cls, name)}"
    return f"setting {name!r}{_origin(name, given, files)} {must}, got {error['input']!r}"


def _expected(cls: type[Settings], name: str) -> str:
    kind = cls.model_fields[name].annotation
    if typing.get_origin(kind) in (typing.Union, types.UnionType):  # X | None: None is the default, not a value
        kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
    if typing.get_origin(kind) is Literal:
        return "one of " + ", ".join(str(choice) for choice in typing.get_args(kind))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return "one of " + ", ".join(str(member.value) for member in kind)
    return getattr(kind, "expected", None) or getattr(kind, "__name__", str(kind))


def _origin(name: str, given: dict, files: list[tuple[Path, dict]]) -> str:
    """Where the bad value came from, for the person who has to fix it (keywords and flags need no pointer)."""
    if name in given:
        return ""
    variable = f"{ENV_PREFIX}{name.upper()}"
    if variable in os.environ:
        return f" (environment variable {variable})"
    for path, table in files:
        if name in table:
            return f" (in {path})"
    return ""
