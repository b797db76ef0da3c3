"""The customers behind the say-do cells as CSV, one file per segment beside its workbook
(`loyalty_<week>_<segment>_say_do.csv`): customer ids and their answer, behaviour, value and status
only, never a contact field. DuckDB streams the rows to disk with the same formula neutralisation
as the other CSVs (reports/lists.py); each file is written to a temporary name and renamed."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from loyalty import engine
from loyalty.reports.export import csv_name
from loyalty.reports.insight import NPS_CLASSES, say_do_params
from loyalty.reports.insight_model import InsightData
from loyalty.reports.insight_view import SAY_DO_CSV
from loyalty.reports.lists import neutralised
from loyalty.weeks import Week


def write_say_do_csvs(
    conn: duckdb.DuckDBPyConnection,
    data: InsightData,
    week: Week,
    segments: list[str],
    folder: Path,
) -> dict[str, Path]:
    """Write each segment's say-do customers of the month shown; {segment: path}. Nothing when no
    month is shown (no say_do table, no NPS answers, no month whose windows all ended)."""
    if data.say_do_period is None:
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for seg in segments:
        path = folder / csv_name(week.label, seg, SAY_DO_CSV)
        tmp = path.with_name(path.name + ".tmp")
        params = {**say_do_params(data, seg), "classes": list(NPS_CLASSES), "row_limit": None}
        query, bound = neutralised(conn, engine.sql_text("reports/say_do_customers.sql"), params)
        engine.copy_csv(conn, query, bound, tmp)
        os.replace(tmp, path)
        out[seg] = path
    return out
