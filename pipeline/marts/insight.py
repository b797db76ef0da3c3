"""Insight marts (docs/metrics.md, "service_impact" and "say_do"): what happened after a ticket
(breached vs met SLA, like with like) and after an NPS answer (the say-do gap), per period.

Both look forward `impact.window_days` (`impact.say_do_days`) days from an event, so a period's
rows change as its windows elapse. say_do is rebuilt in full on every run (one query over the
stored snapshots, surveys and orders); service_impact recomputes only the periods whose windows
were still open or whose data changed. They read report_periods, so the period marts' step builds
report_periods first.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import duckdb

from loyalty import engine
from loyalty.marts.periods import (
    EVERY_PERIOD,
    FULL,
    PERIOD_KEY,
    changed_since,
    loads_seen,
    orders_from,
    record_build,
)
from loyalty.marts.summary import markdown_table
from loyalty.metric_params import metric_params, vocab_params
from loyalty.settings import Settings
from loyalty.sqlsafe import quote_ident

INSIGHT_TABLES = ("service_impact", "say_do")


def insight_params(settings: Settings) -> dict[str, Any]:
    """The windows of the insight marts and the vocabulary lists they iterate over."""
    return {
        **vocab_params(),
        "window_days": settings.impact.window_days,
        "say_do_days": settings.impact.say_do_window,
    }


def compute_insight_table(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> str:
    """Build `name` in full; returns which path ran (say_do: the status from `customer_value` or
    from the snapshot's churn flags alone, when customer_value is not stored)."""
    if name not in INSIGHT_TABLES:
        raise ValueError(f"not an insight table: {name!r}")
    params = insight_params(settings)
    if name == "service_impact":
        return _build_service_impact(conn, settings, params)
    path = "model" if engine.table_exists(conn, "customer_value") else "flags"
    with engine.transaction(conn), engine.intermediate(conn) as steps:
        steps.create(f"marts/say_do/{path}/value_statuses")
        engine.create_table(conn, "marts/say_do", params)
    return f"full (status from {'customer_value' if path == 'model' else 'churn flags'})"


def _build_service_impact(
    conn: duckdb.DuckDBPyConnection, settings: Settings, params: dict[str, Any]
) -> str:
    """service_impact, incrementally: the periods whose tickets' windows or SLA verdicts were
    still open on the last stored day of the previous build or of this one, and the periods whose
    tickets, windows or strata hold a day whose data changed since (a changed day x moves the
    outcome of tickets opened up to `window_days` before it); every other period is kept. In full
    for a first build, other settings or a replaced row (periods.changed_since)."""
    bound = {**metric_params(settings), **params}
    fingerprint = json.dumps(bound, sort_keys=True, default=str)
    engine.execute_file(conn, "bookkeeping/period_build_state.sql")
    changed = changed_since(conn, "service_impact", fingerprint)
    stored_last = (
        engine.scalar(conn, "select max(end_as_of) from service_impact")
        if changed != FULL
        else None
    )
    now_last = engine.scalar(conn, "select max(end_as_of) from report_periods")
    state = ["service_impact", dt.datetime.now(dt.UTC).replace(tzinfo=None), loads_seen(conn)]
    if changed == FULL or stored_last is None or now_last is None:
        with engine.transaction(conn):
            engine.create_table(
                conn, "marts/service_impact", orders_from(conn, {**bound, "since": EVERY_PERIOD})
            )
            record_build(conn, [*state, fingerprint])
        return "full"
    # a ticket opened on day t is settled once t + window_days and its SLA deadline have passed
    sla_days = math.ceil(
        max(bound["sla_urgent_hours"], bound["sla_important_hours"], bound["sla_general_hours"])
        / 24
    )
    reach = dt.timedelta(days=max(params["window_days"], sla_days) + 1)
    open_since = min(stored_last, now_last) - reach
    since = open_since if changed is None else min(open_since, changed - reach)
    with engine.transaction(conn):
        engine.replace_keys(
            conn,
            "marts/service_impact",
            orders_from(conn, {**bound, "since": since}),
            key=PERIOD_KEY,
            keep="marts/report_periods_before",
        )
        record_build(conn, [*state, fingerprint])
    return f"from {since}"


def compute_insights(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    for name in INSIGHT_TABLES:
        compute_insight_table(conn, settings, name)


def insight_summary(conn: duckdb.DuckDBPyConnection, name: str) -> str:
    """Markdown: per period type, the periods held and those with any counted outcome (no
    customer appears)."""
    table = quote_ident(name)
    counted = (
        "breached_customers + met_customers > 0" if name == "service_impact" else "window_elapsed"
    )
    return markdown_table(
        conn,
        f"select period_type, count(distinct period_start) as periods, "
        f"count(distinct period_start) filter (where {counted}) as periods_with_outcomes, "
        f"min(period_start) as first, max(period_start) as last from {table} "
        f"group by period_type order by period_type",
    )
