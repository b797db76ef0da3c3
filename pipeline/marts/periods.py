"""Period marts (docs/metrics.md): retention, repurchase, NPS, service per week/month/quarter, and the
cohort matrix. They cover every period the stored snapshots cover (`sql/marts/report_periods.sql`)
and always agree with the snapshots. The four per-period tables are built incrementally: a run
recomputes the periods that end on or after the first day whose snapshot was (re)computed or whose
orders, tickets or surveys were loaded since the last build, and everything when thresholds changed
or a loaded row replaced an older one (`period_build_state` remembers each build)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

import duckdb

from loyalty import engine
from loyalty.marts.summary import markdown_table
from loyalty.metric_params import metric_params, vocab_params
from loyalty.settings import Settings
from loyalty.sqlsafe import quote_ident
from loyalty.vocab import ALL

# every period table, in build order (report_periods first: the others read it)
PERIOD_TABLES = (
    "report_periods",
    "retention_period",
    "repurchase_period",
    "nps_period",
    "service_period",
    "cohort_retention",
)

# tables with one row per (period_type, period_start[, key]) whose periods are independent of each
# other: a run recomputes only the periods that something changed since their last build
INCREMENTAL = ("retention_period", "repurchase_period", "nps_period", "service_period")
PERIOD_KEY = ("period_type", "period_start")
# `$since` of a full build: every reported period
EVERY_PERIOD = dt.date.min

FULL: Literal["all"] = "all"


def compute_period_table(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> str:
    """Build `name`; returns what was done: `full`, `unchanged` or `from <day>` (the periods ending
    on or after that day were recomputed)."""
    if name not in PERIOD_TABLES:
        raise ValueError(f"not a period table: {name!r}")
    params = metric_params(settings)
    model = f"marts/{name}"
    bound = {**params, **vocab_params(), "since": EVERY_PERIOD}
    if name == "report_periods":
        engine.create_table(conn, model, bound)
        return "full"
    engine.execute_file(conn, "bookkeeping/period_build_state.sql")
    fingerprint = json.dumps(params, sort_keys=True, default=str)
    if name == "cohort_retention":
        return _build_cohorts(conn, bound, fingerprint)
    since = changed_since(conn, name, fingerprint)
    state = [name, dt.datetime.now(dt.UTC).replace(tzinfo=None), loads_seen(conn), fingerprint]
    if since == FULL:
        with engine.transaction(conn), engine.intermediate(conn) as steps:
            _moved_periods(steps, name, None)
            engine.create_table(conn, model, orders_from(conn, bound))
            record_build(conn, state)
        return "full"
    if since is None:
        if not _periods_gone(conn, name):
            return "unchanged"
        since = dt.date.max  # recompute nothing, drop the periods report_periods no longer holds
    elif name == "service_period":
        since = min(since, _verdicts_moved(conn) or since)
    with engine.transaction(conn), engine.intermediate(conn) as steps:
        _moved_periods(steps, name, since)
        engine.replace_keys(
            conn,
            model,
            orders_from(conn, {**bound, "since": since}),
            key=PERIOD_KEY,
            keep="marts/report_periods_before",
        )
        record_build(conn, state)
    return f"from {since}"


def orders_from(conn: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> dict[str, Any]:
    """`params`, `orders_from`: the first day of the periods computed (ending on or after
    `since`), and `states_from`: the day before it, their first start day. No order a period build
    reads is older (a ticket's window orders are dated after its day), and no stored snapshot day
    it reads is earlier (start days, end days and moved periods' old ends of those periods): bound
    values, so that the orders' ordered_at zone maps skip the older history and the scans of
    customer_state keep only the rows holding on or after states_from."""
    first = engine.scalar(
        conn, "select min(period_start) from report_periods where end_as_of >= ?", [params["since"]]
    )
    states_from = first - dt.timedelta(days=1) if first else params["since"]
    return {**params, "orders_from": first or params["since"], "states_from": states_from}


def _verdicts_moved(conn: duckdb.DuckDBPyConnection) -> dt.date | None:
    """service_period judges tickets as of the end of the last stored day: the first day with a
    ticket whose response, resolution or deadline falls between the ends of the last stored day
    at the previous build and now (its period's row changes, however old the period)."""
    return engine.scalar(
        conn,
        """
        with ends as (
            select
                (select max(end_as_of) from service_period) + 1 as judged_before,
                (select max(as_of) from snapshot_params) + 1 as judged_now
        ),

        span as (
            select
                least(judged_before, judged_now)::timestamp as lo,
                greatest(judged_before, judged_now)::timestamp as hi
            from ends
        )

        select min(t.opened_date)
        from stg_tickets as t, span as s
        where
            (t.first_response_at >= s.lo and t.first_response_at < s.hi)
            or (t.resolved_at >= s.lo and t.resolved_at < s.hi)
            or (t.deadline_at >= s.lo and t.deadline_at < s.hi)
        """,
    )


# tables whose periods that only moved their end are updated from their stored counts and the
# customers that changed since (the model reads the intermediate `<name>_moved`)
MOVED_COUNTS = ("retention_period", "nps_period", "repurchase_period")


def _moved_periods(steps: engine.Intermediate, name: str, since: dt.date | None) -> None:
    """`<name>_moved`: the counts of the periods that only moved their end since `since` (their
    stored rows) or started since (their start population); no row in a build from scratch
    (`since` None)."""
    if name not in MOVED_COUNTS:
        return
    folder = f"marts/{name}/{name}_moved"
    if since is None:
        steps.create(f"{folder}_none", {}, name=f"{name}_moved")
    else:
        steps.create(folder, {"since": since, "all_key": ALL}, name=f"{name}_moved")


def compute_periods(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    for name in PERIOD_TABLES:
        compute_period_table(conn, settings, name)


def _build_cohorts(conn: duckdb.DuckDBPyConnection, bound: dict, fingerprint: str) -> str:
    """cohort_retention: the cells of the months from the first changed one on, and the average
    rows (every other cell is kept as stored); everything when thresholds changed or a loaded row
    replaced an older one."""
    model = "marts/cohort_retention"
    engine.create_declared(conn, model)
    since = _cohort_months_changed(conn, fingerprint)
    state = ["cohort_retention", dt.datetime.now(dt.UTC).replace(tzinfo=None), loads_seen(conn)]
    with engine.transaction(conn):
        engine.replace_keys(
            conn,
            model,
            {**bound, "since": EVERY_PERIOD if since == FULL else since},
            key=("row_type", "cohort_month", "k"),
            keep="marts/cohort_retention/cohort_retention_before",
        )
        record_build(conn, [*state, fingerprint])
    return "full" if since == FULL else f"from {since}"


def _cohort_months_changed(
    conn: duckdb.DuckDBPyConnection, fingerprint: str
) -> dt.date | Literal["all"]:
    """The first day of the earliest month whose cohort cells can differ from the stored ones: the
    month of the last stored day at the previous build (its cells were partial; cells exist up to
    that month), of the last stored day now (when snapshot days were removed) and of the earliest
    order loaded since. "all" for a first build, other thresholds or a replaced row."""
    last = conn.execute(
        "select loads_seen, params_json from period_build_state where table_name = ?",
        ["cohort_retention"],
    ).fetchall()
    if not last or last[0][0] is None or last[0][1] != fingerprint:
        return FULL
    seen = last[0][0]
    if engine.scalar(
        conn, "select count(*) from ingest_log where load_id > ? and keys_replaced > 0", [seen]
    ):
        return FULL  # a replaced row's old day is unknown
    months = conn.execute(
        """
        select
            (select max(activity_month) from cohort_retention where row_type = 'cohort'),
            (select date_trunc('month', max(as_of))::date from snapshot_params),
            (select date_trunc('month', min(ordered_at))::date from orders where _load_id > ?)
        """,
        [seen],
    ).fetchall()[0]
    if months[0] is None or months[1] is None:
        return FULL  # no cells stored, or no snapshot day left
    return min(m for m in months if m is not None)


def loads_seen(conn: duckdb.DuckDBPyConnection) -> int | None:
    if not engine.table_exists(conn, "ingest_log"):
        return None
    return engine.scalar(conn, "select max(load_id) from ingest_log")


def record_build(conn: duckdb.DuckDBPyConnection, state: list, inputs: str | None = None) -> None:
    """Remember a build: [table_name, built_at, loads_seen, params_json], and what it read."""
    conn.execute("delete from period_build_state where table_name = ?", state[:1])
    conn.execute("insert into period_build_state values (?, ?, ?, ?, ?)", [*state, inputs])


def _periods_gone(conn: duckdb.DuckDBPyConnection, name: str) -> int:
    """Periods stored in `name` that report_periods no longer holds."""
    return engine.scalar(
        conn,
        f"select count(*) from {quote_ident(name)} where (period_type, period_start) not in "
        "(select period_type, period_start from report_periods)",
    )


def changed_since(
    conn: duckdb.DuckDBPyConnection, name: str, fingerprint: str
) -> dt.date | Literal["all"] | None:
    """The first day whose data changed since `name` was last built ("all" for a first build or
    other thresholds, None when nothing changed): the earliest snapshot day computed since, and
    the earliest order, ticket or survey day loaded since."""
    last = conn.execute(
        "select built_at, loads_seen, params_json from period_build_state where table_name = ?",
        [name],
    ).fetchall()
    if not last or last[0][2] != fingerprint or not engine.table_exists(conn, name):
        return FULL
    built_at, seen, _ = last[0]
    days = [
        engine.scalar(
            conn, "select min(as_of) from snapshot_params where computed_at >= ?", [built_at]
        )
    ]
    for table, column in (
        ("orders", "ordered_at"),
        ("tickets", "opened_at"),
        ("surveys", "responded_at"),
    ):
        if seen is None:
            return FULL
        if engine.table_exists(conn, table):
            days.append(
                engine.scalar(
                    conn, f"select min({column})::date from {table} where _load_id > ?", [seen]
                )
            )
    if seen is not None and engine.scalar(
        conn, "select count(*) from ingest_log where load_id > ? and keys_replaced > 0", [seen]
    ):
        return FULL  # a replaced row's old day is unknown
    found = [d for d in days if d is not None]
    return min(found) if found else None


def periods_in(conn: duckdb.DuckDBPyConnection, name: str) -> str:
    """Markdown: how many periods of each type `name` holds, the first and the last."""
    return markdown_table(
        conn,
        f"select period_type, count(distinct period_start) as periods, "
        f"min(period_start) as first, max(period_start) as last from {quote_ident(name)} "
        f"group by period_type order by period_type",
    )
