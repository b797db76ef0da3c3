"""`customer_value` (with the model's tables model_fit, model_backtest, model_quality) and
`revenue_at_risk`: daily partitions; a range computes its last day and every Sunday in it, by
`loyalty.marts.value`. Metadata holds aggregates only, never a customer."""

from typing import Any

import dagster as dg

from loyalty.assets.daily_range import run_days
from loyalty.assets.metric_checks import checked_asset, run_in_step
from loyalty.assets.metric_results import data_errors_hidden
from loyalty.marts.value import (
    compute_revenue_at_risk,
    compute_value_days,
    quality_summary,
    status_counts,
    value_days,
)
from loyalty.orchestration.partitions import HISTORY_WEEKS_TAG, daily_partitions
from loyalty.orchestration.resources import LoyaltyResource


@checked_asset(
    "customer_value",
    group_name="marts",
    deps=["customer_snapshot", "stg_orders"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags=HISTORY_WEEKS_TAG,
    kinds={"duckdb", "sql"},
    description="One row per (as_of, customer_id), for the latest day and every Sunday: the "
    "BG/NBD summary, p_alive, expected orders and value over the horizon, CLV, value at risk, "
    "status (model or rules). Also model_fit, model_backtest and model_quality per day.",
)
def customer_value(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    start, end = run_days(context)
    with data_errors_hidden("customer_value"), loyalty.session() as (settings, conn):
        days = value_days(start, end, settings.model.history_weeks)
        results = compute_value_days(conn, settings, days, context.run_id)
        last = results[-1]
        metadata: dict[str, Any] = {
            "statuses_on_last_day": dg.MetadataValue.md(status_counts(conn, last.day)),
            "backtest_quality_on_last_day": dg.MetadataValue.md(quality_summary(conn, last.day)),
        }
        checks = run_in_step(context, conn, "customer_value")
    metadata["days"] = dg.MetadataValue.text(", ".join(str(d) for d in days))
    metadata["model_used_on"] = dg.MetadataValue.int(sum(r.model_used for r in results))
    metadata["rules_on"] = dg.MetadataValue.int(sum(not r.model_used for r in results))
    metadata["reason_on_last_day"] = dg.MetadataValue.text(last.reason or "model used")
    metadata["summary_sums"] = dg.MetadataValue.text(
        "; ".join(f"{r.day}: {r.summary}" for r in results)
    )
    return dg.MaterializeResult(metadata=metadata, check_results=checks)


@dg.asset(
    group_name="marts",
    pool="duckdb",
    deps=["customer_value", "customer_snapshot"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags=HISTORY_WEEKS_TAG,
    kinds={"duckdb", "sql"},
    description="One row per (as_of, dimension, key) for every stored customer_value day: "
    "customers, at-risk customers, value at risk and CLV for all, each tier and each RFM segment.",
)
def revenue_at_risk(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    start, end = run_days(context)
    with data_errors_hidden("revenue_at_risk"), loyalty.session() as (_settings, conn):
        days = compute_revenue_at_risk(conn, start, end)
        rows = conn.execute(
            "select customers, at_risk_customers, value_at_risk, clv from revenue_at_risk "
            "where as_of = ? and dimension = 'all'",
            [days[-1] if days else end],
        ).fetchall()
    metadata: dict = {"days": dg.MetadataValue.text(", ".join(str(d) for d in days))}
    if rows:
        customers, at_risk, value, clv = rows[0]
        metadata["at_risk_customers_on_last_day"] = dg.MetadataValue.int(int(at_risk))
        metadata["customers_on_last_day"] = dg.MetadataValue.int(int(customers))
        metadata["value_at_risk_on_last_day"] = dg.MetadataValue.text(
            "no model" if value is None else f"{value:,.2f}"
        )
        metadata["clv_on_last_day"] = dg.MetadataValue.text(
            "no model" if clv is None else f"{clv:,.2f}"
        )
    return dg.MaterializeResult(metadata=metadata)
