"""Extraction per modality: text decoding and passages, safe image decoding, audio decoding and windows."""

from __future__ import annotations

import io
import re
import struct
import wave
import zlib

import numpy as np
import pytest
from PIL import Image

from anyseek.engine.encoders.speech import SAMPLE_RATE, SpokenWord
from anyseek.engine.errors import ExtractionError
from anyseek.media.audio import WindowRules, decode_audio, speech_windows
from anyseek.media.image import open_image
from anyseek.media.text import decode_text, split_passages
from tests.conftest import SPEECH

CAP = 100_000_000


def words(text: str) -> int:
    return len(text.split())


# --- text: decoding ----------------------------------------------------------------------------------

SAMPLE = "Le café était déjà fermé. Naïve “quotes” – and € signs."


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE.encode("utf-8"),
        b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"),
        SAMPLE.encode("utf-16"),  # with a BOM
        b"\xfe\xff" + SAMPLE.encode("utf-16-be"),
        SAMPLE.encode("utf-16-le"),  # no BOM
        SAMPLE.encode("utf-16-be"),  # no BOM
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "utf-16-be-bom", "utf-16-le-no-bom", "utf-16-be-no-bom"],
)
def test_unicode_encodings_decode_to_the_same_text(data):
    assert decode_text(data) == SAMPLE


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
@pytest.mark.parametrize("repeat", [1, 20])
def test_western_legacy_encodings_decode_correctly(encoding, repeat):
    text = "café déjà vu " * repeat
    assert decode_text(text.encode(encoding)) == text


def test_cp1252_punctuation_decodes_correctly():
    text = "Straße “quoted” – dash, 5 € … ¿Qué tal, señor?"
    assert decode_text(text.encode("cp1252")) == text


@pytest.mark.parametrize(
    "text, encoding",
    [
        ("Привет, как дела? Это тест кодировки для поиска. " * 3, "cp1251"),
        ("Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig. " * 2, "cp1250"),
    ],
    ids=["cyrillic", "polish"],
)
def test_non_western_legacy_encodings_are_not_mistaken_for_cp1252(text, encoding):
    assert decode_text(text.encode(encoding)) == text


def test_binary_with_nul_bytes_is_refused_as_not_a_text_document():
    with pytest.raises(ExtractionError, match="binary"):
        decode_text(bytes(range(256)) * 8)


def test_empty_text_decodes_to_nothing():
    assert decode_text(b"") == ""


# --- text: passages ----------------------------------------------------------------------------------

DOCUMENT = (
    "The harbour was quiet at dawn. Fishing boats rocked gently on the water!\r\n"
    "Gulls circled   overhead, calling to each other… Did anyone notice the fog?\n\n"
    "A new paragraph starts here. It talks about the market, the bakery and the café by the church.\n\n"
    + " ".join(f"word{i}" for i in range(45))
    + " and this very long sentence never ends with a stop because it is a run-on list of items\n"
    "Last line without a full stop"
)


def passages(text: str = DOCUMENT, max_tokens: int = 12):
    return split_passages(text, words, max_tokens)


def test_passage_offsets_point_at_their_text_in_the_document():
    chunks = passages()
    assert len(chunks) > 3
    for chunk in chunks:
        assert " ".join(DOCUMENT[chunk.char_start : chunk.char_end].split()) == chunk.text
        assert not DOCUMENT[chunk.char_start].isspace() and not DOCUMENT[chunk.char_end - 1].isspace()
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts) and all(a.char_end <= b.char_start for a, b in zip(chunks, chunks[1:]))


@pytest.mark.parametrize("max_tokens", [1, 5, 12, 40])
def test_passages_fit_the_token_window_and_lose_no_words(max_tokens):
    chunks = passages(max_tokens=max_tokens)
    assert all(words(c.text) <= max_tokens for c in chunks)
    assert [w for c in chunks for w in c.text.split()] == DOCUMENT.split()


def test_an_overlong_sentence_is_cut_at_word_boundaries():
    sentence = " ".join(f"token{i}" for i in range(50)) + "."
    chunks = passages(sentence, max_tokens=8)
    assert [words(c.text) for c in chunks] == [8, 8, 8, 8, 8, 8, 2]
    for chunk in chunks:
        assert chunk.char_start == 0 or sentence[chunk.char_start - 1] == " "
        assert chunk.char_end == len(sentence) or sentence[chunk.char_end] == " "


