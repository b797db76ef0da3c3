"""Daily-partitioned metric assets: the days of a run (a partition or a partition range)."""

import datetime as dt

import dagster as dg


def run_days(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the partition or partition range of this run."""
    window = context.partition_time_window
    return window.start.date(), (window.end - dt.timedelta(days=1)).date()
