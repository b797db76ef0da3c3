"""`customer_snapshot`: one row per (day, customer) with RFM, tier, segment, lifecycle and churn
flags (SPEC §4, §10), daily partitions, a range of days computed in one run by one query."""

import datetime as dt

import dagster as dg
import duckdb
from loyalty import engine
from loyalty.assets.daily_range import replace_days, run_days
from loyalty.assets.metric_results import markdown_table, preview_metadata
from loyalty.metric_params import metric_params, range_params, snapshot_params_json
from loyalty.orchestration.partitions import daily_partitions
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.settings import Settings


def compute_snapshot(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    run_id: str | None = None,
) -> str:
    """Replace the snapshot days start..end (and the thresholds stored with them) atomically.
    Returns how they were computed: `carry`, `day` or `range` (see `snapshot_path`)."""
    params_json = snapshot_params_json(settings)
    has_log = engine.table_exists(conn, "ingest_log")
    params = {
        **metric_params(settings),
        **range_params(start, end),
        "params_json": params_json,
        "computed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "run_id": run_id,
        "loads_seen": engine.scalar(conn, "select max(load_id) from ingest_log") if has_log else None,
    }
    path = snapshot_path(conn, start, end, params_json)
    replace_days(conn, snapshot_files(path), params)
    return path


_PATHS = {
    "carry": "carry: the stored day before plus the orders entering or leaving a window today",
    "day": "day: one aggregate over all counted orders",
    "range": "range: the state at the first day plus the changes inside the range",
}


def snapshot_path(
    conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, params_json: str
) -> str:
    """`range` for several days; for one day D, `carry` when the stored day D - 1 can be carried
    forward (see `stored_days_current`), else `day` (from all orders)."""
    if start != end:
        return "range"
    base = start - dt.timedelta(days=1)
    return "carry" if stored_days_current(conn, [base], params_json) else "day"


def stored_days_current(
    conn: duckdb.DuckDBPyConnection, days: list[dt.date], params_json: str
) -> bool:
    """Whether the stored snapshot of every one of `days` still holds: it exists, was computed
    with these thresholds, and no order or ticket dated on or before it was loaded, and no order or
    ticket key replaced, after it was computed (`snapshot_params.loads_seen`)."""
    if not all(engine.table_exists(conn, t) for t in ("snapshot_params", "ingest_log")):
        return False
    if not engine.scalar(
        conn,
        "select count(*) from information_schema.columns "
        "where table_name = 'snapshot_params' and column_name = 'loads_seen'",
    ):
        return False
    for day in sorted(set(days)):
        stored = conn.execute(
            "select params_json, loads_seen from snapshot_params where as_of = ?", [day]
        ).fetchall()
        if not stored or stored[0][0] != params_json or stored[0][1] is None:
            return False
        changed = engine.scalar(
            conn,
            """
            select
                (select count(*) from ingest_log
                 where load_id > $seen and source in ('orders', 'tickets') and keys_replaced > 0)
                + (select count(*) from orders where _load_id > $seen and ordered_at < $next)
                + (select count(*) from tickets where _load_id > $seen and opened_at < $next)
                + (not exists (select 1 from customer_snapshot where as_of = $day))::integer
            """,
            {
                "seen": stored[0][1],
                "next": dt.datetime.combine(day + dt.timedelta(days=1), dt.time()),
                "day": day,
            },
        )
        if changed:
            return False
    return True


def snapshot_files(path: str) -> list[str]:
    """The SQL files of a path (sql/marts/customer_snapshot.sql explains them)."""
    state = {
        "carry": ["marts/snapshot_state_carry.sql", "marts/snapshot_days.sql"],
        "day": ["marts/snapshot_state_day.sql", "marts/snapshot_days.sql"],
        "range": [
            "marts/snapshot_state_range.sql",
            "marts/snapshot_days.sql",
            "marts/snapshot_last_clear.sql",
        ],
    }[path]
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
        path = compute_snapshot(conn, settings, start, end, context.run_id)
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
        metadata["computed_by"] = dg.MetadataValue.text(_PATHS[path])
    return dg.MaterializeResult(metadata=metadata)