def test_whole_sentences_are_packed_together_until_the_window_is_full():
    text = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    assert [c.text for c in passages(text, max_tokens=7)] == [
        "One two three. Four five six.",
        "Seven eight nine. Ten eleven twelve.",
    ]


def test_a_paragraph_break_ends_a_passage_that_is_half_full():
    text = "Alpha beta gamma delta. Epsilon zeta.\n\nEta theta iota."
    assert [c.text for c in passages(text, max_tokens=10)] == [
        "Alpha beta gamma delta. Epsilon zeta.",
        "Eta theta iota.",
    ]


def test_blank_text_has_no_passages():
    assert passages(" \n\n\t ") == []


# --- images ------------------------------------------------------------------------------------------


def save(image: Image.Image, path, fmt: str, **options) -> bytes:
    image.save(path, fmt, **options)
    return bytes(path) if isinstance(path, bytes) else str(path).encode()


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = save(Image.new("RGB", (40, 20), (200, 30, 30)), tmp_path / "portrait.jpg", "JPEG", exif=exif)
    image = open_image(path, CAP)
    assert image.size == (20, 40)
    assert image.mode == "RGB"


def test_an_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    image = open_image(str(path).encode(), CAP)
    assert image.getpixel((4, 4)) == (255, 0, 0)


def test_a_pil_image_and_a_file_object_are_accepted(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (5, 7), 128).save(buffer, "PNG")
    buffer.seek(0)
    assert open_image(buffer, CAP).size == (5, 7)
    assert open_image(Image.new("RGBA", (3, 2)), CAP).mode == "RGB"


