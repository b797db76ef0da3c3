"""`customer_snapshot` asset: daily partitions, a range of days computed in one run by
`loyalty.marts.snapshot`."""

import dagster as dg

from loyalty.assets.daily_range import run_days
from loyalty.assets.metric_checks import checked_asset, run_in_step
from loyalty.assets.metric_results import data_errors_hidden, preview_metadata
from loyalty.marts.snapshot import PATHS, compute_snapshot, stored_rows, tiers_on
from loyalty.orchestration.partitions import daily_partitions
from loyalty.orchestration.resources import LoyaltyResource


@checked_asset(
    "customer_snapshot",
    group_name="marts",
    deps=["stg_orders", "stg_tickets", "customers"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb", "sql"},
    description="One row per (as_of, customer_id): recency/frequency/monetary, r/f/m scores, "
    "rfm_score, tier, segment, lifecycle_stage, is_active, churn flags with reasons, "
    "flagged_since. A view over customer_state (stored by change: one row per customer and run "
    "of days without change). Thresholds used per day are in snapshot_params.",
)
def customer_snapshot(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    start, end = run_days(context)
    with data_errors_hidden("customer_snapshot"), loyalty.session() as (settings, conn):
        written: dict[str, int] = {}
        path = compute_snapshot(conn, settings, start, end, context.run_id, written)
        days = {"start": start, "end": end}
        # the profile describes what the run changed: the customer_state rows it opened (the
        # customers whose stored attributes changed on these days), not every customer-day
        metadata = preview_metadata(
            conn, "customer_state", "valid_from between $start and $end", days
        )
        metadata["preview_of"] = dg.MetadataValue.text(
            f"the {metadata.pop('dagster/row_count').value} customer_state rows opened on these days"
        )
        metadata["dagster/row_count"] = dg.MetadataValue.int(stored_rows(conn, start, end))
        metadata["tiers_on_last_day"] = dg.MetadataValue.md(tiers_on(conn, end))
        checks = run_in_step(context, conn, "customer_snapshot")
    metadata["days"] = dg.MetadataValue.text(f"{start} .. {end}")
    metadata["computed_by"] = dg.MetadataValue.text(PATHS[path])
    # history is stored by change: how many customer_state rows this run closed and opened
    metadata["state_rows_deleted"] = dg.MetadataValue.int(written["deleted"])
    metadata["state_rows_inserted"] = dg.MetadataValue.int(written["inserted"])
    # customer-days scored: a carried night scores only the customers whose row can change
    metadata["customer_days_computed"] = dg.MetadataValue.int(written["computed"])
    return dg.MaterializeResult(metadata=metadata, check_results=checks)
