"""Period marts (SPEC §4, §10): retention, repurchase, NPS, service per week/month/quarter, and the
cohort matrix. Not partitioned: each run recomputes every period that the stored snapshots cover
(see `sql/marts/report_periods.sql`), so they always agree with the snapshots."""

import dagster as dg
import duckdb

from assets.metric_results import markdown_table, preview_metadata
from pipeline.db import execute_file
from pipeline.metric_params import metric_params
from pipeline.resources import LoyaltyResource
from pipeline.settings import Settings

# table -> (upstream assets, description); built in this order
PERIOD_TABLES: dict[str, tuple[list[str], str]] = {
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


def compute_period_table(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> None:
    # `create or replace table` swaps the table atomically: readers never see a half-built one
    execute_file(conn, f"marts/{name}.sql", metric_params(settings))


def compute_periods(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    for name in PERIOD_TABLES:
        compute_period_table(conn, settings, name)


def _period_asset(name: str, deps: list[str], description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name="marts",
        pool="duckdb",
        deps=deps,
        description=description,
        kinds={"duckdb", "sql"},
    )
    def _asset(loyalty: LoyaltyResource) -> dg.MaterializeResult:
        with loyalty.connect() as conn:
            compute_period_table(conn, loyalty.get_settings(), name)
            metadata = preview_metadata(conn, name)
            if name != "cohort_retention":
                metadata["periods"] = dg.MetadataValue.md(
                    markdown_table(
                        conn,
                        f"select period_type, count(distinct period_start) as periods, "
                        f"min(period_start) as first, max(period_start) as last from {name} "
                        f"group by period_type order by period_type",
                    )
                )
        return dg.MaterializeResult(metadata=metadata)

    return _asset


report_periods = _period_asset("report_periods", *PERIOD_TABLES["report_periods"])
retention_period = _period_asset("retention_period", *PERIOD_TABLES["retention_period"])
repurchase_period = _period_asset("repurchase_period", *PERIOD_TABLES["repurchase_period"])
nps_period = _period_asset("nps_period", *PERIOD_TABLES["nps_period"])
service_period = _period_asset("service_period", *PERIOD_TABLES["service_period"])
cohort_retention = _period_asset("cohort_retention", *PERIOD_TABLES["cohort_retention"])
