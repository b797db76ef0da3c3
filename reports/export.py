"""Every customer of a segment as CSV, written by DuckDB beside the segment's workbook.

The workbooks hold the top `reports.workbook_customer_rows` customers by value; these files hold every
customer of the segment on D (and every at-risk one), with the sheets' columns under machine names. DuckDB
streams the rows straight to disk (reports/lists.py), so no customer row passes through Python and the
files' size does not bound the memory used. Written always, also when a segment fits its sheet, so the
full list is always in the same place. Each file is written to a temporary name and renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from loyalty.reports import lists
from loyalty.reports.model import ValueData
from loyalty.weeks import Week


def csv_name(week_label: str, segment: str, kind: str) -> str:
    return f"loyalty_{week_label}_{segment}_{kind}.csv"


def write_segment_csvs(
    conn: duckdb.DuckDBPyConnection,
    week: Week,
    segments: list[str],
    folder: Path,
    value: ValueData | None = None,
) -> dict[str, dict[str, Path]]:
    """Write the customers and churn-warnings CSVs of each segment; returns {segment: {kind: path}}.

    The churn-warnings file has the at-risk list's source: the model's when `value` says its scores
    are used, else the rules' (reports/lists.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Path]] = {}
    for seg in segments:
        paths = {}
        for kind in lists.KINDS:
            path = folder / csv_name(week.label, seg, kind)
            tmp = path.with_name(path.name + ".tmp")
            lists.copy_csv(conn, kind, week.end, seg, str(tmp), value)
            os.replace(tmp, path)
            paths[kind] = path
        out[seg] = paths
    return out
