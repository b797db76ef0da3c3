"""The asset checks' queries on the metric marts (sql/checks/): a wrong number must not reach a
report (docs/metrics.md). A check's verdict is one row: each `violations: <rule>` column counts the
breaches of one rule, the check passes when all are zero, and the other columns say how much was
checked. Only counts are reported, never customer rows, so a failure explains itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb

from loyalty import engine
from loyalty.marts.snapshot import stored_days_current
from loyalty.metric_params import vocab_params

VIOLATIONS = "violations: "

# check -> the table it checks; the first is built in steps (see `_snapshot_steps`)
SNAPSHOT_CHECK = "snapshot_tiers_and_segments_partition_population"
CHECKED_TABLE = {
    SNAPSHOT_CHECK: "customer_snapshot",
    "retention_counts_reconcile": "retention_period",
    "repurchase_shares_valid": "repurchase_period",
    "nps_within_bounds": "nps_period",
    "service_rates_valid": "service_period",
    "cohort_shares_valid": "cohort_retention",
    "kpi_board_complete": "kpi_daily",
}


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    # every count of the verdict, then `failed`: the rules broken, or "none"
    metadata: dict[str, Any]


def run_check(conn: duckdb.DuckDBPyConnection, check: str) -> CheckOutcome:
    """Run one check of CHECKED_TABLE and return its verdict."""
    if check not in CHECKED_TABLE:
        raise ValueError(f"no such check: {check!r}")
    if check == SNAPSHOT_CHECK:
        with engine.intermediate(conn) as steps:
            _snapshot_steps(steps)
            return _verdict(conn, check)
    return _verdict(conn, check)


def _snapshot_steps(steps: engine.Intermediate) -> None:
    """The snapshot days just written, counted in one pass over the stored state (check_days); the
    rows the run wrote, compared with the other rows of their customers (check_overlaps); the
    population counted independently from the orders (check_population): for one night whose day
    before still holds, that day's count plus the customers whose first order is on the night;
    else a distinct count for one day, first order days for a range."""
    folder = f"checks/{SNAPSHOT_CHECK}"
    reach = _written_reach(steps.conn)
    steps.create(f"{folder}/check_days", {**vocab_params(), **reach})
    steps.create(f"{folder}/check_overlaps", reach)
    days = steps.conn.execute("select as_of from check_days").fetchall()
    if len(days) != 1:
        steps.create(f"{folder}/range/check_population")
        return
    night = days[0][0]
    before = night - dt.timedelta(days=1)
    json_before = engine.scalar(
        steps.conn, "select params_json from snapshot_params where as_of = ?", [before]
    )
    carried = json_before is not None and stored_days_current(steps.conn, [before], json_before)
    if carried:
        steps.create(f"{folder}/carried/check_population", {"night": night})
    else:
        steps.create(f"{folder}/one_day/check_population")


def _written_reach(conn: duckdb.DuckDBPyConnection) -> dict[str, dt.date | None]:
    """The days of the latest snapshot run (first_day, last_day) and the first day from which
    check_overlaps compares stored rows with the rows it wrote (reach_from): the day before its
    first day, or the earliest end of a row it wrote if that is earlier. Constants, so that the
    checks' scans skip the history before them."""
    row = conn.execute(
        """with latest as (select max(computed_at) as at from snapshot_params)
        select
            (select min(as_of) from snapshot_params, latest where computed_at = latest.at),
            (select max(as_of) from snapshot_params, latest where computed_at = latest.at),
            (select min(coalesce(valid_to, date '9999-12-31')) from customer_state, latest
                where written_at = latest.at)"""
    ).fetchone()
    first_day, last_day, written_end = row if row else (None, None, None)
    reach_from = first_day - dt.timedelta(days=1) if first_day else None
    if written_end is not None and (reach_from is None or written_end < reach_from):
        reach_from = written_end
    return {"first_day": first_day, "last_day": last_day, "reach_from": reach_from}


def _verdict(conn: duckdb.DuckDBPyConnection, check: str) -> CheckOutcome:
    row = engine.query_model(conn, f"checks/{check}", vocab_params())[0]
    counts = {name: int(n or 0) for name, n in row.items()}
    failed = sorted(
        name.removeprefix(VIOLATIONS)
        for name, n in counts.items()
        if name.startswith(VIOLATIONS) and n
    )
    metadata: dict[str, Any] = {**counts, "failed": ", ".join(failed) if failed else "none"}
    return CheckOutcome(passed=not failed, metadata=metadata)
