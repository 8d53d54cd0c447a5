"""Effective configuration: defaults in code < `anyseek.toml` in the index directory < ANYSEEK_* environment
variables < explicit overrides (CLI flags or keyword arguments)."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyseek.engine.errors import ConfigError

CONFIG_FILE = "anyseek.toml"

DEFAULT_JOINT_MODEL = "ViT-B-32"
DEFAULT_JOINT_PRETRAINED = "laion2b_s34b_b79k"
DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SPEECH_MODEL = "tiny.en"
# Which spaces hold text chunks (document passages, speech windows). Both by default: the joint space lets
# a photo find the passages that describe it; "text" alone halves to a third of the model work of indexing
# documents when no image needs to reach them (the CLIP text tower costs ~2x MiniLM per passage).
DEFAULT_TEXT_SPACES = "joint,text"
TEXT_SPACE_NAMES = ("joint", "text")


def default_home() -> Path:
    """ANYSEEK_HOME, else the XDG data directory."""
    if env := os.environ.get("ANYSEEK_HOME"):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(xdg).expanduser() / "anyseek" / "default"


@dataclass(frozen=True, slots=True)
class ModelSpecs:
    """Which models an index uses. Chosen when the index is created, then stored with it."""

    joint_model: str = DEFAULT_JOINT_MODEL
    joint_pretrained: str = DEFAULT_JOINT_PRETRAINED
    text_model: str = DEFAULT_TEXT_MODEL
    speech_model: str = DEFAULT_SPEECH_MODEL


MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelSpecs))


@dataclass(frozen=True, slots=True)
class Settings:
    # Model fields are None unless someone asked for a model: an existing index then keeps its own.
    joint_model: str | None = None
    joint_pretrained: str | None = None
    text_model: str | None = None
    speech_model: str | None = None
    text_spaces: str | None = None  # like the models: fixed when the index is created (None: the index's)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # Decode workers. None follows the machine: cores, and whether the model is on a GPU (see
    # indexer/workers.plan_decoding). decode_workers_kind: threads | processes | auto (processes when the
    # model is on a GPU; threads with the model on the CPU, measured faster on 2 cores).
    workers: int | None = None
    decode_workers_kind: str = "auto"
    # JPEGs: auto decodes them on the model's device when that is CUDA (batched nvJPEG); device does so on
    # any device (on the CPU: torchvision's libjpeg, which tests use); cpu decodes them with PIL as before.
    jpeg_decode: str = "auto"
    torch_threads: int = 0  # 0: let torch decide
    image_batch: int = 32
    text_batch: int = 64
    text_runtime: str = "auto"  # auto: the text model on ONNX Runtime when on CPU (same vectors, faster) | torch
    # auto: on CPU, a text query in a process that has not loaded the models uses their text towers exported
    # to ONNX Runtime (same vectors; no torch import: a cold search in ~1/4 the time) | torch: load the models
    query_runtime: str = "auto"
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
    # (each photo, frame or page) is indexed without its text, with a warning in the run's report.
    ocr: str = "auto"
    ocr_timeout_s: float = 20.0
    speech_min_window_s: float = 4.0
    speech_max_window_s: float = 30.0
    speech_max_gap_s: float = 1.5
    oversample: int = 4
    search_mode: str = "hybrid"  # hybrid (dense routes + lexical evidence) | dense | lexical
    # How far (in standard deviations of dense evidence) the best lexical match of a query can lift a
    # chunk in the hybrid mode; chosen on bench/quality.py (see README, Benchmarks).
    lexical_weight: float = 1.0
    save_interval_s: float = 30.0

    def plain_extensions(self) -> frozenset[str]:
        """text_extensions as a set of lower-case extensions with their dot."""
        names = (name.strip().lower() for name in self.text_extensions.split(","))
        return frozenset(name if name.startswith(".") else f".{name}" for name in names if name)

    def requested_models(self) -> dict[str, str]:
        return {name: v for name in MODEL_FIELDS if (v := getattr(self, name)) is not None}

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


CHOICES = {
    "search_mode": ("hybrid", "dense", "lexical"),
    "text_runtime": ("auto", "torch"),
    "query_runtime": ("auto", "torch"),
    "decode_workers_kind": ("auto", "threads", "processes"),
    "jpeg_decode": ("auto", "cpu", "device"),
    "ocr": ("auto", "on", "off"),
}


def normalize_text_spaces(value: str) -> str:
    """Canonical form ("text, joint" -> "joint,text"); anything but a non-empty subset of the two is refused."""
    names = sorted({name.strip() for name in value.split(",") if name.strip()})
    if not names or set(names) - set(TEXT_SPACE_NAMES):
        raise ConfigError(f"text_spaces must be 'joint,text', 'text' or 'joint', got {value!r}")
    return ",".join(names)


def _coerce(name: str, raw: Any, kind: type) -> Any:
    """Strings (environment variables) are parsed; typed values (TOML, keyword arguments) must already be
    of the right type, so `workers = 2.5` or `device = ["cpu"]` is an error rather than silently 2 or
    "['cpu']". An int is a fine float."""
    typed = isinstance(raw, kind) or (kind is float and isinstance(raw, int))
    if isinstance(raw, str) or (typed and not (isinstance(raw, bool) and kind is not bool)):
        try:
            if kind is bool and isinstance(raw, str):
                return raw.lower() in ("1", "true", "yes", "on")
            return kind(raw)
        except (TypeError, ValueError):
            pass
    raise ConfigError(f"setting {name!r} must be {kind.__name__}, got {raw!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return table.get("anyseek", table)


def _field_types() -> dict[str, type]:
    types = {"int": int, "float": float, "str": str, "bool": bool, "str | None": str, "int | None": int}
    return {f.name: types[str(f.type)] for f in dataclasses.fields(Settings)}


def load_settings(home: Path, overrides: dict[str, Any] | None = None, config_file: Path | None = None) -> Settings:
    """Merge the layers. Unknown keys are an error, so a typo never silently does nothing.
    `config_file` (the CLI's --config) is read after the index directory's own anyseek.toml."""
    types = _field_types()
    merged: dict[str, Any] = {}
    for path in (home / CONFIG_FILE, config_file):
        if path is not None and (path.is_file() or path is config_file):
            merged.update(_read_toml(path))
    for name in types:
        if (env := os.environ.get(f"ANYSEEK_{name.upper()}")) is not None:
            merged[name] = env
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = sorted(set(merged) - set(types))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(types))})")
    values = {k: _coerce(k, v, types[k]) for k, v in merged.items()}
    for name, allowed in CHOICES.items():
        if name in values and values[name] not in allowed:
            raise ConfigError(f"setting {name!r} must be one of {', '.join(allowed)}, got {values[name]!r}")
    if values.get("text_spaces"):
        values["text_spaces"] = normalize_text_spaces(values["text_spaces"])
    if values.get("workers") is not None and values["workers"] < 1:
        raise ConfigError(f"setting 'workers' (decode workers) must be at least 1, got {values['workers']}")
    settings = Settings(**values)
    check_video_settings(settings)
    return settings


def check_video_settings(settings: Settings) -> None:
    """Video limits that would make sampling meaningless or endless are refused up front."""
    for name in ("max_video_seconds", "max_video_pixels", "max_video_frames", "video_min_interval_s"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"setting {name!r} must be greater than 0, got {getattr(settings, name)!r}")
    if settings.video_max_interval_s < settings.video_min_interval_s:
        raise ConfigError(
            f"setting 'video_max_interval_s' ({settings.video_max_interval_s}) must be at least "
            f"video_min_interval_s ({settings.video_min_interval_s})"
        )
    if not 0 < settings.video_scene_threshold < 1:
        raise ConfigError(
            f"setting 'video_scene_threshold' must be between 0 and 1, got {settings.video_scene_threshold!r}"
        )
