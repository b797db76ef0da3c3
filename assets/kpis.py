"""`kpi_daily` asset: the KPI board per day (docs/metrics.md), daily partitions, a range in one run by
`loyalty.marts.kpis`."""

import dagster as dg

from loyalty.assets.daily_range import run_days
from loyalty.assets.metric_checks import checked_asset, run_in_step
from loyalty.assets.metric_results import data_errors_hidden, preview_metadata
from loyalty.marts.kpis import board_on, compute_kpis
from loyalty.orchestration.partitions import daily_partitions
from loyalty.orchestration.resources import LoyaltyResource


@checked_asset(
    "kpi_daily",
    group_name="marts",
    deps=["customer_snapshot", "revenue_at_risk", "stg_orders", "stg_tickets", "stg_surveys"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb", "sql"},
    description="One row per (as_of, kpi): value over the trailing window "
    "(as_of - kpi_window_days, as_of], target, direction, change_7d, flag, n, owner.",
)
def kpi_daily(context: dg.AssetExecutionContext, loyalty: LoyaltyResource) -> dg.MaterializeResult:
    start, end = run_days(context)
    with data_errors_hidden("kpi_daily"), loyalty.session() as (settings, conn):
        states = compute_kpis(conn, settings, start, end)
        metadata = preview_metadata(
            conn, "kpi_daily", "as_of between $start and $end", {"start": start, "end": end}
        )
        metadata["board_on_last_day"] = dg.MetadataValue.md(board_on(conn, end))
        checks = run_in_step(context, conn, "kpi_daily")
    metadata["customer_states_from"] = dg.MetadataValue.text(states)
    return dg.MaterializeResult(metadata=metadata, check_results=checks)
