"""Record manifests: JSONL, CSV and Python rows to typed records; broken rows are one-line errors and the
other rows are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyseek.engine.errors import ManifestError
from anyseek.engine.manifest import PartKind, read_manifest


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "shots").mkdir()
    (tmp_path / "shots" / "t1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "notes").mkdir()
    return tmp_path


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_jsonl_fields_become_file_parts_text_parts_label_and_metadata(folder):
    row = {"id": "T-1", "description": "app crashes", "screenshot": "shots/t1.png", "label": "mobile"}
    manifest = read_manifest(write_jsonl(folder / "tickets.jsonl", [{**row, "priority": 2, "urgent": True}]))
    (record,) = manifest.records
    assert record.id == "T-1" and record.label == "mobile" and record.row == 1
    assert [(p.field, p.kind) for p in record.parts] == [("description", "text"), ("screenshot", "file")]
    assert record.parts[0].text == "app crashes"
    assert record.parts[1].path == (folder / "shots" / "t1.png").resolve()
    assert dict(record.metadata) == {"priority": 2, "urgent": True}
    assert not manifest.errors and not manifest.warnings


def test_absolute_file_names_and_a_chosen_label_field(folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "voice.wav"
    elsewhere.write_bytes(b"RIFF")
    rows = [{"id": 7, "voice": str(elsewhere), "team": "backend", "label": "not the label"}]
    manifest = read_manifest(write_jsonl(folder / "m.jsonl", rows), label_field="team")
    (record,) = manifest.records
    assert record.id == "7" and record.label == "backend"
    kinds = {p.field: p.kind for p in record.parts}
    assert kinds == {"voice": PartKind.FILE, "label": PartKind.TEXT}  # `label` is an ordinary field here
    assert record.parts[0].path == elsewhere.resolve()


def test_csv_cells_read_as_json_would(folder):
    (folder / "m.csv").write_text(
        "id,description,screenshot,price,count,code,flag,label,note\n"
        'T-1,"multi\nline text",shots/t1.png,9.99,3,007,TRUE,42,\n'
        "T-2,second,,,,,false,,plain\n"
    )
    manifest = read_manifest(folder / "m.csv")
    first, second = manifest.records
    assert first.label == "42" and second.label is None  # a label stays a string; an empty one is none
    assert dict(first.metadata) == {"price": 9.99, "count": 3, "flag": True, "note": None}
    assert [p.field for p in first.parts] == ["description", "screenshot", "code"]  # "007": a code, text
    assert second.row == 4  # the first row's quoted cell spans two lines
    assert [p.field for p in second.parts] == ["description", "note"]


def test_broken_rows_are_one_line_errors_and_the_other_rows_are_kept(folder):
    rows = [
        {"id": "a", "text": "first"},
        {"text": "no id"},
        {"id": "a", "text": "duplicate"},
        "{not json",
        [1, 2],
        {"id": "", "text": "empty id"},
        {"id": 1.5, "text": "float id"},
        {"id": "b", "count": 3},
        {"id": "c", "text": "fine", "label": ["x"]},
        {"id": "d", "text": "last"},
    ]
    manifest = read_manifest(write_jsonl(folder / "m.jsonl", rows))
    assert [r.id for r in manifest.records] == ["a", "d"]
    lines = [str(e) for e in manifest.errors]
    assert all("\n" not in line and "m.jsonl row " in line for line in lines)
    assert [e.row for e in manifest.errors] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "field 'id'" in lines[0] and "no id" in lines[0]
    assert "duplicate id 'a' (first at row 1)" in lines[1]
    assert "not valid JSON" in lines[2] and "not an object" in lines[3]
    assert "nothing to index" in lines[6] and "field 'label'" in lines[7]


def test_csv_ragged_row_is_an_error_naming_its_row(folder):
    (folder / "m.csv").write_text("id,text\n1,one\n2,two,extra\n3\n4,four\n")
    manifest = read_manifest(folder / "m.csv")
    assert [r.id for r in manifest.records] == ["1", "4"]
    assert [(e.row, "3 fields where the header has 2" in str(e)) for e in manifest.errors][0] == (3, True)
    assert manifest.errors[1].row == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", "", "holds no records"),
        ("blank.jsonl", "\n\n  \n", "holds no records"),
        ("empty.csv", "", "holds no records"),
        ("header.csv", "id,text\n", "holds no records"),
        ("noid.csv", "name,text\nx,y\n", "no 'id' column"),
        ("twice.csv", "id,text,text\n1,a,b\n", "names 'text' twice"),
        ("nameless.csv", "id,,text\n1,a,b\n", "column 2 of the header has no name"),
    ],
)
def test_unreadable_manifests_are_one_whole_file_error(folder, name, content, message):
    (folder / name).write_text(content)
    with pytest.raises(ManifestError, match=message) as caught:
        read_manifest(folder / name)
    assert "\n" not in str(caught.value)


def test_missing_folder_and_non_utf8_manifests(folder):
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(folder / "nope.jsonl")
    with pytest.raises(ManifestError, match="is a folder"):
        read_manifest(folder / "notes")
    (folder / "latin.csv").write_bytes(b"id,text\n1,caf\xe9\n")
    with pytest.raises(ManifestError, match=r"not UTF-8 text \(line 2\)"):
        read_manifest(folder / "latin.csv")


def test_a_file_name_that_names_no_file_is_text_with_a_warning(folder):
    rows = [
        {"id": "1", "shot": "shots/missing.png", "folder": "notes/", "prose": "crash on login/settings page"},
        {"id": "2", "word": "notes", "path": "/no/such/file"},
    ]
    manifest = read_manifest(write_jsonl(folder / "m.jsonl", rows))
    assert all(p.kind is PartKind.TEXT for r in manifest.records for p in r.parts)
    warned = {(w.record_id, w.field): str(w) for w in manifest.warnings}
    assert set(warned) == {("1", "shot"), ("1", "folder"), ("2", "path")}  # prose and a bare word: no warning
    assert "names no file here, so it is read as text" in warned[("1", "shot")]
    assert "names a folder" in warned[("1", "folder")]


def test_python_rows_resolve_files_against_base(folder):
    rows = iter([{"id": "x", "shot": "shots/t1.png", "score": float("nan")}, {"id": "x", "shot": "again"}])
    manifest = read_manifest(rows, base=folder)
    (record,) = manifest.records
    assert record.parts[0].kind is PartKind.FILE and dict(record.metadata) == {"score": None}
    assert str(manifest.errors[0]).startswith("<records> row 2 (id 'x'), field 'id': duplicate id")
    with pytest.raises(ManifestError, match="holds no records"):
        read_manifest([])
    with pytest.raises(ManifestError, match="iterable of dicts"):
        read_manifest({"id": "1", "text": "a dict, not rows"})


def test_strings_too_long_or_odd_for_a_file_name_are_text(folder):
    rows = [{"id": "1", "long": "x" * 10_000, "nul": "a\x00b.png", "huge_name": "y" * 300 + ".png"}]
    (record,) = read_manifest(rows, base=folder).records
    assert all(p.kind is PartKind.TEXT for p in record.parts)
