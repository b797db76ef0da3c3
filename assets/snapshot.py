"""`customer_snapshot`: one row per (day, customer) with RFM, tier, segment, lifecycle and churn
flags (SPEC §4, §10), daily partitions, a range of days computed in one run by one query."""

import datetime as dt

import dagster as dg
import duckdb

from assets.daily_range import replace_days, run_days
from assets.metric_results import markdown_table, preview_metadata
from pipeline.metric_params import metric_params, range_params, snapshot_params_json
from pipeline.partitions import daily_partitions
from pipeline.resources import LoyaltyResource
from pipeline.settings import Settings


def compute_snapshot(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    run_id: str | None = None,
) -> None:
    """Replace the snapshot days start..end (and the thresholds stored with them) atomically."""
    params = {
        **metric_params(settings),
        **range_params(start, end),
        "params_json": snapshot_params_json(settings),
        "computed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "run_id": run_id,
    }
    replace_days(conn, snapshot_files(start, end), params)


def snapshot_files(start: dt.date, end: dt.date) -> list[str]:
    """The SQL files that compute the days start..end (sql/marts/customer_snapshot.sql explains)."""
    if start == end:
        state = ["marts/snapshot_state_day.sql", "marts/snapshot_days.sql"]
    else:
        state = [
            "marts/snapshot_state_range.sql",
            "marts/snapshot_days.sql",
            "marts/snapshot_last_clear.sql",
        ]
    return [
        "marts/customer_snapshot.sql",
        *state,
        "marts/snapshot_score.sql",
        "marts/snapshot_params.sql",
    ]


@dg.asset(
    group_name="marts",
    pool="duckdb",
    deps=["stg_orders", "stg_tickets", "customers"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb", "sql"},
    description="One row per (as_of, customer_id): recency/frequency/monetary, r/f/m scores, "
    "rfm_score, tier, segment, lifecycle_stage, is_active, churn flags with reasons, flagged_since. "
    "Thresholds used per day are in snapshot_params.",
)
def customer_snapshot(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    start, end = run_days(context)
    settings = loyalty.get_settings()
    with loyalty.connect() as conn:
        compute_snapshot(conn, settings, start, end, context.run_id)
        days = {"start": start, "end": end}
        where = "as_of between $start and $end"
        metadata = preview_metadata(conn, "customer_snapshot", where, days)
        metadata["tiers_on_last_day"] = dg.MetadataValue.md(
            markdown_table(
                conn,
                "select tier, count(*) as customers, count(*) filter (is_active) as active, "
                "count(*) filter (churn_risk) as at_risk from customer_snapshot "
                "where as_of = $end group by tier order by tier",
                {"end": end},
            )
        )
        metadata["days"] = dg.MetadataValue.text(f"{start} .. {end}")
    return dg.MaterializeResult(metadata=metadata)
