"""Daily-partitioned metric tables: the days of a run, and replacing exactly those days."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
import duckdb
from loyalty.engine import execute_file, transaction


def run_days(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the partition or partition range of this run."""
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()


def replace_days(
    conn: duckdb.DuckDBPyConnection, files: list[str], params: Mapping[str, Any]
) -> None:
    """Run SQL files that delete and re-insert a day range, all in one transaction.

    Readers see the old days or the new days, never a half-written range; on any error nothing of
    this run remains.
    """
    with transaction(conn):
        for name in files:
            execute_file(conn, name, params)
