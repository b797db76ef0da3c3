"""Insight marts (docs/metrics.md, "service_impact" and "say_do"): what happened after a ticket
(breached vs met SLA, like with like) and after an NPS answer (the say-do gap), per period.

Both look forward `impact.window_days` (`impact.say_do_days`) days from an event, so a period's
rows change as its windows elapse: they are rebuilt in full on every run (one query each over the
stored snapshots, tickets, surveys and orders), like the cohort matrix. They read report_periods,
so the period marts' step builds report_periods first.
"""

from __future__ import annotations

from typing import Any

import duckdb

from loyalty import engine
from loyalty.marts.summary import markdown_table
from loyalty.metric_params import vocab_params
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
        engine.create_table(conn, "marts/service_impact", params)
        return "full"
    path = "model" if engine.table_exists(conn, "customer_value") else "flags"
    with engine.transaction(conn), engine.intermediate(conn) as steps:
        steps.create(f"marts/say_do/{path}/value_statuses")
        engine.create_table(conn, "marts/say_do", params)
    return f"full (status from {'customer_value' if path == 'model' else 'churn flags'})"


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
