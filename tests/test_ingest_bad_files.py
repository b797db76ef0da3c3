"""Bad files are named in words, oversize fields are quarantined instead of stopping the load, a
blank header name is read by position, a dangling link is logged, globs stay in the landing
folder, and a full spill folder is named (issue 13, "Bad input")."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.ingest import IngestError, ingest_source
from loyalty.settings import SettingsError, load_settings
from tests.conftest import write_settings

HEADER = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
SURVEY_HEADER = "response_id,customer_id,responded_at,nps,csat,ces,comment\n"


def _ingest(folder: Path, kind: str = "orders", extra: dict | None = None):
    settings = load_settings(write_settings(folder, extra))
    with connect(settings) as conn:
        return settings, ingest_source(conn, settings, kind)


def _rows(settings, sql: str) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(sql).fetchall()


def _landing(folder: Path) -> Path:
    (folder / "landing").mkdir(parents=True, exist_ok=True)
    return folder / "landing"


def test_a_huge_comment_quarantines_its_response_and_every_other_row_loads(tmp_path):
    limit = 100_000  # ingest.max_field_chars's default
    long_comment = "x" * (limit + 1)
    huge_line_comment = "y" * 3_000_000  # over the CSV reader's 2 MB line limit
    _landing(tmp_path).joinpath("surveys_1.csv").write_text(
        SURVEY_HEADER
        + "R1,C1,2024-01-01 10:00:00,9,5,7,fine\n"
        + f"R2,C2,2024-01-02 10:00:00,8,4,6,{long_comment}\n"
        + "R3,C3,2024-01-03 10:00:00,7,3,5,ok\n"
        + f"R4,C4,2024-01-04 10:00:00,6,2,4,{huge_line_comment}\n"
        + "R5,C5,2024-01-05 10:00:00,10,5,7,great\n",
        encoding="utf-8",
    )
    settings, result = _ingest(tmp_path, "surveys")
    f = result.files[0]
    assert _rows(settings, "select response_id from surveys order by 1") == [
        ("R1",),
        ("R3",),
        ("R5",),
    ]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (5, 3, 2)
    assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_filtered
    q = _rows(settings, "select line, reason_code, column_name, reason, record from quarantine")
    assert [(r[0], r[1], r[2]) for r in sorted(q)] == [
        (3, "too_long", "comment"),
        (5, "too_long", None),
    ]
    by_line = {r[0]: r for r in q}
    assert f"{limit + 1} characters" in by_line[3][3] and "max_field_chars" in by_line[3][3]
    # the records are kept cut to the limit, not in full
    assert len(json.loads(by_line[3][4])["comment"]) == limit
    kept = json.loads(by_line[5][4])["line"]
    assert kept.startswith("R4,C4,") and len(kept) <= limit


def test_the_field_limit_is_a_setting(tmp_path):
    _landing(tmp_path).joinpath("surveys_1.csv").write_text(
        SURVEY_HEADER
        + "R1,C1,2024-01-01 10:00:00,9,5,7,short\n"
        + "R2,C2,2024-01-02 10:00:00,8,4,6,a comment of about forty characters or so\n",
        encoding="utf-8",
    )
    settings, _ = _ingest(tmp_path, "surveys", {"ingest": {"max_field_chars": 20}})
    assert _rows(settings, "select response_id from surveys") == [("R1",)]
    assert _rows(settings, "select line, reason_code, column_name from quarantine") == [
        (3, "too_long", "comment")
    ]


def test_a_latin1_byte_in_the_header_names_the_file_line_and_encoding(tmp_path):
    _landing(tmp_path).joinpath("orders_x.csv").write_bytes(
        b"order_id,customer_id,ordered_at,amount,r\xe9gion\nO1,C1,2024-01-01,1,x\n"
    )
    with pytest.raises(IngestError) as e:
        _ingest(tmp_path)
    msg = str(e.value)
    assert msg.startswith("orders_x.csv: line 1: the header is not valid utf-8")
    assert "0xE9" in msg and "reader.encoding" in msg


def test_a_png_named_like_an_export_is_refused_in_words(tmp_path):
    _landing(tmp_path).joinpath("orders_x.csv").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    )
    with pytest.raises(IngestError) as e:
        _ingest(tmp_path)
    assert str(e.value) == "orders_x.csv: not a CSV text file: its bytes are a PNG image"


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_corrupt_gzip_export_is_refused_in_words(tmp_path, damage):
    body = (
        HEADER
        + "".join(f"O{i},C{i},2024-01-01 10:00:00,{i},completed,0,web\n" for i in range(2000))
    ).encode()
    data = gzip.compress(body)
    data = data[: len(data) // 2] if damage == "truncated" else data[:12] + b"\x00" * 64 + data[76:]
    _landing(tmp_path).joinpath("orders_x.csv.gz").write_bytes(data)
    with pytest.raises(IngestError) as e:
        _ingest(tmp_path, extra={"sources": {"orders": {"files": "orders*.csv.gz"}}})
    msg = str(e.value)
    assert msg.startswith("orders_x.csv.gz: the gzip data is corrupt or cut short")
    assert "Error -3" not in msg


def test_a_blank_header_name_as_r_writes_it_is_read_as_column0_with_a_notice(tmp_path):
    _landing(tmp_path).joinpath("orders_r.csv").write_text(
        '"","order_id","customer_id","ordered_at","amount"\n'
        '"1","O1","C1","2024-01-01 10:00:00",10.5\n'
        '"2","O2","C2","2024-01-02 10:00:00",4\n',
        encoding="utf-8",
    )
    extra = {
        "sources": {"orders": {"files": "orders*.csv", "columns": {"channel": "'row ' || column0"}}}
    }
    settings, result = _ingest(tmp_path, extra=extra)
    assert _rows(settings, "select order_id, channel from orders order by 1") == [
        ("O1", "row 1"),
        ("O2", "row 2"),
    ]
    assert "column 1 of the header has no name: read as column0" in result.files[0].note
    assert _rows(settings, "select note from ingest_log") == [(result.files[0].note,)]


def test_a_dangling_symlink_in_the_landing_folder_is_logged_once(tmp_path):
    landing = _landing(tmp_path)
    (landing / "orders_1.csv").write_text(HEADER + "O1,C1,2024-01-01 10:00:00,1,completed,0,web\n")
    os.symlink(tmp_path / "gone" / "orders_2.csv", landing / "orders_2.csv")
    settings, result = _ingest(tmp_path)
    assert [(f.file_name, f.status) for f in result.files] == [
        ("orders_1.csv", "loaded"),
        ("orders_2.csv", "skipped"),
    ]
    note = result.files[1].note
    assert "symbolic link" in note and "gone/orders_2.csv" in note and "does not exist" in note
    assert _rows(settings, "select file_name, status, note from ingest_log order by load_id")[
        1
    ] == (
        "orders_2.csv",
        "skipped",
        note,
    )
    _, again = _ingest(tmp_path)
    assert again.files == []  # logged once, not on every run


@pytest.mark.parametrize(
    ("glob", "words"),
    [
        ("../elsewhere/orders*.csv", "climbs out of the landing folder"),
        ("/etc/*.csv", "absolute path"),
    ],
)
def test_a_glob_that_leaves_the_landing_folder_is_refused_at_settings_load(tmp_path, glob, words):
    with pytest.raises(SettingsError) as e:
        load_settings(write_settings(tmp_path, {"sources": {"orders": {"files": glob}}}))
    assert "sources.orders.files" in str(e.value) and words in str(e.value)
    with pytest.raises(SettingsError, match="sources.surveys.tables"):
        load_settings(
            write_settings(
                tmp_path,
                {
                    "sources": {
                        "orders": {"files": "o.csv"},
                        "surveys": {"tables": {"s": glob}, "query": "select 1"},
                    }
                },
            )
        )


def test_a_full_spill_folder_is_named_not_reported_as_out_of_memory(tmp_path):
    rows = "".join(
        f"O{i:07d},C{i % 5000},2024-01-01 10:00:00,{i % 977}.25,completed,0,web-{i:09d}-padding\n"
        for i in range(300_000)
    )
    _landing(tmp_path).joinpath("orders_big.csv").write_text(HEADER + rows, encoding="utf-8")
    settings = load_settings(
        write_settings(tmp_path, {"duckdb": {"memory_limit": "40MB", "threads": 1}})
    )
    with connect(settings) as conn:
        # the disk of the spill folder, as if it were all but full
        conn.execute("set max_temp_directory_size = '1MB'")
        with pytest.raises(IngestError) as e:
            ingest_source(conn, settings, "orders")
    msg = str(e.value)
    assert f"the spill directory {settings.temp_path} is full" in msg
    assert "Out of Memory" not in msg
