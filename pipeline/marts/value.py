"""`customer_value` and the model's tables (`model_fit`, `model_backtest`, `model_quality`) for a
day D, and `revenue_at_risk` per stored day (docs/model.md, "Tables, status and backtest").

For day D: the BG/NBD summary of counted orders, one purchase per customer-day, at D and at the
calibration end C = D - H (sql/marts/customer_value/value_summary.sql, a temp table); BG/NBD and
Gamma-Gamma fitted through D (purpose `score`) and through C (purpose `backtest`) by
`loyalty.model`; every customer scored; the backtest's deciles and quality; then the guards decide
whether the model drives the statuses or the rules stay in charge. Everything for D is written in
one transaction, the scores in bulk from Arrow tables (never row by row).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from loyalty import engine
from loyalty.marts import value_range, value_run, value_state
from loyalty.marts.checks import VIOLATIONS, CheckOutcome
from loyalty.marts.summary import markdown_table
from loyalty.settings import Settings
from loyalty.vocab import ALL, CUSTOMER_STATUSES, TIERS

VALUE = "marts/customer_value"
CUSTOMERS = f"{VALUE}/value_customers"
SUMMARY = f"{VALUE}/value_summary"
DAY_CUSTOMERS = f"{VALUE}/value_customer_day"  # value_customers with its day as a column
DAYS_TABLE = "value_customer_days"  # what value_summary.sql reads
REVENUE = "marts/revenue_at_risk"
# the tables written for a day, each from its model in sql/marts/customer_value/
DAY_TABLES = ("customer_value", "model_fit", "model_backtest", "model_quality")

# the statuses of customer_value, best first
STATUSES = CUSTOMER_STATUSES


@dataclass(frozen=True)
class ValueDay:
    """What was computed for a day (for the asset's metadata)."""

    day: dt.date
    model_used: bool
    reason: str | None
    summary: str = ""  # how the summary's per-customer sums were had (loyalty.marts.value_state)
    customers: int = 0  # the customers scored


# A run over many days (a first run: the last day and 26 Sundays) computed and wrote each day on
# its own: about 0.17 s a day at CDNOW size, mostly per statement (a commit alone costs about
# 20 ms). On DuckDB, while the population at the last day is below one row group (DuckDB's unit of
# storage, 122,880 rows), the days are computed together (loyalty.marts.value_range) in groups of
# at most GROUP_ROWS customer rows, each in one transaction; above that each day keeps its own.
GROUP_CUSTOMERS = 100_000
GROUP_ROWS = 1_000_000


def compute_value_days(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    days: list[dt.date],
    run_id: str | None = None,
) -> list[ValueDay]:
    """`compute_customer_value` for each of `days` in order; on DuckDB, the days of a small
    population (at the last day: the largest) are computed together in transactions of at most
    GROUP_ROWS customer rows (loyalty.marts.value_range): every day is written whole or not at
    all, and a failed group leaves the days of the groups before it."""
    size = 1
    if len(days) > 1 and isinstance(conn, duckdb.DuckDBPyConnection):
        customers = engine.scalar(
            conn,
            "select count(distinct customer_id) from stg_orders "
            "where is_counted and order_date <= ?",
            [max(days)],
        )
        if customers < GROUP_CUSTOMERS:
            size = max(1, GROUP_ROWS // max(customers, 1))
    results: list[ValueDay] = []
    for start in range(0, len(days), size):
        group = days[start : start + size]
        with engine.transaction(conn):
            if len(group) == 1:
                results.append(compute_customer_value(conn, settings, group[0], run_id))
            else:
                results += _value_range(conn, settings, group, run_id)
    return results


def _value_range(
    conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date], run_id: str | None
) -> list[ValueDay]:
    for day in days:
        _require_snapshot(conn, day, run_id)
    runs = value_range.compute_value_range(conn, settings, days, _params(settings, days[-1]))
    how = f"computed with {len(days)} days together from every order"
    return [
        ValueDay(d, run.model_used, run.quality["reason"], how, run.quality["customers"])
        for d, run in runs
    ]


def _params(settings: Settings, day: dt.date) -> dict[str, Any]:
    """The parameters of the SQL of customer_value's day `day`."""
    cfg = settings.model
    return {
        "as_of": day,
        "calibration_end": day - dt.timedelta(days=cfg.horizon_days),
        "start_date": day,
        "end_date": day,
        "horizon_days": cfg.horizon_days,
        "lost_after_days": cfg.lost_after_days,
        "band_active": cfg.status_bands.active,
        "band_at_risk": cfg.status_bands.at_risk,
        "band_lapsed": cfg.status_bands.lapsed,
    }


def _require_snapshot(conn: duckdb.DuckDBPyConnection, day: dt.date, run_id: str | None) -> None:
    if not _snapshot_stored(conn, day):
        raise ValueError(
            f"customer_snapshot holds no day {day} (run {run_id or '-'}): compute it first"
        )


def compute_customer_value(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    day: dt.date,
    run_id: str | None = None,
) -> ValueDay:
    """Replace day `day` of customer_value, model_fit, model_backtest and model_quality, in one
    transaction, and drop earlier days of customer_value that are not Sundays. Needs the day's
    customer_snapshot. `run_id` names the run in the error messages only (the tables hold none)."""
    _require_snapshot(conn, day, run_id)
    params = _params(settings, day)
    with engine.intermediate(conn) as steps:
        how = _summary(conn, settings, steps, params)
        side = _side(conn, settings, day)
        run = value_run.run_model(side, settings)
        with engine.transaction(conn), side.registered(side.tables(run)):
            engine.create_declared(conn, VALUE)
            for table in DAY_TABLES:
                engine.replace_days(conn, f"{VALUE}/{table}", params)
            engine.execute_file(conn, f"{VALUE}/keep_days.sql")
            record_day_built(conn, "customer_value", day, "{}")
    return ValueDay(day, run.model_used, run.quality["reason"], how, run.quality["customers"])


def _summary(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    steps: Any,  # engine.intermediate's, or Spark's
    params: dict[str, Any],
) -> str:
    """The work table value_summary from the per-customer sums value_customers with the day as a
    column (value_customer_day.sql): on DuckDB the table loyalty.marts.value_state keeps from night
    to night (moved to the day first), on Spark from every order. Returns how the sums were had."""
    if not isinstance(conn, duckdb.DuckDBPyConnection):
        steps.create(CUSTOMERS, params)
        steps.view(DAY_CUSTOMERS, params, name=DAYS_TABLE, inline=True)
        steps.create(SUMMARY, params)
        return "built from every order"
    how = value_state.bring_to(conn, settings, params["as_of"], params["calibration_end"])
    conn.execute(
        f"create or replace temp view value_customers as select * from {value_state.STATE}"
    )
    try:
        steps.view(DAY_CUSTOMERS, params, name=DAYS_TABLE)
        steps.create(SUMMARY, params)
    finally:
        conn.execute(f"drop view if exists {DAYS_TABLE}")
        conn.execute("drop view if exists value_customers")
    return how


def record_day_built(
    conn: duckdb.DuckDBPyConnection, table: str, day: dt.date, params_json: str
) -> None:
    """Record in day_build_state that `table`'s day was written now from `params_json` (in the
    caller's transaction), and forget the days such a table drops: earlier days that are not
    Sundays (customer_value and action_list keep the latest day and every Sunday)."""
    engine.execute_file(conn, "bookkeeping/day_build_state.sql")
    conn.execute("delete from day_build_state where table_name = ? and as_of = ?", [table, day])
    conn.execute(
        "insert into day_build_state values (?, ?, current_timestamp::timestamp, ?)",
        [table, day, params_json],
    )
    conn.execute(
        "delete from day_build_state where table_name = $t and isodow(as_of) <> 7 and as_of < "
        "(select max(as_of) from day_build_state where table_name = $t)",
        {"t": table},
    )


def day_built(conn: duckdb.DuckDBPyConnection, table: str, day: dt.date) -> tuple | None:
    """(built_at, params_json) of `table`'s day in day_build_state, or None."""
    if not engine.table_exists(conn, "day_build_state"):
        return None
    rows = conn.execute(
        "select built_at, params_json from day_build_state where table_name = ? and as_of = ?",
        [table, day],
    ).fetchall()
    return tuple(rows[0]) if rows else None


def compute_revenue_at_risk(
    conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date
) -> list[dt.date]:
    """Replace revenue_at_risk for every customer_value day in start..end and drop the days
    customer_value no longer keeps; one transaction. Returns the days written."""
    params = {"start_date": start, "end_date": end, "tiers": list(TIERS), "all_key": ALL}
    with engine.transaction(conn):
        engine.create_declared(conn, REVENUE)
        engine.replace_days(conn, REVENUE, params)
        # the kept days first (a few), then the test: NOT IN over customer_value's rows themselves
        # builds a set of every row's day (0.4-0.6 s at 10 M orders with two days kept)
        conn.execute(
            "delete from revenue_at_risk "
            "where as_of not in (select distinct as_of from customer_value)"
        )
        days = conn.execute(
            "select distinct as_of from revenue_at_risk where as_of between ? and ? order by 1",
            [start, end],
        ).fetchall()
    return [d for (d,) in days]


def value_days(start: dt.date, end: dt.date, history_weeks: int | None = None) -> list[dt.date]:
    """The days a run over start..end computes: every Sunday in it and its last day; with
    `history_weeks`, only the Sundays of that many weeks before the last day."""
    if history_weeks is not None:
        start = max(start, end - dt.timedelta(weeks=history_weeks))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [d for d in days if d.isoweekday() == 7 or d == end]


def _side(conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date) -> value_run.Side:
    """The model's numbers from the work table value_summary, on the connection's engine: numpy
    arrays in this process (DuckDB), aggregates and executors' batches (Spark)."""
    if isinstance(conn, duckdb.DuckDBPyConnection):
        return value_run.DuckSide(conn, settings.model.horizon_days, day)
    from loyalty.spark.value import SparkSide

    return SparkSide(conn, settings.model.horizon_days)


def _snapshot_stored(conn: duckdb.DuckDBPyConnection, day: dt.date) -> bool:
    return engine.table_exists(conn, "snapshot_params") and bool(
        engine.scalar(conn, "select count(*) from snapshot_params where as_of = ?", [day])
    )


# ------------------------------------------------------------------------------------------------
# what a run reports (aggregates only, never a customer) and the asset check's verdict

CHECK = "customer_value_statuses_partition_population"


def status_counts(conn: duckdb.DuckDBPyConnection, day: dt.date) -> str:
    """Markdown: customers, value at risk and CLV per status on `day`."""
    return markdown_table(
        conn,
        "select status, status_source, count(*) as customers, sum(value_at_risk) as value_at_risk, "
        "sum(clv) as clv from customer_value where as_of = $day group by status, status_source "
        "order by list_position($statuses, status)",
        {"day": day, "statuses": list(STATUSES)},
    )


def quality_summary(conn: duckdb.DuckDBPyConnection, day: dt.date) -> str:
    """Markdown: the backtest's quality row of `day`."""
    return markdown_table(
        conn,
        "select calibration_end, customers, repeat_customers, round(mae_orders, 3) as mae_orders, "
        "round(bias_orders, 3) as bias_orders, round(auc_model, 3) as auc_model, "
        "round(auc_baseline, 3) as auc_baseline, model_used, reason "
        "from model_quality where as_of = $day",
        {"day": day},
    )


def check_customer_value(conn: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """The check of customer_value's latest day (sql/checks/<CHECK>.sql): every count of the
    verdict, passed when each `violations: ...` count is zero."""
    day = engine.scalar(conn, "select max(as_of) from customer_value")
    row = engine.query_model(conn, f"checks/{CHECK}", {"as_of": day, "statuses": list(STATUSES)})[0]
    counts = {name: int(n or 0) for name, n in row.items()}
    failed = sorted(
        name.removeprefix(VIOLATIONS)
        for name, n in counts.items()
        if name.startswith(VIOLATIONS) and n
    )
    metadata: dict[str, Any] = {
        "day": str(day),
        **counts,
        "failed": ", ".join(failed) if failed else "none",
    }
    return CheckOutcome(passed=not failed, metadata=metadata)
