"""`kpi_daily`: the KPI board per day (SPEC §4), daily partitions, a range in one run."""

import datetime as dt

import dagster as dg
import duckdb
from loyalty.assets.daily_range import run_days
from loyalty.assets.metric_results import markdown_table, preview_metadata
from loyalty.assets.snapshot import stored_days_current
from loyalty.engine import execute_file, transaction
from loyalty.metric_params import metric_params, range_params, snapshot_params_json
from loyalty.orchestration.partitions import daily_partitions
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.settings import Settings


def compute_kpis(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    states: str | None = None,
) -> str:
    """Replace the KPI board of days start..end atomically. The customers' states come from the
    stored snapshots when every day computed and its window start are stored and current, else
    from the orders (`states` forces one: "snapshots" or "orders"); returns which was used."""
    params = {**metric_params(settings), **range_params(start, end)}
    with transaction(conn):
        execute_file(conn, "marts/kpi_daily.sql", params)
        days = conn.execute("select as_of, window_start from kpi_days").fetchall()
        if states is None:
            needed = [d for pair in days for d in pair]
            current = stored_days_current(conn, needed, snapshot_params_json(settings))
            states = "snapshots" if current else "orders"
        execute_file(conn, f"marts/kpi_states_{states}.sql", params)
        execute_file(conn, "marts/kpi_board.sql", params)
    return states


@dg.asset(
    group_name="marts",
    pool="duckdb",
    deps=["customer_snapshot", "stg_orders", "stg_tickets", "stg_surveys"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb", "sql"},
    description="One row per (as_of, kpi): value over the trailing window "
    "(as_of - kpi_window_days, as_of], target, direction, change_7d, flag, n, owner.",
)
def kpi_daily(context: dg.AssetExecutionContext, loyalty: LoyaltyResource) -> dg.MaterializeResult:
    start, end = run_days(context)
    with loyalty.connect() as conn:
        states = compute_kpis(conn, loyalty.get_settings(), start, end)
        metadata = preview_metadata(
            conn, "kpi_daily", "as_of between $start and $end", {"start": start, "end": end}
        )
        metadata["board_on_last_day"] = dg.MetadataValue.md(
            markdown_table(
                conn,
                "select kpi, round(value, 4) as value, target, change_7d, flag, n "
                "from kpi_daily where as_of = $end order by kpi",
                {"end": end},
            )
        )
        metadata["customer_states_from"] = dg.MetadataValue.text(states)
    return dg.MaterializeResult(metadata=metadata)
