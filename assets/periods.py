"""Period mart assets (docs/metrics.md): retention, repurchase, NPS, service per week/month/quarter,
and the cohort matrix, built by `loyalty.marts.periods`. Not partitioned: they cover every period
the stored snapshots cover and always agree with the snapshots."""

import dagster as dg

from loyalty.assets.metric_checks import checked_asset, run_in_step
from loyalty.assets.metric_results import data_errors_hidden, preview_metadata
from loyalty.marts.periods import compute_period_table, periods_in
from loyalty.orchestration.resources import LoyaltyResource

# table -> (upstream assets, description)
PERIOD_ASSETS: dict[str, tuple[list[str], str]] = {
    "report_periods": (
        ["customer_snapshot"],
        "One row per (period_type, period_start): weeks, months and quarters whose start snapshot "
        "(period_start - 1) is stored; partial current period has is_complete = false.",
    ),
    "retention_period": (
        ["report_periods", "customer_snapshot", "stg_orders"],
        "One row per (period_type, period_start, tier): start/end/new/kept counts, retention_rate "
        "= (E - N) / S, kept_rate, churn_rate, activation_rate.",
    ),
    "repurchase_period": (
        ["report_periods", "customer_snapshot", "stg_orders"],
        "One row per (period_type, period_start, tier): buyers, repeat_buyers, repurchase_rate; "
        "lifetime_repeat_rate.",
    ),
    "nps_period": (
        ["report_periods", "customer_snapshot", "stg_surveys"],
        "One row per (period_type, period_start, tier): NPS with n and 95 % margin of error, "
        "CSAT, CES.",
    ),
    "service_period": (
        ["report_periods", "customer_snapshot", "stg_tickets"],
        "One row per (period_type, period_start, priority): SLA met/breached, sla_rate, "
        "complaint_sla_rate, median response/resolution hours, satisfaction.",
    ),
    "cohort_retention": (
        ["customer_snapshot", "stg_orders"],
        "One row per (cohort_month, k) plus a size-weighted 'average' row per k: share of the "
        "cohort with a counted order k months after its first.",
    ),
}


def _period_asset(name: str, deps: list[str], description: str) -> dg.AssetsDefinition:
    @checked_asset(
        name,
        group_name="marts",
        deps=deps,
        description=description,
        kinds={"duckdb", "sql"},
    )
    def _asset(context: dg.AssetExecutionContext, loyalty: LoyaltyResource) -> dg.MaterializeResult:
        with data_errors_hidden(name), loyalty.session() as (settings, conn):
            built = compute_period_table(conn, settings, name)
            metadata = preview_metadata(conn, name)
            metadata["built"] = dg.MetadataValue.text(built)
            if name != "cohort_retention":
                metadata["periods"] = dg.MetadataValue.md(periods_in(conn, name))
            checks = run_in_step(context, conn, name)
        return dg.MaterializeResult(metadata=metadata, check_results=checks)

    return _asset


report_periods = _period_asset("report_periods", *PERIOD_ASSETS["report_periods"])
retention_period = _period_asset("retention_period", *PERIOD_ASSETS["retention_period"])
repurchase_period = _period_asset("repurchase_period", *PERIOD_ASSETS["repurchase_period"])
nps_period = _period_asset("nps_period", *PERIOD_ASSETS["nps_period"])
service_period = _period_asset("service_period", *PERIOD_ASSETS["service_period"])
cohort_retention = _period_asset("cohort_retention", *PERIOD_ASSETS["cohort_retention"])
