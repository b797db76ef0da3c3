"""Errors that could quote a customer's data never do: a mapping that fails on a value names the
file, the column and the line, and leaves the value out (issue 13, "Privacy and injection")."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.ingest import IngestError, ingest_source
from loyalty.settings import load_settings
from tests.conftest import write_settings

MARKER = "pii-marker-7f3a@example.com"


def _ingest(folder: Path, kind: str, extra: dict) -> None:
    settings = load_settings(write_settings(folder, extra))
    with connect(settings) as conn:
        ingest_source(conn, settings, kind)


def _counts(folder: Path) -> tuple:
    settings = load_settings(folder / "settings.yaml")
    with connect(settings) as conn:
        return conn.execute(
            "select (select count(*) from surveys), (select count(*) from ingest_log)"
        ).fetchall()[0]


def test_a_mapping_that_fails_on_an_email_names_file_column_and_line_but_not_the_email(tmp_path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "surveys_1.csv").write_text(
        "response_id,customer_id,responded_at,score,contact\n"
        "R1,C1,2024-01-01 10:00:00,9,8\n"
        f"R2,C2,2024-01-02 10:00:00,7,{MARKER}\n"
        "R3,C3,2024-01-03 10:00:00,10,6\n",
        encoding="utf-8",
    )
    # a mapping written without try_cast: DuckDB's own message would quote the email
    extra = {
        "sources": {
            "surveys": {
                "files": "surveys*.csv",
                "columns": {"nps": "score", "csat": "cast(contact as integer)"},
            }
        }
    }
    with pytest.raises(IngestError) as e:
        _ingest(tmp_path, "surveys", extra)
    msg = str(e.value)
    assert MARKER not in msg and "example.com" not in msg
    assert "surveys_1.csv" in msg and "'csat'" in msg and "line 3" in msg
    assert "try_cast" in msg  # says how to fix it
    # nor does the traceback printed on stderr: DuckDB's message is not chained to it
    assert MARKER not in "".join(traceback.format_exception(e.value))
    # nothing of the failed load was kept
    assert _counts(tmp_path) == (0, 0)


def test_a_failing_query_mapping_does_not_quote_the_value_either(tmp_path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "resp.csv").write_text(
        f"rid,cust,at,score\nR1,C1,2024-01-01 10:00:00,{MARKER}\n", encoding="utf-8"
    )
    extra = {
        "sources": {
            "surveys": {
                "tables": {"r": "resp.csv"},
                "query": "select rid as response_id, cust as customer_id, at as responded_at, "
                "cast(score as integer) as nps from {r}",
            }
        }
    }
    with pytest.raises(IngestError) as e:
        _ingest(tmp_path, "surveys", extra)
    msg = str(e.value)
    assert MARKER not in msg and "resp.csv" in msg and "surveys query" in msg
    assert MARKER not in "".join(traceback.format_exception(e.value))


def test_a_failing_aggregate_mapping_names_the_column_without_the_value(tmp_path):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "lines_1.csv").write_text(
        "Inv,Qty,Stamp,Cust\n"
        "1001,2,2024-02-01 10:00:00,17\n"
        "1002,1,2024-02-02 10:00:00,18\n"
        f"1002,{MARKER},2024-02-02 10:00:00,18\n",
        encoding="utf-8",
    )
    extra = {
        "sources": {
            "orders": {
                "files": "lines*.csv",
                "aggregate_by": "Inv",
                "columns": {
                    "order_id": "Inv",
                    "customer_id": "min(Cust)",
                    "ordered_at": "min(Stamp)",
                    "amount": "sum(cast(Qty as integer))",
                },
            }
        }
    }
    with pytest.raises(IngestError) as e:
        _ingest(tmp_path, "orders", extra)
    msg = str(e.value)
    assert MARKER not in msg
    assert msg.startswith("lines_1.csv: the mapping of column 'amount' fails on a value")