def png_declaring(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width × height: decoding it would allocate gigabytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR data follows the 8-byte signature and chunk head
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize("side", [12_000, 30_000])  # 144 MP: our cap; 900 MP: Pillow's bomb guard fires first
def test_an_image_over_the_pixel_cap_is_refused_before_decoding(side):
    data = png_declaring(side, side)
    assert len(data) < 100
    with pytest.raises(ExtractionError, match=r"100 MP cap \(setting max_image_pixels\)"):
        open_image(io.BytesIO(data), CAP)


def test_the_pixel_cap_follows_the_setting():
    data = png_declaring(100, 100)
    with pytest.raises(ExtractionError, match="cap"):
        open_image(io.BytesIO(data), 5_000)


def test_a_truncated_jpeg_is_refused_as_truncated_or_corrupt(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ExtractionError, match="truncated|corrupt"):
        open_image(str(path).encode(), CAP)


def test_a_text_file_is_refused_as_not_a_readable_image():
    with pytest.raises(ExtractionError, match="not a readable image"):
        open_image(io.BytesIO(b"just some words, not pixels"), CAP)


def test_heic_photos_are_decoded(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "photo.heic"
    try:
        pillow_heif.from_pillow(Image.new("RGB", (64, 48), (200, 10, 10))).save(path, quality=90)
    except (RuntimeError, ValueError, OSError) as exc:  # a build without an HEVC encoder
        pytest.skip(f"pillow_heif cannot write HEIC here: {exc}")
    image = open_image(str(path).encode(), CAP)
    assert image.size == (64, 48)
    red, green, blue = image.getpixel((32, 24))
    assert red > 150 and green < 60 and blue < 60


# --- audio -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["budget.wav", "meeting.mp3", "weather.ogg", "memo.m4a"])
def test_each_recording_decodes_to_16khz_mono_float32_of_its_duration(name, speech_manifest):
    audio = decode_audio(str(SPEECH / name).encode(), max_seconds=3600)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) / SAMPLE_RATE == pytest.approx(speech_manifest["files"][name]["duration_s"], abs=0.15)
    assert 0.01 < np.abs(audio).max() <= 1.0, "real signal, in the float range"


def test_audio_longer_than_the_limit_is_refused():
    with pytest.raises(ExtractionError, match="longer than"):
        decode_audio(str(SPEECH / "budget.wav").encode(), max_seconds=2)


def test_garbage_after_a_valid_mp3_header_is_refused():
    mp3 = (SPEECH / "meeting.mp3").read_bytes()
    garbage = np.random.default_rng(0).bytes(20_000)
    with pytest.raises(ExtractionError):
        decode_audio(io.BytesIO(b"\xff\xfb\x90\x64" + garbage), 3600)
    with pytest.raises(ExtractionError):
        decode_audio(io.BytesIO(mp3[:64] + garbage), 3600)  # an ID3 tag, then noise


def test_a_wav_with_no_samples_is_refused(tmp_path):
    path = tmp_path / "silent.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"")
    with pytest.raises(ExtractionError, match="no audio"):
        decode_audio(str(path).encode(), 3600)


def test_an_empty_file_is_refused():
    with pytest.raises(ExtractionError, match="cannot decode audio"):
        decode_audio(io.BytesIO(b""), 3600)


# --- speech windows ----------------------------------------------------------------------------------

RULES = WindowRules(min_seconds=2.0, max_seconds=6.0, max_gap_seconds=1.0, max_tokens=10)


def spoken(*timed: tuple[float, float, str]) -> list[SpokenWord]:
    return [SpokenWord(start, end, f" {text}") for start, end, text in timed]


def steady(count: int, start: float = 0.0, step: float = 0.4, sentence_every: int = 0) -> list[SpokenWord]:
    out = []
    for i in range(count):
        text = f"w{i}" + ("." if sentence_every and (i + 1) % sentence_every == 0 else "")
        out.append(SpokenWord(start + i * step, start + i * step + 0.3, f" {text}"))
    return out


def test_a_pause_longer_than_max_gap_splits_windows():
    words_ = spoken((0.0, 0.3, "hello"), (0.4, 0.7, "there"), (2.0, 2.3, "after"), (2.4, 2.6, "pause"))
    chunks = speech_windows(words_, RULES, words)
    assert [c.text for c in chunks] == ["hello there", "after pause"]


def test_a_sentence_end_splits_only_once_min_seconds_is_reached():
    words_ = spoken(
        (0.0, 0.4, "Hi."),  # a sentence end, but the window is shorter than min_seconds
        (0.5, 0.9, "we"),
        (1.0, 1.4, "met"),
        (1.5, 2.2, "today."),  # 2.2 s: long enough, so the next word starts a new window
        (2.3, 2.6, "Then"),
        (2.7, 3.0, "lunch."),
    )
    assert [c.text for c in speech_windows(words_, RULES, words)] == ["Hi. we met today.", "Then lunch."]


@pytest.mark.parametrize("step", [0.4, 0.9])  # tokens bind first, then seconds bind first
@pytest.mark.parametrize("sentence_every", [0, 3, 7])
def test_windows_never_exceed_max_seconds_or_max_tokens_and_keep_every_word(sentence_every, step):
    words_ = steady(120, step=step, sentence_every=sentence_every)
    chunks = speech_windows(words_, RULES, words)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.end_s - chunk.start_s <= RULES.max_seconds
        assert words(chunk.text) <= RULES.max_tokens
    assert " ".join(c.text for c in chunks).split() == [w.text.strip() for w in words_]


def test_windows_span_from_their_first_words_start_to_their_last_words_end():
    words_ = steady(30, start=1.234)
    chunks = speech_windows(words_, RULES, words)
    by_text = {w.text.strip(): w for w in words_}
    for chunk in chunks:
        first, last = chunk.text.split()[0], chunk.text.split()[-1]
        assert chunk.start_s == pytest.approx(by_text[first].start, abs=1e-3)
        assert chunk.end_s == pytest.approx(by_text[last].end, abs=1e-3)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_no_words_give_no_windows():
    assert speech_windows([], RULES, words) == []


def test_windows_keep_whispers_spacing_as_the_transcript():
    words_ = [SpokenWord(0.0, 0.3, " Good"), SpokenWord(0.3, 0.6, " morning,"), SpokenWord(0.6, 0.9, " all.")]
    (chunk,) = speech_windows(words_, RULES, words)
    assert chunk.text == "Good morning, all."
    assert re.fullmatch(r"\S.*\S", chunk.text)
