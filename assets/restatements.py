"""`restatements`: the figures of closed periods that changed since the last run (late files,
replaced keys, changed settings), by `loyalty.marts.restatements`. Not partitioned: it runs after
the period marts, in the same job. Metadata holds counts only."""

import dagster as dg

from loyalty.assets.metric_results import data_errors_hidden
from loyalty.marts.restatements import compute_restatements, latest_summary
from loyalty.orchestration.resources import LoyaltyResource


@dg.asset(
    group_name="marts",
    pool="duckdb",
    deps=[
        "report_periods",
        "retention_period",
        "repurchase_period",
        "nps_period",
        "service_period",
    ],
    kinds={"duckdb", "sql"},
    description="One row per figure of a closed period that changed between two runs: period, "
    "metric, old and new value, cause (the load or the setting) and run. period_figures keeps the "
    "figures the next run compares with.",
)
def restatements(
    context: dg.AssetExecutionContext, loyalty: LoyaltyResource
) -> dg.MaterializeResult:
    with data_errors_hidden("restatements"), loyalty.session() as (settings, conn):
        written = compute_restatements(conn, settings, context.run_id)
        summary = latest_summary(conn, written)
    return dg.MaterializeResult(
        metadata={"restated_now": dg.MetadataValue.int(written), "summary": summary}
    )
