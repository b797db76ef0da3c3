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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from loyalty import engine
from loyalty.marts import value_model as vm
from loyalty.marts.checks import VIOLATIONS, CheckOutcome
from loyalty.marts.summary import markdown_table
from loyalty.settings import Settings
from loyalty.vocab import ALL, CUSTOMER_STATUSES, TIERS

VALUE = "marts/customer_value"
SUMMARY = f"{VALUE}/value_summary"
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


def compute_customer_value(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    day: dt.date,
    run_id: str | None = None,
) -> ValueDay:
    """Replace day `day` of customer_value, model_fit, model_backtest and model_quality, in one
    transaction, and drop earlier days of customer_value that are not Sundays. Needs the day's
    customer_snapshot. `run_id` names the run in the error messages only (the tables hold none)."""
    if not _snapshot_stored(conn, day):
        raise ValueError(
            f"customer_snapshot holds no day {day} (run {run_id or '-'}): compute it first"
        )
    cfg = settings.model
    horizon = cfg.horizon_days
    calibration_end = day - dt.timedelta(days=horizon)
    params: dict[str, Any] = {
        "as_of": day,
        "calibration_end": calibration_end,
        "start_date": day,
        "end_date": day,
        "horizon_days": horizon,
        "lost_after_days": cfg.lost_after_days,
        "band_active": cfg.status_bands.active,
        "band_at_risk": cfg.status_bands.at_risk,
        "band_lapsed": cfg.status_bands.lapsed,
    }
    with engine.intermediate(conn) as steps:
        steps.create(SUMMARY, params)
        now = _summary(conn, "frequency", "recency_days", "t_days", "monetary_repeat", "true")
        cal = _summary(
            conn,
            "cal_frequency",
            "cal_recency_days",
            "cal_t_days",
            "cal_monetary_repeat",
            "cal_t_days is not null",
        )
        run = _run_model(
            conn, settings, now, cal, inactive_days=settings.metrics.churn.inactive_days
        )
        quality = {"customers": len(now.k), "repeat_customers": now.repeat, **run.quality}
        params["model_used"] = run.model_used
        tables = {
            "value_scores": vm.scores_table(now, run.scores if run.model_used else None),
            "value_backtest": run.backtest,
            "model_fit_rows": _rows_table(run.fit_rows, _FIT_SCHEMA),
            "model_quality_row": _rows_table([quality], _QUALITY_SCHEMA),
        }
        with engine.transaction(conn), _registered(conn, tables):
            engine.create_declared(conn, VALUE)
            for table in DAY_TABLES:
                engine.replace_days(conn, f"{VALUE}/{table}", params)
            engine.execute_file(conn, f"{VALUE}/keep_days.sql")
    return ValueDay(day, run.model_used, run.quality["reason"])


