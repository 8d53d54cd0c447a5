"""Records from the command line, as a user types it: index --records, search --type record, the record
options' usage errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, TEST_MODEL_FLAGS
from tests.test_cli_e2e import anyseek


@pytest.fixture(scope="module")
def tickets_cli(tmp_path_factory):
    folder = Path(shutil.copytree(FIXTURES / "tickets", tmp_path_factory.mktemp("tickets") / "tickets"))
    index = tmp_path_factory.mktemp("cli-records")
    manifest = folder / "tickets.csv"
    done = anyseek("index", "--records", str(manifest), "--label-field", "team", *TEST_MODEL_FLAGS, index=index)
    assert done.returncode == 0, done.stderr
    return folder, index, done.stdout


def test_index_records_reports_rows(tickets_cli):
    _, _, printed = tickets_cli
    assert "6 rows seen, 6 added" in printed and "0 failed" in printed


def test_search_records_as_json_and_as_a_table(tickets_cli):
    folder, index, _ = tickets_cli
    args = ("search", "charged twice for the March invoice", "--type", "record", "-k", "3", "--no-server")
    done = anyseek(*args, "--json", "--fusion", "late", "--weights", "screenshot=0.5", index=index)
    assert done.returncode == 0, done.stderr
    hit = json.loads(done.stdout)["hits"][0]
    assert (hit["record_id"], hit["label"], hit["modality"]) == ("T-102", "billing", "record")
    assert {p["field"] for p in hit["parts"]} == {"description", "screenshot", "voice"}
    table = anyseek(*args, index=index)
    assert table.returncode == 0 and "T-102" in table.stdout and "[billing]" in table.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("search", "x", "--weights", "picture=-1"),
        ("index", "--records", "m.csv", "some-folder"),
    ],
)
def test_record_usage_errors_are_one_line_exit_2(args, tmp_path):
    done = anyseek(*args, index=tmp_path / "index")
    assert done.returncode == 2, done
    assert done.stderr.strip().splitlines()[0].startswith("error"), done.stderr
