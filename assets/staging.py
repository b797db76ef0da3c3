"""Staging assets: the views of `loyalty.marts.staging` (the counted-order rule, SLA targets and
survey scales applied once, docs/metrics.md)."""

import dagster as dg

from loyalty.assets.metric_results import data_errors_hidden, loaded_since_metadata
from loyalty.marts.staging import build_staging
from loyalty.orchestration.resources import LoyaltyResource


def _staging_asset(name: str, source: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name="staging",
        pool="duckdb",
        deps=[source],
        description=description,
        kinds={"duckdb", "sql"},
    )
    def _asset(context: dg.AssetExecutionContext, loyalty: LoyaltyResource) -> dg.MaterializeResult:
        with data_errors_hidden(name), loyalty.session() as (settings, conn):
            build_staging(conn, settings, name)
            return dg.MaterializeResult(metadata=loaded_since_metadata(context, conn, name))

    return _asset


stg_orders = _staging_asset(
    "stg_orders",
    "orders",
    "One row per order: is_counted (status completed), value = amount - refund_amount, order_date.",
)
stg_tickets = _staging_asset(
    "stg_tickets",
    "tickets",
    "One row per ticket: SLA hours by priority (settings), deadline_at, is_resolved_in_sla, "
    "is_complaint, first-response and resolution hours.",
)
stg_surveys = _staging_asset(
    "stg_surveys",
    "surveys",
    "One row per survey response; nps 0-10, csat 1-5, ces 1-7 (out-of-scale answers are NULL).",
)
