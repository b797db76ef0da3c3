"""Every loaded row and every quarantined line points at the line of the export it came from,
blank lines in the file or not, Windows line endings or not; a quarantined line's record is the
line as the file holds it."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.ingest import blanklines, ingest_source
from loyalty.settings import load_settings
from tests.conftest import write_settings

HEADER = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel"


def _order(key: str, amount: str = "10.00") -> str:
    return f"{key},C-{key},2024-01-01 10:00:00,{amount},completed,0,web"


# an export with blank lines between its rows (one right after the header, several in a row, one
# at the end), rows the reader cannot parse (too few / too many fields) and a row whose amount is
# not a number, each after some blank lines
LINES = [
    HEADER,
    "",
    _order("O1"),
    _order("O2"),
    "",
    _order("O3"),
    "",
    "",
    "",
    "O4,C-O4,2024-01-01 10:00:00,5",  # too few fields
    _order("O5"),
    "",
    _order("O6", amount="abc"),  # not a number
    _order("O7"),
    "",
    _order("O8") + ",extra",  # too many fields
    "",
    "",
    _order("O9"),
    _order("O10"),
    "",
]
LOADED = ["O1", "O2", "O3", "O5", "O7", "O9", "O10"]
QUARANTINED = ["O4", "O6", "O8"]


def _ingest(tmp_path: Path, name: str, data: bytes, files: str = "orders*.csv"):
    settings = load_settings(write_settings(tmp_path, {"sources": {"orders": {"files": files}}}))
    (tmp_path / "landing" / name).write_bytes(data)
    with connect(settings) as conn:
        result = ingest_source(conn, settings, "orders")
        loaded = dict(conn.execute("select order_id, _line from orders").fetchall())
        quarantine = conn.execute(
            "select line, reason_code, record from quarantine order by line"
        ).fetchall()
    return result.files[0], loaded, quarantine


def _physical_lines(data: bytes) -> list[str]:
    """The file's lines as a text editor numbers them (line 1 first), without their endings."""
    return data.decode("utf-8").replace("\r\n", "\n").split("\n")


def _line_of(lines: list[str], key: str) -> int:
    """The number of the one line whose first field is `key`."""
    found = [n for n, text in enumerate(lines, start=1) if text.split(",")[0] == key]
    assert len(found) == 1, (key, found)
    return found[0]


def _quarantined_key(record: str) -> str:
    value = json.loads(record)
    # a line the reader could not parse is kept as it was; a parsed one by its columns
    return value["line"].split(",")[0] if "line" in value else value["order_id"]


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["unix", "windows"])
def test_rows_after_blank_lines_keep_the_line_numbers_of_the_file(tmp_path, ending):
    data = ending.join(LINES).encode("utf-8")
    f, loaded, quarantine = _ingest(tmp_path, "orders_blank.csv", data)
    lines = _physical_lines(data)
    assert sum(1 for text in lines[1:] if not text) > 0  # the file does have blank lines

    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (
        len(LOADED) + len(QUARANTINED),
        len(LOADED),
        len(QUARANTINED),
    )
    assert loaded == {key: _line_of(lines, key) for key in LOADED}
    assert sorted(_quarantined_key(r[2]) for r in quarantine) == sorted(QUARANTINED)
    for line, _reason, record in quarantine:
        assert line == _line_of(lines, _quarantined_key(record))


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["unix", "windows"])
def test_an_unparseable_line_is_kept_as_the_file_holds_it(tmp_path, ending):
    data = ending.join(LINES).encode("utf-8")
    _, _, quarantine = _ingest(tmp_path, "orders_blank.csv", data)
    lines = _physical_lines(data)
    unparseable = [(line, record) for line, reason, record in quarantine if reason != "bad_type"]
    assert len(unparseable) == 2
    for line, record in unparseable:
        kept = json.loads(record)["line"]
        assert not kept.startswith(("\n", "\r"))
        assert kept == lines[line - 1]


