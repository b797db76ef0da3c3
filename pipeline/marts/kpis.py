"""`kpi_daily`: the KPI board per day (SPEC §4), a range of days in one run. The steps are the
models in sql/marts/kpi_daily/ (its kpi_daily.sql explains them)."""

from __future__ import annotations

import datetime as dt

import duckdb

from loyalty import engine
from loyalty.marts.snapshot import stored_days_current
from loyalty.marts.summary import markdown_table
from loyalty.metric_params import model_params, range_params, snapshot_params_json
from loyalty.settings import Settings

BOARD = "marts/kpi_daily"

# where the customers' states on each day come from -> the steps that count them (the temp table
# kpi_counts): the stored snapshots' intervals, or every customer's state per day from the orders
STATES = {
    "snapshots": (f"{BOARD}/snapshots/kpi_counts",),
    "orders": (f"{BOARD}/orders/kpi_states", f"{BOARD}/orders/kpi_counts"),
}


def compute_kpis(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    states: str | None = None,
) -> str:
    """Replace the KPI board of days start..end atomically. The customers' states come from the
    stored snapshots when every day computed and its window start are stored and current, else
    from the orders (`states` forces one: "snapshots" or "orders"); returns which was used. A range
    whose first days' window starts precede the stored snapshots (a first run) takes its first
    days from the orders and the rest from the snapshots, in the same transaction."""
    params = {**model_params(settings), **range_params(start, end)}
    mid, current_days = (
        _snapshots_from(conn, settings, start, end) if states is None else (None, [])
    )
    if mid is not None and start < mid:
        with engine.transaction(conn):
            first = compute_kpis(conn, settings, start, mid - dt.timedelta(days=1), "orders")
            rest = compute_kpis(conn, settings, mid, end)
        return f"{first} ({start}..{mid - dt.timedelta(days=1)}), {rest} ({mid}..{end})"
    with engine.transaction(conn):
        engine.create_declared(conn, BOARD)
        # the board reads the model's value at risk; the table exists (empty) before any model run
        engine.create_declared(conn, "marts/revenue_at_risk")
        with engine.intermediate(conn) as steps:
            steps.create(f"{BOARD}/kpi_days", params)
            if states is None:
                days = conn.execute("select as_of, window_start from kpi_days").fetchall()
                needed = [d for pair in days for d in pair]
                # the days just found current need no second query (a night's board needs only
                # those: its day and window start; a day 7 before without a board needs more)
                current = set(needed) <= set(current_days) or stored_days_current(
                    conn, needed, snapshot_params_json(settings)
                )
                states = "snapshots" if current else "orders"
            for step in STATES[states]:
                steps.create(step, params)
            engine.replace_days(conn, BOARD, params)
    return states


def _snapshots_from(
    conn: duckdb.DuckDBPyConnection, settings: Settings, start: dt.date, end: dt.date
) -> tuple[dt.date | None, list[dt.date]]:
    """The first day of start..end whose window start is a stored day, when from it on every day
    and its window start are stored and current, and those days; (None, []) otherwise."""
    if not engine.table_exists(conn, "snapshot_params"):
        return None, []
    first = engine.scalar(conn, "select min(as_of) from snapshot_params")
    if first is None:
        return None, []
    window = dt.timedelta(days=model_params(settings)["kpi_window_days"])
    mid = max(start, first + window)
    if mid > end:
        return None, []
    days = [mid + dt.timedelta(days=i) for i in range((end - mid).days + 1)]
    needed = days + [d - window for d in days]
    if not stored_days_current(conn, needed, snapshot_params_json(settings)):
        return None, []
    return mid, needed


def board_on(conn: duckdb.DuckDBPyConnection, day: dt.date) -> str:
    """Markdown: the board of `day`."""
    return markdown_table(
        conn,
        "select kpi, round(value, 4) as value, target, change_7d, flag, n "
        "from kpi_daily where as_of = $end order by kpi",
        {"end": day},
    )
