"""Customer-level lists of a segment on day D: every customer (`customers`) and every at-risk
customer (`churn_warnings`), one query each (sql/reports/<kind>.sql).

The at-risk list has two sources with the same columns (reports/value.py, `list_query`): the model's
customers with status at_risk by value at risk (sql/reports/churn_warnings_model.sql) when the
model's scores are used, else the rules' churn_risk customers by value (churn_warnings.sql). The
HTML, the Churn warnings sheet and the CSV always read the same source.

The workbooks read their top rows (the query's own LIMIT), the HTML the first N of those as dicts,
and the CSVs every row, streamed by DuckDB straight to disk (`COPY (select ...) TO ...`, values bound), so no
customer row passes through Python there; a list is read once for every segment's CSV and cut by
tier (`copy_csv_parts`). Emails are masked in SQL; names and phones are never read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from loyalty import engine
from loyalty.reports.model import ValueData
from loyalty.reports.value import list_query
from loyalty.sqlsafe import quote_ident
from loyalty.vocab import ALL, TIERS

KINDS = ("customers", "churn_warnings")


def tiers_of(segment: str) -> list[str]:
    """The tiers whose customers make up a segment (`all`: every tier)."""
    return list(TIERS) if segment == ALL else [segment]


def by_segment(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The rows of a read over every report segment (`all` and each tier, in the column
    `report_segment`: sql/reports/segment_counts.sql and others), split by segment, that column
    dropped."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.pop("report_segment"), []).append(r)
    return out


def list_source(
    kind: str, day: dt.date, segment: str, limit: int | None, value: ValueData | None
) -> tuple[str, dict[str, Any]]:
    """The query file of a list and its parameters (exactly those the query uses): what
    `top_rows`, `top_tuples` and `copy_csv` run."""
    if kind not in KINDS:
        raise ValueError(f"unknown customer list {kind!r}; known: {KINDS}")
    params: dict[str, Any] = {"as_of": day, "tiers": tiers_of(segment), "row_limit": limit}
    name = kind
    if kind == "churn_warnings" and value is not None:
        name, list_day, extra = list_query(value)
        params.update(extra, as_of=list_day or day)
    return f"reports/{name}.sql", params


def top_tuples(
    conn: duckdb.DuckDBPyConnection,
    kind: str,
    day: dt.date,
    segment: str,
    limit: int,
    value: ValueData | None = None,
) -> list[tuple[Any, ...]]:
    """The first `limit` rows as plain tuples in the query's column order: compact, since up to
    2 x `reports.workbook_customer_rows` rows per segment are held while rendering."""
    return top_rows(conn, kind, day, segment, limit, value)[1]


def top_rows(
    conn: duckdb.DuckDBPyConnection,
    kind: str,
    day: dt.date,
    segment: str,
    limit: int,
    value: ValueData | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The query's column names and its first `limit` rows as tuples (`top_tuples`)."""
    name, params = list_source(kind, day, segment, limit, value)
    cur = conn.execute(engine.sql_text(name), params)
    return [d[0] for d in cur.description or ()], cur.fetchall()


def copy_csv_parts(
    conn: duckdb.DuckDBPyConnection,
    kind: str,
    day: dt.date,
    files: dict[str, str],
    value: ValueData | None = None,
) -> None:
    """Every row of the list for each segment of `files` ({segment: path}), written to its path as
    CSV with a header (by the engine). The list is read once for all of them (the segments'
    tiers) and cut by tier: the same rows, in the same order, as a read per segment."""
    segments = list(files)
    tiers = [t for t in TIERS if any(t in tiers_of(seg) for seg in segments)]
    name, params = list_source(kind, day, ALL, None, value)
    query, params = neutralised(conn, engine.sql_text(name), {**params, "tiers": tiers})
    parts = [(files[seg], [neutral(t) for t in tiers_of(seg)]) for seg in segments]
    engine.copy_csv_parts(conn, query, params, "tier", parts)


# a cell a spreadsheet reads as a formula starts with one of these (OWASP, "CSV Injection")
FORMULA_START = "^[=+@\t\r-]"


def neutral(text: str) -> str:
    """A text value as `neutralised` writes it (for selecting the rows that hold it)."""
    return "'" + text if re.match(FORMULA_START, text) else text


def neutralised(
    conn: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`query` with every text value that starts like a formula (`=`, `+`, `-`, `@`, tab, CR)
    prefixed with a single quote, as OWASP recommends: a spreadsheet shows the text and runs
    nothing. Numbers, dates and empty cells are untouched. Column names come from the query's own
    result (quoted); the pattern is the bound parameter `$formula_start`."""
    described = conn.execute(f"select * from (\n{query}\n) limit 0", params).description or ()
    text = [quote_ident(d[0]) for d in described if str(d[1]).upper() in ("VARCHAR", "STRING")]
    if not text:
        return query, params
    replace = ", ".join(
        f"case when regexp_matches({c}, $formula_start) then chr(39) || {c} else {c} end as {c}"
        for c in text
    )
    return f"select * replace ({replace}) from (\n{query}\n)", {
        **params,
        "formula_start": FORMULA_START,
    }
