"""Customer-level lists of a segment on day D: every customer (`customers`) and every at-risk
customer (`churn_warnings`), by value, one query each (sql/reports/<kind>.sql).

The workbooks read their top rows (the query's own LIMIT), the HTML its top N as dicts, and the CSVs
every row, streamed by DuckDB straight to disk (`COPY (select ...) TO ...`, values bound), so no
customer row passes through Python there. Emails are masked in SQL; names and phones are never read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from loyalty import engine
from loyalty.vocab import ALL, TIERS

KINDS = ("customers", "churn_warnings")


def tiers_of(segment: str) -> list[str]:
    """The tiers whose customers make up a segment (`all`: every tier)."""
    return list(TIERS) if segment == ALL else [segment]


def _query(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown customer list {kind!r}; known: {KINDS}")
    return f"reports/{kind}.sql"


def _params(day: dt.date, segment: str, limit: int | None) -> dict[str, Any]:
    return {"as_of": day, "tiers": tiers_of(segment), "row_limit": limit}


def top_dicts(
    conn: duckdb.DuckDBPyConnection, kind: str, day: dt.date, segment: str, limit: int
) -> list[dict[str, Any]]:
    return engine.query_file(conn, _query(kind), _params(day, segment, limit))


def top_tuples(
    conn: duckdb.DuckDBPyConnection, kind: str, day: dt.date, segment: str, limit: int
) -> list[tuple[Any, ...]]:
    """The first `limit` rows as plain tuples in the query's column order: compact, since up to
    2 x `reports.workbook_customer_rows` rows per segment are held while rendering."""
    return conn.execute(engine.sql_text(_query(kind)), _params(day, segment, limit)).fetchall()


def copy_csv(
    conn: duckdb.DuckDBPyConnection, kind: str, day: dt.date, segment: str, path: str
) -> None:
    """DuckDB writes every row of the list to `path` as CSV with a header.

    The path is not a bindable parameter of COPY: it is quoted as a SQL string literal."""
    target = "'" + str(path).replace("'", "''") + "'"
    conn.execute(
        f"copy (\n{engine.sql_text(_query(kind))}\n) to {target} "
        "(format csv, header, force_quote (customer_id))",
        _params(day, segment, None),
    )
