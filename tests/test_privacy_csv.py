"""The CSVs written beside the workbooks: a value that a spreadsheet would read as a formula
(`=`, `+`, `-`, `@`, a leading tab or CR) is written with a single quote in front (OWASP "CSV
Injection"), so the spreadsheet shows the text and runs nothing; every other value is written
unchanged.

The database is the pipeline's own (tests/test_reports_fixture_db.py), with formula-like text put
into customer ids and segment names by SQL on the real tables."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from loyalty import engine
from loyalty.reports import export, lists
from loyalty.sqlsafe import quote_ident
from tests.test_reports_fixture_db import (
    CUSTOMER_TABLES,
    DAY,
    FORMULA_ID,
    WEEK,
    built_database,
    workspace,
)

INJECTED = {
    # value written into the data -> what a spreadsheet must receive
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0": "'@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
}
SEGMENT_FORMULA = '=HYPERLINK("http://evil.example/s","segment")'


@pytest.fixture(scope="session")
def pipeline_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_database(tmp_path_factory)


def _seed(settings) -> list[str]:
    """Give further at-risk customers formula-like ids and one a formula-like segment name."""
    with engine.connect(settings) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                """select customer_id from customer_snapshot
                   where as_of = ? and churn_risk and customer_id <> ?
                   order by monetary desc, customer_id limit ?""",
                [DAY, FORMULA_ID, len(INJECTED) + 1],
            ).fetchall()
        ]
        for old, new in zip(ids, INJECTED, strict=False):
            for table in CUSTOMER_TABLES:
                conn.execute(
                    f"update {quote_ident(table)} set customer_id = ? where customer_id = ?",
                    [new, old],
                )
        for part in ("customer_state_closed", "customer_state_current"):
            conn.execute(
                f"update {part} set segment = ? where customer_id = ? and valid_from <= ? "
                "and coalesce(valid_to, ?) >= ?",
                [SEGMENT_FORMULA, ids[-1], DAY, DAY, DAY],
            )
    return ids


def _read(path) -> list[dict[str, str]]:
    # newline="" keeps a CR inside a quoted cell, as a spreadsheet reads it
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_formula_like_values_are_quoted_in_every_csv(pipeline_db, tmp_path):
    settings = workspace(tmp_path, pipeline_db)
    _seed(settings)
    folder = tmp_path / "csv"
    with engine.connect(settings, read_only=True) as conn:
        written = export.write_segment_csvs(conn, WEEK, ["all"], folder)
        expected_rows = {
            kind: len(lists.top_tuples(conn, kind, DAY, "all", 1_000_000)) for kind in lists.KINDS
        }
    assert set(written["all"]) == set(lists.KINDS)
    for kind, path in written["all"].items():
        rows = _read(path)
        assert len(rows) == expected_rows[kind], kind
        ids = {r["customer_id"] for r in rows}
        # every injected id arrives quoted, never bare
        for raw, safe in {**INJECTED, FORMULA_ID: "'" + FORMULA_ID}.items():
            assert safe in ids, (kind, raw)
            assert raw not in ids, (kind, raw)
        # no cell of any text column starts like a formula
        for r in rows:
            for column, cell in r.items():
                assert cell[:1] not in ("=", "+", "@", "\t", "\r"), (kind, column, cell)
                if cell.startswith("-"):
                    # a negative number in a numeric column is a number, not text
                    float(cell)
        if kind == "customers":
            assert "'" + SEGMENT_FORMULA in {r["segment"] for r in rows}


def test_ordinary_values_are_written_unchanged(pipeline_db, tmp_path):
    settings = workspace(tmp_path, pipeline_db)
    folder = tmp_path / "csv"
    with engine.connect(settings, read_only=True) as conn:
        written = export.write_segment_csvs(conn, WEEK, ["all"], folder)
        stored = {
            r[0]: r[1]
            for r in conn.execute(
                "select customer_id, segment from customer_snapshot where as_of = ?", [DAY]
            ).fetchall()
        }
        in_order = [r[0] for r in lists.top_tuples(conn, "customers", DAY, "all", 1_000_000)]
    rows = _read(written["all"]["customers"])
    # the same rows in the same order as the sheet's query (by value), only the formula quoted
    assert [r["customer_id"] for r in rows] == ["'" + c if c == FORMULA_ID else c for c in in_order]
    plain = [r for r in rows if r["customer_id"] != "'" + FORMULA_ID]
    assert plain and all(stored[r["customer_id"]] == r["segment"] for r in plain)
    assert len(plain) == len(rows) - 1