def compute_revenue_at_risk(
    conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date
) -> list[dt.date]:
    """Replace revenue_at_risk for every customer_value day in start..end and drop the days
    customer_value no longer keeps; one transaction. Returns the days written."""
    params = {"start_date": start, "end_date": end, "tiers": list(TIERS), "all_key": ALL}
    with engine.transaction(conn):
        engine.create_declared(conn, REVENUE)
        engine.replace_days(conn, REVENUE, params)
        conn.execute(
            "delete from revenue_at_risk where as_of not in (select as_of from customer_value)"
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


# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    model_used: bool
    scores: vm.Scores | None
    backtest: pa.Table
    fit_rows: list[dict]
    quality: dict[str, Any]


def _no_backtest() -> pa.Table:
    """An empty backtest (made when needed: pa.table imports pandas, a second at import time)."""
    return pa.table(
        {
            "k": pa.array([], pa.int64()),
            "predicted_orders": pa.array([], pa.float64()),
            "predicted_value": pa.array([], pa.float64()),
        }
    )


def _run_model(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    now: vm.Summary,
    cal: vm.Summary,
    inactive_days: int,
) -> _Run:
    """Fits, scores and backtest, and the guards: the first reason not to trust the model wins."""
    cfg = settings.model
    quality: dict[str, Any] = dict.fromkeys(
        (
            "mae_orders",
            "bias_orders",
            "auc_model",
            "auc_baseline",
            "auc_p_alive",
            "model_beats_baseline",
            "reason",
        )
    )

    def untrusted(reason: str, rows: list[dict], backtest: pa.Table | None = None) -> _Run:
        backtest = _no_backtest() if backtest is None else backtest
        return _Run(False, None, backtest, rows, {**quality, "reason": reason})

    if not cfg.enabled:
        return untrusted("the model is switched off (model.enabled is false)", [])
    least = cfg.min_repeat_customers
    for label, s in (
        ("on this day", now),
        (f"at the backtest's start (D - {cfg.horizon_days})", cal),
    ):
        if s.repeat < least:
            return untrusted(
                f"{s.repeat} repeat customers {label}, fewer than model.min_repeat_customers "
                f"({least})",
                [],
            )
    fits = vm.fit(now)
    cal_fits = vm.fit(cal)
    rows = vm.fit_rows("score", fits) + vm.fit_rows("backtest", cal_fits)
    failure = fits.failure() or cal_fits.failure()
    if failure:
        return untrusted(failure, rows)
    scores = vm.score(now, fits, cfg.horizon_days)
    predicted = vm.score(cal, cal_fits, cfg.horizon_days)
    if not (scores.finite() and predicted.finite()):
        return untrusted("the fitted model gives values that are not finite numbers", rows)
    backtest = pa.table(
        {
            "k": cal.k,
            "predicted_orders": predicted.expected_orders,
            "predicted_value": predicted.clv,
        }
    )
    actual = _holdout(conn)
    error = predicted.expected_orders - actual
    ordered_again = actual > 0
    silent = _cal_days_silent(conn)
    quality.update(
        mae_orders=float(np.mean(np.abs(error))),
        bias_orders=float(np.mean(error)),
        # the model's own forecast of "orders again within H" ranks the customers: its expected
        # purchase days in (C, D]. (P(alive) is 1 for every customer without a repeat purchase, so
        # it cannot rank them; docs/model.md, "Tables, status and backtest".)
        auc_model=vm.auc(predicted.expected_orders, ordered_again),
        # the seeds' rule as a score: not inactive (1) ranks above inactive (0)
        auc_baseline=vm.auc((silent <= inactive_days).astype(float), ordered_again),
        # shown beside them: P(alive) alone, the measure the issue names, ties its one-time buyers
        auc_p_alive=vm.auc(predicted.p_alive, ordered_again),
    )
    m, b = quality["auc_model"], quality["auc_baseline"]
    if m is None or b is None:
        return untrusted(
            "the backtest cannot rank: in the holdout every customer "
            + ("ordered again" if ordered_again.all() else "stayed away"),
            rows,
            backtest,
        )
    quality["model_beats_baseline"] = bool(m > b)
    if not m > b:
        return untrusted(
            f"the model did not beat the rule in the backtest (AUC {m:.3f} against {b:.3f} for "
            f"inactive > {inactive_days} days)",
            rows,
            backtest,
        )
    return _Run(True, scores, backtest, rows, {**quality, "model_used": True})


def _summary(
    conn: duckdb.DuckDBPyConnection, x: str, t_x: str, T: str, m: str, where: str
) -> vm.Summary:
    cols = conn.execute(
        f"select k, {x} as x, {t_x} as t_x, {T} as t, coalesce({m}, 0)::double as m "
        f"from value_summary where {where} order by k"
    ).fetchnumpy()
    return vm.Summary(
        k=np.asarray(cols["k"], dtype=np.int64),
        x=np.asarray(cols["x"], dtype=np.int64),
        t_x=np.asarray(cols["t_x"], dtype=np.int64),
        T=np.asarray(cols["t"], dtype=np.int64),
        m=np.asarray(cols["m"], dtype=float),
    )


def _holdout(conn: duckdb.DuckDBPyConnection) -> np.ndarray:
    """Purchase days in (C, D] of the backtest's customers, in the order of `_summary`."""
    return np.asarray(
        conn.execute(
            "select holdout_orders from value_summary where cal_t_days is not null order by k"
        ).fetchnumpy()["holdout_orders"],
        dtype=float,
    )


def _cal_days_silent(conn: duckdb.DuckDBPyConnection) -> np.ndarray:
    return np.asarray(
        conn.execute(
            "select cal_days_silent from value_summary where cal_t_days is not null order by k"
        ).fetchnumpy()["cal_days_silent"],
        dtype=np.int64,
    )


def _snapshot_stored(conn: duckdb.DuckDBPyConnection, day: dt.date) -> bool:
    return engine.table_exists(conn, "snapshot_params") and bool(
        engine.scalar(conn, "select count(*) from snapshot_params where as_of = ?", [day])
    )


_FIT_SCHEMA = pa.schema(
    [
        ("purpose", pa.string()),
        ("model", pa.string()),
        ("parameter", pa.string()),
        ("value", pa.float64()),
        ("n_customers", pa.int64()),
        ("n_repeat", pa.int64()),
        ("log_likelihood", pa.float64()),
        ("converged", pa.bool_()),
        ("fit_seconds", pa.float64()),
    ]
)
_QUALITY_SCHEMA = pa.schema(
    [
        ("customers", pa.int64()),
        ("repeat_customers", pa.int64()),
        ("mae_orders", pa.float64()),
        ("bias_orders", pa.float64()),
        ("auc_model", pa.float64()),
        ("auc_baseline", pa.float64()),
        ("auc_p_alive", pa.float64()),
        ("model_beats_baseline", pa.bool_()),
        ("model_used", pa.bool_()),
        ("reason", pa.string()),
    ]
)


def _rows_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(
        [{**dict.fromkeys(schema.names), "model_used": False, **r} for r in rows]
        if schema is _QUALITY_SCHEMA
        else rows,
        schema=schema,
    )


@contextmanager
def _registered(conn: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> Iterator[None]:
    """Arrow tables visible to SQL under these names for the block (read in bulk by DuckDB)."""
    for name, table in tables.items():
        conn.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            conn.unregister(name)


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
