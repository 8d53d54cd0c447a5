"""Text recognised by content (media/sniff_text.py), the formats told apart by their bytes, the setting
for users' own text extensions, and the schema step that stores slides, sheets and rows."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import sqlite3

import pytest

from anyseek.engine.errors import ExtractionError
from anyseek.engine.records import Modality
from anyseek.media.formats import read_document
from anyseek.media.parsed import TextWindow
from anyseek.media.sniff import sniff_bytes, sniff_file
from anyseek.media.sniff_text import looks_like_text
from tests.conftest import FIXTURES

FRENCH = "Le garçon a mangé une crème brûlée près du château, à côté de l'église."


@pytest.mark.parametrize(
    "data",
    [
        FRENCH.encode("utf-8"),
        FRENCH.encode("cp1252"),
        "Привет, как дела? Сегодня хорошая погода в Москве.".encode("cp1251"),
        "Το πρωί πήγαμε στη θάλασσα με τους φίλους μας.".encode(),
        b"\x1b[32mINFO\x1b[0m build finished\n",  # a terminal log keeps its colour escapes
        "ASCII text with a UTF-8 character cut at the end: é".encode()[:-1],  # a sample may end mid-character
    ],
)
def test_text_in_common_encodings_is_text(data):
    assert looks_like_text(data)


def test_binaries_are_not_text():
    noise = random.Random(7)
    assert not looks_like_text(bytes(noise.getrandbits(8) for _ in range(4096)))
    # random bytes without a single NUL are still mostly control characters and invalid sequences
    assert not looks_like_text(bytes(noise.choice(range(1, 256)) for _ in range(4096)))
    with open("/bin/true" if os.path.exists("/bin/true") else os.sys.executable, "rb") as fh:
        assert not looks_like_text(fh.read(8192))
    assert not looks_like_text(b"")


@pytest.mark.parametrize(
    ("head", "ext", "fmt"),
    [
        (b"Just a note.\n", "", "text"),
        (b"Notes about the build.\n", ".debian", "text"),  # README.Debian: an extension nobody lists
        (b"{\\rtf1\\ansi Hello}", ".doc", "rtf"),  # Word saves RTF under .doc
        (b"WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n", "", "vtt"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nHi\n", "", "srt"),
        (b"[Script Info]\nScriptType: v4.00+\n", "", "ass"),
        (b"From: a@example.org\nTo: b@example.org\nSubject: hi\n\nbody\n", "", "eml"),
        (b"From a@example.org Mon Jan  1 00:00:00 2024\nFrom: a@example.org\nSubject: x\n\nbody\n", "", "mbox"),
        (b"From the start, the plan was simple.\n", "", "text"),  # prose, not a mailbox
        (b'.\\" comment\n.TH LS 1\n', ".1", "roff"),
        (b"\\documentclass{article}\n\\begin{document}x\\end{document}", "", "tex"),
        (b"a,b\n1,2\n", ".csv", "csv"),
        (b"* TODO heading\n", ".org", "org"),
        (b'{"a": 1}', ".json", "text"),
    ],
)
def test_text_formats_are_told_apart(head, ext, fmt):
    assert sniff_bytes(head, ext).format == fmt


def test_a_users_text_extension_is_read_as_plain_text_never_as_a_page():
    component = b"<div>\n  <p>{{ greeting }}</p>\n</div>\n"
    assert sniff_bytes(component, ".vue").format == "html"
    assert sniff_bytes(component, ".vue", frozenset({".vue"})) == sniff_bytes(b"x", ".txt")
    assert sniff_bytes(b"\x00\x01binary", ".vue", frozenset({".vue"})).modality is None


def test_a_gzip_file_is_what_it_holds(tmp_path):
    (tmp_path / "notes.txt.gz").write_bytes(gzip.compress(b"plain words\n"))
    (tmp_path / "archive.tar.gz").write_bytes(gzip.compress(bytes(range(256)) * 8))
    text = random.Random(3).randbytes(20000).hex().encode()
    (tmp_path / "cut.txt.gz").write_bytes(gzip.compress(text)[:4000])  # a download cut short
    assert sniff_file(os.fsencode(tmp_path / "notes.txt.gz")).modality is Modality.TEXT
    assert sniff_file(os.fsencode(tmp_path / "archive.tar.gz")).modality is None
    assert sniff_file(os.fsencode(tmp_path / "archive.tar.gz")).problem is None  # not an error: nothing to read
    cut = os.fsencode(tmp_path / "cut.txt.gz")
    assert sniff_file(cut).format == "gz"
    with pytest.raises(ExtractionError, match="corrupt gzip file"):
        read_document(cut, "gz", TextWindow(lambda text: len(text.split()), 50), 10**6)


def test_an_office_zip_named_for_another_kind_is_reported(tmp_path):
    from tests.fixtures.make_document_fixtures import docx

    (tmp_path / "sheet.xlsx").write_bytes(docx(["a Word document under a spreadsheet's name"]))
    (tmp_path / "deck.pptx").write_bytes(b"PK\x03\x04 truncated")
    assert sniff_file(os.fsencode(tmp_path / "sheet.xlsx")).format == "docx"  # the content decides
    assert "corrupt .pptx document" in (sniff_file(os.fsencode(tmp_path / "deck.pptx")).problem or "")


def test_an_index_of_the_previous_schema_gains_the_location_columns(tmp_path):
    from anyseek.engine.store.database import DB_FILE
    from anyseek.engine.store.migrations import SCHEMA_VERSION
    from anyseek.engine.store.store import Store

    home = tmp_path / "index"
    shutil.copytree(FIXTURES / "indexes" / "schema-4", home)
    with sqlite3.connect(home / DB_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4
        before = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    store = Store(home / DB_FILE)
    store.initialize()
    store.close()
    with sqlite3.connect(home / DB_FILE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {row[1] for row in db.execute("PRAGMA table_info(chunks)")}
        assert {"slide", "sheet", "row", "row_end"} <= columns
        assert db.execute("SELECT count(*) FROM chunks WHERE slide IS NULL AND row IS NULL").fetchone()[0] == before


def test_a_cue_that_stops_mid_sentence_joins_the_next_and_keeps_its_start():
    from anyseek.media.subtitles import Cue, cue_chunks

    cues = [Cue(1.0, 2.0, "The keeper lit"), Cue(2.1, 3.5, "the lamp at dusk."), Cue(3.6, 4.0, "Then"),
            Cue(9.0, 10.0, "a storm came.")]  # fmt: skip
    chunks = cue_chunks(cues, TextWindow(lambda text: len(text.split()), 50))
    assert [(c.text, c.start_s, c.end_s) for c in chunks] == [
        ("The keeper lit the lamp at dusk.", 1.0, 3.5),
        ("Then", 3.6, 4.0),  # a pause of five seconds ends a sentence as surely as a full stop
        ("a storm came.", 9.0, 10.0),
    ]


def test_text_that_is_not_for_reading_is_ignored_unless_asked_for():
    xmp = b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>'
    assert sniff_bytes(xmp, ".xmp").modality is None  # beside every photo a photographer edits
    assert sniff_bytes(b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "").modality is None
    assert sniff_bytes(xmp, ".xmp", frozenset({".xmp"})).format == "text"
