"""`action_list`: each customer's action of the week by the playbook, for the latest day and every
Sunday of the run's days, by `loyalty.marts.playbook`. Metadata holds counts per owner only."""

import dagster as dg

from loyalty.assets.daily_range import run_days
from loyalty.assets.metric_results import data_errors_hidden
from loyalty.marts.playbook import compute_action_list, owner_summary
from loyalty.orchestration.partitions import HISTORY_WEEKS_TAG, daily_partitions
from loyalty.orchestration.resources import LoyaltyResource


@dg.asset(
    group_name="marts",
    pool="duckdb",
    deps=["customer_snapshot", "customer_value"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    tags=HISTORY_WEEKS_TAG,
    kinds={"duckdb", "sql"},
    description="One row per (as_of, customer_id), for the latest day and every Sunday: the "
    "playbook's action and owner (first matching rule), the reason, and the value at risk (the "
    "model's, else the customer's monetary).",
)
def action_list(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    start, end = run_days(context)
    with data_errors_hidden("action_list"), loyalty.session() as (settings, conn):
        days = compute_action_list(conn, settings, start, end)
        by_owner = owner_summary(conn, days[-1]) if days else "no snapshot day in the range"
    return dg.MaterializeResult(
        metadata={
            "days": dg.MetadataValue.text(", ".join(str(d) for d in days)),
            "owners_on_last_day": dg.MetadataValue.md(by_owner),
        }
    )
