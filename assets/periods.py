"""Period marts (SPEC §4, §10): retention, repurchase, NPS, service per week/month/quarter, and the
cohort matrix. Not partitioned: they cover every period the stored snapshots cover (see
`sql/marts/report_periods.sql`) and always agree with the snapshots. The four per-period tables are
built incrementally: a run recomputes the periods that end on or after the first day whose
snapshot was (re)computed or whose orders, tickets or surveys were loaded since the last build, and
everything when thresholds changed or a loaded row replaced an older one."""

import datetime as dt
import json

import dagster as dg
import duckdb
from loyalty import engine
from loyalty.assets.metric_results import markdown_table, preview_metadata
from loyalty.engine import execute_file, execute_sql, sql_text
from loyalty.metric_params import metric_params
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.settings import Settings

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


# tables with one row per (period_type, period_start[, key]) whose periods are independent of each
# other: a run recomputes only the periods that something changed since their last build
INCREMENTAL = ("retention_period", "repurchase_period", "nps_period", "service_period")


def compute_period_table(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> str:
    """Build `name`; returns what was done: `full`, `unchanged` or `from <day>` (the periods ending
    on or after that day were recomputed)."""
    params = metric_params(settings)
    if name not in INCREMENTAL:
        # `create or replace table` swaps the table atomically: readers never see a half-built one
        execute_file(conn, f"marts/{name}.sql", params)
        return "full"
    conn.execute(
        "create table if not exists period_build_state (table_name varchar primary key, "
        "built_at timestamp not null, loads_seen bigint, params_json varchar not null)"
    )
    fingerprint = json.dumps(params, sort_keys=True, default=str)
    since = _changed_since(conn, name, fingerprint)
    loads_seen = (
        engine.scalar(conn, "select max(load_id) from ingest_log")
        if engine.table_exists(conn, "ingest_log")
        else None
    )
    state = [name, dt.datetime.now(dt.UTC).replace(tzinfo=None), loads_seen, fingerprint]
    if since == "all":
        with engine.transaction(conn):
            execute_file(conn, f"marts/{name}.sql", params)
            conn.execute("insert or replace into period_build_state values (?, ?, ?, ?)", state)
        return "full"
    if since is None:
        gone = engine.scalar(
            conn,
            f"select count(*) from {name} where (period_type, period_start) not in "
            "(select period_type, period_start from report_periods)",
        )
        if not gone:
            return "unchanged"
        since = dt.date.max
    # the same SQL, over the periods ending on or after `since` only, into a temp table; then
    # those periods (and any that report_periods no longer holds) are replaced in one transaction
    text = sql_text(f"marts/{name}.sql")
    head = f"create or replace table {name} as"
    source = "select * from report_periods\n"
    if text.count(head) != 1 or text.count(source) != 1:
        raise RuntimeError(
            f"sql/marts/{name}.sql no longer has the shape an incremental build needs"
        )
    text = text.replace(head, f"create or replace temp table {name}__new as").replace(
        source, "select * from report_periods where end_as_of >= $changed_since\n"
    )
    with engine.transaction(conn):
        execute_sql(conn, text, {**params, "changed_since": since})
        conn.execute(
            f"delete from {name} where (period_type, period_start) in (select period_type, "
            "period_start from report_periods where end_as_of >= $since) "
            "or (period_type, period_start) not in "
            "(select period_type, period_start from report_periods)",
            {"since": since},
        )
        conn.execute(f"insert into {name} by name select * from {name}__new")
        conn.execute(f"drop table {name}__new")
        conn.execute("insert or replace into period_build_state values (?, ?, ?, ?)", state)
    return f"from {since}"


def _changed_since(conn: duckdb.DuckDBPyConnection, name: str, fingerprint: str):
    """The first day whose data changed since `name` was last built ("all" for a first build or
    other thresholds, None when nothing changed): the earliest snapshot day computed since, and
    the earliest order, ticket or survey day loaded since."""
    last = conn.execute(
        "select built_at, loads_seen, params_json from period_build_state where table_name = ?",
        [name],
    ).fetchall()
    if not last or last[0][2] != fingerprint or not engine.table_exists(conn, name):
        return "all"
    built_at, seen, _ = last[0]
    days = [
        engine.scalar(conn, "select min(as_of) from snapshot_params where computed_at >= ?", [built_at])
    ]
    for table, column in (
        ("orders", "ordered_at"),
        ("tickets", "opened_at"),
        ("surveys", "responded_at"),
    ):
        if seen is None:
            return "all"
        if engine.table_exists(conn, table):
            days.append(
                engine.scalar(
                    conn, f"select min({column})::date from {table} where _load_id > ?", [seen]
                )
            )
    if seen is not None and engine.scalar(
        conn, "select count(*) from ingest_log where load_id > ? and keys_replaced > 0", [seen]
    ):
        return "all"  # a replaced row's old day is unknown
    found = [d for d in days if d is not None]
    return min(found) if found else None


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
            built = compute_period_table(conn, loyalty.get_settings(), name)
            metadata = preview_metadata(conn, name)
            metadata["built"] = dg.MetadataValue.text(built)
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
