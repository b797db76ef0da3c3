"""Two failures that used to name too little (issue 13, "Bad input"):
- a source query (`sources.<kind>.query`) whose cast fails on a value names the file, the column
  and the line, never the value;
- a file that mixes Windows (CRLF) and Unix (LF) line endings, which DuckDB's reader refuses with
  "invalid state", is named with the first line of each kind and what to do.
Either way nothing of that kind is loaded."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.ingest import IngestError, ingest_source
from loyalty.settings import load_settings
from tests.conftest import write_settings

SECRET = "ann.secret@example.com"
QUERY = (
    "select r.rid as response_id, o.cust as customer_id, r.ts as responded_at, "
    "{csat} as csat from {{r}} r join {{o}} o on o.oid = r.oid"
)
REVIEWS = [
    "rid,oid,ts,score",
    "R1,O1,2024-01-01 10:00:00,5",
    "R2,O2,2024-01-02 10:00:00,4",
    f"R3,O1,2024-01-03 10:00:00,{SECRET}",
    "R4,O2,2024-01-04 10:00:00,3",
]
ORDERS_HEADER = b"order_id,customer_id,ordered_at,amount,status,refund_amount,channel"


def _query_settings(folder: Path, csat: str = "cast(r.score as integer)"):
    surveys = {
        "tables": {"r": "reviews*.csv", "o": "shop_orders*.csv"},
        "query": QUERY.format(csat=csat),
    }
    landing = folder / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "shop_orders.csv").write_text("oid,cust\nO1,C1\nO2,C2\n", encoding="utf-8")
    return load_settings(
        write_settings(
            folder, {"sources": {"orders": {"files": "orders*.csv"}, "surveys": surveys}}
        )
    )


def _fails(settings, kind: str) -> str:
    with connect(settings) as conn, pytest.raises(IngestError) as failed:
        ingest_source(conn, settings, kind)
    with connect(settings) as conn:
        assert conn.execute(f"select count(*) from {kind}").fetchone() == (0,)
    return str(failed.value)


def test_a_query_whose_cast_fails_names_the_file_the_column_and_the_line(tmp_path):
    settings = _query_settings(tmp_path)
    (tmp_path / "landing" / "reviews_1.csv").write_text("\n".join(REVIEWS) + "\n", "utf-8")
    message = _fails(settings, "surveys")
    # the line as an editor shows it: the header is line 1
    line = next(i for i, text in enumerate(REVIEWS, start=1) if SECRET in text)
    assert message.startswith(f"reviews_1.csv: line {line}: the surveys query's column 'csat'")
    assert "try_cast" in message
    assert SECRET not in message and "ann.secret" not in message


def test_a_query_that_changes_the_value_before_the_cast_names_the_column_without_a_line(tmp_path):
    settings = _query_settings(tmp_path, csat="cast(upper(r.score) as integer)")
    (tmp_path / "landing" / "reviews_1.csv").write_text("\n".join(REVIEWS) + "\n", "utf-8")
    message = _fails(settings, "surveys")
    assert "the surveys query's column 'csat' fails on a value" in message
    assert "reviews_1.csv" in message and "its line is not known" in message
    assert SECRET.upper() not in message and SECRET not in message


def test_a_file_mixing_crlf_and_lf_line_endings_is_named_with_what_to_do(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    lines = [
        ORDERS_HEADER + b"\r\n",
        b"O1,C1,2024-01-01 10:00:00,10.00,completed,0,web\r\n",
        b"O2,C2,2024-01-02 10:00:00,12.00,completed,0,web\n",  # line 3: LF only
        b"O3,C3,2024-01-03 10:00:00,13.00,completed,0,web\r\n",
    ]
    (landing / "orders_1.csv").write_bytes(b"".join(lines))
    settings = load_settings(write_settings(tmp_path))
    message = _fails(settings, "orders")
    first_lf = next(i for i, b in enumerate(lines, start=1) if not b.endswith(b"\r\n"))
    assert message.startswith("orders_1.csv: the file mixes line endings (line 1 ends with CRLF")
    assert f"line {first_lf} ends with LF only (Unix)" in message
    assert "`dos2unix orders_1.csv`" in message
    assert "invalid state" not in message

    # the same file compressed is named the same way; one kind of ending throughout loads
    (landing / "orders_1.csv").unlink()
    (landing / "orders_2.csv.gz").write_bytes(gzip.compress(b"".join(lines)))
    settings = load_settings(
        write_settings(tmp_path, {"sources": {"orders": {"files": "orders*"}}})
    )
    gz_message = _fails(settings, "orders")
    assert gz_message.startswith("orders_2.csv.gz: the file mixes")
    assert "gunzip, dos2unix and gzip orders_2.csv.gz again" in gz_message
    (landing / "orders_2.csv.gz").unlink()
    (landing / "orders_3.csv").write_bytes(b"".join(b.rstrip(b"\r\n") + b"\r\n" for b in lines))
    with connect(settings) as conn:
        (loaded,) = ingest_source(conn, settings, "orders").files
    assert loaded.rows_loaded == len(lines) - 1


def test_a_query_over_a_file_with_mixed_line_endings_names_that_file(tmp_path):
    settings = _query_settings(tmp_path)
    text = "\r\n".join(REVIEWS[:3]) + "\n" + REVIEWS[4] + "\n"  # line 3 ends in LF only
    (tmp_path / "landing" / "reviews_1.csv").write_bytes(text.encode())
    message = _fails(settings, "surveys")
    assert message.startswith("reviews_1.csv: the file mixes line endings")
    assert "(line 1 ends with CRLF (Windows), line 3 ends with LF only (Unix))" in message


def test_a_bare_carriage_return_among_lf_lines_is_named_too(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    rows = [
        ORDERS_HEADER,
        b"O1,C1,2024-01-01 10:00:00,10.00,completed,0,web",
        b"O2,C2,2024-01-02 10:00:00,12.00,completed,0,web",
        b"O3,C3,2024-01-03 10:00:00,13.00,completed,0,web",
    ]
    # line 2 ends with a bare CR (old Mac), so an editor splitting at LF shows it joined to line 3
    (landing / "orders_1.csv").write_bytes(
        rows[0] + b"\n" + rows[1] + b"\r" + rows[2] + b"\n" + rows[3] + b"\n"
    )
    message = _fails(load_settings(write_settings(tmp_path)), "orders")
    assert message.startswith("orders_1.csv: the file mixes line endings")
    assert "line 1 ends with LF only (Unix), line 2 holds a bare CR (old Mac)" in message
