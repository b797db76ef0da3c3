"""Staging: the counted-order rule, SLA targets and survey scales applied once (SPEC §4).

All three are views (always current, free to rebuild); the settings `stg_tickets` needs (SLA hours,
the complaint category) are written to the one-row table `ticket_settings` that its view reads.
"""

import dagster as dg
import duckdb
from loyalty.assets.metric_results import preview_metadata
from loyalty.engine import execute_file
from loyalty.metric_params import metric_params
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.settings import Settings

STAGING = ("stg_orders", "stg_tickets", "stg_surveys")


def build_staging(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> None:
    # databases written before every staging model became a view may hold it as a table
    legacy = conn.execute(
        "select count(*) from information_schema.tables "
        "where table_name = ? and table_type = 'BASE TABLE'",
        [name],
    ).fetchall()[0][0]
    if legacy:
        conn.execute(f"drop table {name}")
    execute_file(conn, f"staging/{name}.sql", metric_params(settings))


def _staging_asset(name: str, source: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name="staging",
        pool="duckdb",
        deps=[source],
        description=description,
        kinds={"duckdb", "sql"},
    )
    def _asset(loyalty: LoyaltyResource) -> dg.MaterializeResult:
        settings = loyalty.get_settings()
        with loyalty.connect() as conn:
            build_staging(conn, settings, name)
            return dg.MaterializeResult(metadata=preview_metadata(conn, name))

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
