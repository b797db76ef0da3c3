"""Insight mart assets (docs/metrics.md, "service_impact" and "say_do"): what happened after a
ticket (breached vs met SLA, like with like) and after an NPS answer (the say-do gap), per period,
built by `loyalty.marts.insight`. Not partitioned, in the marts group: `loyalty run` builds them in
its period-marts step, the nightly job with the period marts. Metadata holds aggregates only."""

import dagster as dg

from loyalty.assets.metric_results import data_errors_hidden, preview_metadata
from loyalty.marts.insight import compute_insight_table, insight_summary
from loyalty.orchestration.resources import LoyaltyResource

# table -> (upstream assets, description)
INSIGHT_ASSETS: dict[str, tuple[list[str], str]] = {
    "service_impact": (
        ["report_periods", "customer_snapshot", "stg_tickets", "stg_orders", "stg_surveys"],
        "One row per (period_type, period_start, priority): customers whose ticket breached its "
        "SLA vs those whose tickets met it, on re-ordering within impact.window_days, orders, "
        "value and the next NPS; raw and standardised to the same tier x lifecycle mix, the "
        "difference with a 95 % interval. Tickets whose window has not elapsed are pending.",
    ),
    "say_do": (
        ["report_periods", "customer_snapshot", "stg_orders", "stg_surveys", "customer_value"],
        "One row per (period_type, period_start, customer_id) with an NPS answer: the latest "
        "answer's class against the following window: ordered again (buying / lapsed), orders "
        "and value after and before, status at the window's end (model, rules or churn flags).",
    ),
}


def _insight_asset(name: str, deps: list[str], description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name="marts",
        pool="duckdb",
        deps=deps,
        description=description,
        kinds={"duckdb", "sql"},
    )
    def _asset(loyalty: LoyaltyResource) -> dg.MaterializeResult:
        with data_errors_hidden(name), loyalty.session() as (settings, conn):
            built = compute_insight_table(conn, settings, name)
            metadata = preview_metadata(conn, name)
            metadata["built"] = dg.MetadataValue.text(built)
            metadata["periods"] = dg.MetadataValue.md(insight_summary(conn, name))
        return dg.MaterializeResult(metadata=metadata)

    return _asset


service_impact = _insight_asset("service_impact", *INSIGHT_ASSETS["service_impact"])
say_do = _insight_asset("say_do", *INSIGHT_ASSETS["say_do"])
