"""Every customer of a segment as CSV, written by DuckDB beside the segment's workbook.

The workbooks hold the top `reports.workbook_customer_rows` customers by value; these files hold every
customer of the segment on D (and every at-risk one), with the sheets' columns under machine names. DuckDB
streams the rows straight to disk (reports/lists.py), so no customer row passes through Python and the
files' size does not bound the memory used; each list is read once for every segment's file. Written always, also when a segment fits its sheet, so the
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
    out: dict[str, dict[str, Path]] = {seg: {} for seg in segments}
    for kind in lists.KINDS:
        paths = {seg: folder / csv_name(week.label, seg, kind) for seg in segments}
        tmps = {seg: path.with_name(path.name + ".tmp") for seg, path in paths.items()}
        lists.copy_csv_parts(conn, kind, week.end, {s: str(p) for s, p in tmps.items()}, value)
        for seg, path in paths.items():
            os.replace(tmps[seg], path)
            out[seg][kind] = path
    return out
