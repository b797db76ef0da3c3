"""`customer_value` and the model's tables for many days at once on DuckDB (a first run's model
days: the last day and the Sundays of `model.history_weeks`), set-based where the day-by-day path
(loyalty.marts.value.compute_customer_value) runs a statement per day (docs/model.md, "Tables,
status and backtest").

One pass of SQL over all the days: the per-customer sums of every day (value_customer_days.sql,
from the orders), their summary (value_summary.sql), the distinct rows the model reads, the
backtest's quality of every day (loyalty.marts.value_rows), and one insert into customer_value.
What is per day stays per day: each day's fits (two threads, as the nightly run), the guards
(loyalty.marts.value_run.run_model, unchanged), the few rows of model_fit and model_quality, and
model_backtest's deciles (a window over one day's customers: partitioned by day, it cost the
nightly run 0.2 s at 10 M orders). The rows are the day-by-day path's (tests/test_value_days.py).
At CDNOW size (23.6 k customers, 27 days) the days took 4.6-5.1 s one by one; docs/benchmark.md.

For small populations only (loyalty.marts.value.GROUP_CUSTOMERS): the days' sums are held at
once, rows x days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from loyalty import engine
from loyalty.marts import value_rows, value_run, value_state
from loyalty.marts.value_rows import no_rows
from loyalty.marts.value_run import PURPOSES
from loyalty.settings import Settings

VALUE = "marts/customer_value"
DAYS_CUSTOMERS = f"{VALUE}/value_customer_days"
SUMMARY = f"{VALUE}/value_summary"
# the table written for all days in one statement; the others a day at a time (model_fit and
# model_quality are a few rows a day; model_backtest.sql ranks one day's customers)
TOGETHER = ("customer_value",)
PER_DAY = ("model_fit", "model_quality", "model_backtest")
# the registered tables every day contributes rows to (DuckSide.tables)
SHARED = (
    "value_scores_rows",
    "value_backtest_rows",
    "value_scores_values",
    "value_backtest_values",
    "value_day_runs",
)


def compute_value_range(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    days: list[dt.date],
    day_params: dict[str, Any],
) -> list[tuple[dt.date, value_run.Run]]:
    """Replace `days` (ascending) of customer_value, model_fit, model_backtest and model_quality
    in the caller's transaction, and move value_customer_state to the last day. `day_params` are
    compute_customer_value's settings parameters. Returns each day's model run."""
    cfg = settings.model
    horizon = cfg.horizon_days
    params = {**day_params, "start_date": days[0], "end_date": days[-1]}
    conn.execute(
        "create or replace temp table value_days as "
        "select unnest($days::date[]) as as_of, as_of - $horizon::integer as calibration_end",
        {"days": days, "horizon": horizon},
    )
    try:
        with engine.intermediate(conn) as steps:
            steps.create(DAYS_CUSTOMERS, params)
            steps.create(SUMMARY, params)
            rows = {p: value_rows.rows_by_day(conn, p) for p in PURPOSES}
            sides = {
                d: value_run.DuckSide(
                    conn, horizon, d, {p: rows[p].get(d, no_rows()) for p in PURPOSES}
                )
                for d in days
            }
            _known_qualities(conn, settings, sides)
            runs = [(d, value_run.run_model(sides[d], settings)) for d in days]
            _write(conn, settings, params, sides, runs)
    finally:
        conn.execute("drop table if exists value_days")
    last = days[-1]
    value_state.bring_to(conn, settings, last, last - dt.timedelta(days=horizon))
    return runs


def _known_qualities(
    conn: duckdb.DuckDBPyConnection, settings: Settings, sides: dict[dt.date, Any]
) -> None:
    """Fit and score every day the guards let that far (run_model's conditions before its fits;
    each day's two fits in two threads, as one day's), then the backtest's quality of the days
    whose fits and scores can be used, in one statement: run_model then finds them made."""
    cfg = settings.model
    if not cfg.enabled:
        return
    ready = []
    for side in sides.values():
        if min(side.repeat(p) for p in PURPOSES) < cfg.min_repeat_customers:
            continue
        fits = {p: side.fit(p) for p in PURPOSES}
        if any(f.failure() for f in fits.values()):
            continue
        finite = [side.score(p, fits[p]) for p in PURPOSES]  # both scored, as run_model does
        if all(finite):
            ready.append(side)
    if not ready:
        return
    predicted = pa.concat_tables([side.predicted() for side in ready])
    known = value_rows.backtest_quality(conn, predicted, settings.metrics.churn.inactive_days)
    for side in ready:
        side.known_quality = known[side.as_of]


def _write(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    params: dict[str, Any],
    sides: dict[dt.date, Any],
    runs: list[tuple[dt.date, value_run.Run]],
) -> None:
    from loyalty.marts.value import record_day_built

    tables = {d: sides[d].tables(run) for d, run in runs}
    shared = {name: pa.concat_tables([t[name] for t in tables.values()]) for name in SHARED}
    last = sides[runs[-1][0]]
    with engine.transaction(conn), last.registered(shared):
        engine.create_declared(conn, VALUE)
        for table in TOGETHER:
            # exactly the days computed (a range's delete would take stored days between them)
            conn.execute(f"delete from {table} where as_of in (select as_of from value_days)")
            engine.insert_by_name(conn, f"{VALUE}/{table}", params)
        for day, one in tables.items():
            for name in ("model_fit_rows", "model_quality_row"):
                conn.register(name, one[name])
            one_day = {
                **params,
                "as_of": day,
                "calibration_end": day - dt.timedelta(days=settings.model.horizon_days),
                "start_date": day,
                "end_date": day,
            }
            try:
                for table in PER_DAY:
                    engine.replace_days(conn, f"{VALUE}/{table}", one_day)
            finally:
                for name in ("model_fit_rows", "model_quality_row"):
                    conn.unregister(name)
        engine.execute_file(conn, f"{VALUE}/keep_days.sql")
        for day, _run in runs:
            record_day_built(conn, "customer_value", day, "{}")