def test_a_gzipped_export_with_blank_lines_is_numbered_as_its_lines(tmp_path):
    data = "\n".join(LINES).encode("utf-8")
    _, loaded, quarantine = _ingest(
        tmp_path, "orders_blank.csv.gz", gzip.compress(data), files="orders*.csv.gz"
    )
    lines = _physical_lines(data)
    assert loaded == {key: _line_of(lines, key) for key in LOADED}
    assert [line for line, _, _ in quarantine] == sorted(
        _line_of(lines, key) for key in QUARANTINED
    )


def test_a_blank_line_inside_a_quoted_value_is_part_of_its_record(tmp_path):
    # the note of O2 spans three lines, one of them empty: one record, as the reader reads it;
    # records are numbered as the CSV module counts them (a blank line is one, a record one)
    text = "\n".join(
        [
            "order_id,customer_id,ordered_at,amount,status,refund_amount,channel",
            _order("O1"),
            'O2,C-O2,2024-01-01 10:00:00,10.00,completed,0,"web\n\nshop"',
            "",
            "O3,C-O3,2024-01-01 10:00:00,5",  # too few fields
            "",
            _order("O4"),
        ]
    )
    data = text.encode("utf-8")
    _, loaded, quarantine = _ingest(tmp_path, "orders_quoted.csv", data)
    path = tmp_path / "landing" / "orders_quoted.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        records = {row[0]: n for n, row in enumerate(csv.reader(fh), start=1) if row}
    assert loaded == {key: records[key] for key in ("O1", "O2", "O4")}
    assert [line for line, _, _ in quarantine] == [records["O3"]]


@pytest.mark.parametrize("block", [1, 3])
def test_blank_lines_across_read_blocks_are_numbered_as_in_one(tmp_path, monkeypatch, block):
    # the file is read a block at a time: blocks of a few bytes split the blank lines, the
    # line endings and the quoted values between blocks
    monkeypatch.setattr(blanklines, "BLOCK", block)
    text = "\r\n".join(
        [
            HEADER,
            _order("O1"),
            "",
            'O2,C-O2,2024-01-01 10:00:00,10.00,completed,0,"web\r\n\r\nshop"',
            "",
            "",
            "O3,C-O3,2024-01-01 10:00:00,5",  # too few fields
            _order("O4"),
            "",
            _order("O5"),
        ]
    )
    _, loaded, quarantine = _ingest(tmp_path, "orders_blocks.csv", text.encode("utf-8"))
    path = tmp_path / "landing" / "orders_blocks.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        records = {row[0]: n for n, row in enumerate(csv.reader(fh), start=1) if row}
    assert loaded == {key: records[key] for key in ("O1", "O2", "O4", "O5")}
    assert [line for line, _, _ in quarantine] == [records["O3"]]


def test_in_a_one_column_export_a_blank_line_is_a_record_of_its_own(tmp_path):
    # with one column the reader reads a blank line as an empty value (here filtered out by the
    # mapping), not skipping it: the rows after it keep their lines all the same
    lines = ["record", "O1;C1", "", "O2;C2", "", "", "O3;C3"]
    data = "\n".join(lines).encode("utf-8")
    settings = load_settings(
        write_settings(
            tmp_path,
            {
                "sources": {
                    "orders": {
                        "files": "orders*.csv",
                        "filter": "record is not null",
                        "columns": {
                            "order_id": "split_part(record, ';', 1)",
                            "customer_id": "split_part(record, ';', 2)",
                            "ordered_at": "'2024-01-01 10:00:00'",
                            "amount": "'10.00'",
                        },
                    }
                }
            },
        )
    )
    (tmp_path / "landing" / "orders_one.csv").write_bytes(data)
    with connect(settings) as conn:
        result = ingest_source(conn, settings, "orders")
        loaded = dict(conn.execute("select order_id, _line from orders").fetchall())
    assert result.files[0].rows_filtered == lines.count("")
    assert loaded == {
        key: next(n for n, text in enumerate(lines, start=1) if text.startswith(key + ";"))
        for key in ("O1", "O2", "O3")
    }
