"""`customer_snapshot`: one row per (day, customer) with RFM, tier, segment, lifecycle and churn
flags (docs/metrics.md), a range of days computed in one run, set-based, with the thresholds used
stored beside them in `snapshot_params`. The steps are the models in sql/marts/customer_snapshot/
(its customer_snapshot.sql explains them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from loyalty import engine
from loyalty.engine import state_split
from loyalty.marts.snapshot_fold import buckets, fold, night_fold
from loyalty.marts.summary import markdown_table
from loyalty.metric_params import model_params, range_params, snapshot_params_json
from loyalty.settings import Settings

SNAPSHOT = "marts/customer_snapshot"
STATE = "customer_state"
PARAMS = "marts/snapshot_params"

# how a run computes its days -> the steps that build snapshot_segments (temp tables)
PATHS: dict[str, str] = {
    "carry": "carry: the stored day before plus the orders entering or leaving a window today",
    "day": "day: one aggregate over all counted orders",
    "range": "range: the state at the first day plus the changes inside the range",
}
_SEGMENT_STEPS: dict[str, tuple[str, ...]] = {
    # the counts of D - 1 moved by the night's orders and complaints; the population's values and
    # scores at D; the customers to compute (those whose stored row does not hold at D)
    "carry": (
        "carry/snapshot_base",
        "carry/snapshot_moved",
        "carry/snapshot_values",
        "carry/snapshot_money",
        "snapshot_scores",
        "snapshot_money_edges",
        "snapshot_thresholds",
        "carry/snapshot_affected",
        "carry/snapshot_segments",
    ),
    "day": ("day/snapshot_segments",),
    "range": (
        "range/snapshot_start_state",
        "range/snapshot_changes",
        "range/snapshot_segments",
    ),
}
# then, for every path: one row per day and customer, the values per day and measure, their scores
# and the edges of each day's scores (a carried night's are the whole population's, counted before),
# the scored rows of the days, and those rows folded into the state stored by change (state/)
_VALUE_STEPS = (
    "snapshot_values",
    "snapshot_money",
    "snapshot_scores",
    "snapshot_money_edges",
    "snapshot_thresholds",
)
_DAY_STEPS = ("snapshot_days", *_VALUE_STEPS, "snapshot_rows")


# steps read as views (step -> inline on Spark too): the stored day before a carried night, 2.5 M
# rows of 18 columns at 10 M orders, read for a few columns by four steps (written as a table:
# 0.29 s; read as a view, those steps take 0.13 s more; on Spark computed once, checkpointed); the
# money values of a day, a projection of another step that one step reads (never computed apart)
VIEW_STEPS = {"carry/snapshot_base": False, "snapshot_money": True, "carry/snapshot_money": True}


# a range's runs of equal days: after the days' values, scores and edges are counted, its days are
# cut into runs over which every stored column holds (snapshot_pieces) and snapshot_days gives way
# to the first day of each run, the only days snapshot_rows scores
_PIECE_STEPS = ("range/snapshot_pieces", "range/snapshot_piece_days")
# steps whose temp table takes another step's name
STEP_TABLES = {"range/snapshot_piece_days": "snapshot_days"}


def snapshot_steps(path: str, pieces: bool = False) -> tuple[str, ...]:
    """The steps (files of sql/marts/customer_snapshot/) that compute the rows of a run by `path`:
    one row per customer-day in snapshot_rows, or with `pieces` (a range) one row per run of
    equal days, as compute_snapshot stores a range (snapshot_pieces says which days each row
    stands for)."""
    if path == "carry":  # its segment steps counted the values and scored them already
        return (*_SEGMENT_STEPS[path], *(s for s in _DAY_STEPS if s not in _VALUE_STEPS))
    if pieces and path == "range":
        return (*_SEGMENT_STEPS[path], *_DAY_STEPS[:-1], *_PIECE_STEPS, _DAY_STEPS[-1])
    return (*_SEGMENT_STEPS[path], *_DAY_STEPS)


def create_steps(
    conn: duckdb.DuckDBPyConnection,
    steps: engine.Intermediate,
    path: str,
    params: dict[str, Any],
    pieces: bool = False,
) -> int:
    """Create the steps of `snapshot_steps(path, pieces)` in order; returns the customer-days
    computed (the rows of snapshot_days before a range's are cut to the first days of runs)."""
    computed = None
    for step in snapshot_steps(path, pieces):
        if step in STEP_TABLES:
            computed = engine.scalar(conn, f"select count(*) from {STEP_TABLES[step]}")
        if step in VIEW_STEPS:
            steps.view(f"{SNAPSHOT}/{step}", params, inline=VIEW_STEPS[step])
        else:
            steps.create(f"{SNAPSHOT}/{step}", params, name=STEP_TABLES.get(step))
    if computed is None:
        computed = engine.scalar(conn, "select count(*) from snapshot_rows")
    return computed


# memory: a range run holds one narrow row per day and customer while it counts their values and
# finds their runs of equal days (only each run's first day is scored in full), about this many
# bytes each (10 M orders, 2 GB: a 30-day range of 2.5 M customers in runs of 16 days peaked at
# 2.25 GB resident, as in runs of 8 days, and took 74 s against 80 s); a longer range is run in
# consecutive runs of as many days as fit the memory limit, and the fold takes one share of the
# customers per so many bytes of new runs (loyalty.marts.snapshot_fold.STATE_ROW_BYTES)
DAY_ROW_BYTES = 50
OPEN_END = dt.date(9999, 12, 31)  # valid_until of a current row (valid_to null)


def compute_snapshot(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    run_id: str | None = None,
    written: dict[str, int] | None = None,
) -> str:
    """Replace the snapshot days start..end (and the thresholds stored with them) atomically.
    Returns how they were computed: `carry`, `day` or `range` (see `snapshot_path`). The days are
    stored by change (`customer_state`); `customer_snapshot` shows them one row per day. `written`,
    if given, receives the customer_state rows deleted and inserted, and the customer-days
    computed (a carried night computes only the customers whose row can change)."""
    days = (end - start).days + 1
    if days > 1 and not engine.in_transaction(conn):
        per_run = days_per_run(conn, settings)
        if days > per_run:
            # consecutive runs, each atomic: every stored day is whole; a failure keeps the runs
            # before it, and a re-run recomputes them (they are days like any other)
            written = {} if written is None else written
            written.update(deleted=0, inserted=0, computed=0)
            first = start
            while first <= end:
                last = min(end, first + dt.timedelta(days=per_run - 1))
                part: dict[str, int] = {}
                compute_snapshot(conn, settings, first, last, run_id, part)
                for key in ("deleted", "inserted", "computed"):
                    written[key] += part[key]
                first = last + dt.timedelta(days=1)
            return "range"
    params = run_params(conn, settings, start, end, run_id)
    path = snapshot_path(conn, start, end, params["params_json"])
    if path == "carry" and _state_open_at(conn, start):
        # only the customers that can change at D are computed, and their stored rows folded
        params.update(every_customer=False, only_computed=True)
    # the tables first, committed on their own (a split of customer_state: state_split.split)
    create_snapshot_tables(conn)
    with engine.transaction(conn):
        # the day before the next stored day: what the new runs may cover
        next_stored = engine.scalar(
            conn, "select min(as_of) from snapshot_params where as_of > ?", [end]
        )
        params["reach_date"] = next_stored - dt.timedelta(days=1) if next_stored else OPEN_END
        with engine.intermediate(conn) as steps:
            # a range is scored by runs of equal days (its pieces), a day customer by customer
            computed = create_steps(conn, steps, path, params, pieces=start < end)
            # no stored row near the days (a first run): the new rows or runs are the state
            first_run = not _state_near(conn, start, params["reach_date"])
            if start == end and first_run:
                engine.insert_by_name(
                    conn, f"{SNAPSHOT}/state/first_rows", params, "customer_state"
                )
                deleted, inserted = 0, computed
            else:
                # one day: every row is its own run (no need to look for runs of equal days)
                folding = "state/day_intervals" if start == end else "state/snapshot_intervals"
                steps.create(f"{SNAPSHOT}/{folding}", params, name="snapshot_intervals")
                if first_run:
                    inserted = engine.scalar(conn, "select count(*) from snapshot_intervals")
                    engine.insert_by_name(
                        conn, f"{SNAPSHOT}/state/first_intervals", params, "customer_state"
                    )
                    deleted = 0
                elif params.get("only_computed") and params["reach_date"] == OPEN_END:
                    deleted, inserted = night_fold(conn, steps, params)
                else:
                    deleted, inserted = fold(conn, steps, params, buckets(conn, settings))
        engine.replace_days(conn, PARAMS, params)
    if written is not None:
        written.update(deleted=deleted, inserted=inserted, computed=computed)
    return path


def run_params(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The bound parameters of the snapshot models for the days start..end."""
    loads_seen = (
        engine.scalar(conn, "select max(load_id) from ingest_log")
        if engine.table_exists(conn, "ingest_log")
        else None
    )
    return {
        **model_params(settings),
        **range_params(start, end),
        "params_json": snapshot_params_json(settings),
        "computed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "run_id": run_id,
        "loads_seen": loads_seen,
        # a carried night: compute every customer (else: only those whose row can change)
        "every_customer": True,
        "only_computed": False,
    }


def days_per_run(conn: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """How many days one range run computes: as many day rows of all customers as fit in the
    memory limit (DAY_ROW_BYTES each); at least one."""
    customers = engine.scalar(conn, "select approx_count_distinct(customer_id) from stg_orders")
    rows = engine.memory_limit_bytes(settings) // DAY_ROW_BYTES
    return max(1, rows // max(1, customers or 0))


def _state_near(conn: duckdb.DuckDBPyConnection, day: dt.date, reach: dt.date) -> bool:
    """Whether a stored row of customer_state overlaps or meets day..reach."""
    return bool(
        engine.scalar(
            conn,
            "select count(*) from (select 1 from customer_state where valid_from <= ? + 1 "
            "and coalesce(valid_to, date '9999-12-31') >= ? - 1 limit 1)",
            [reach, day],
        )
    )


def _state_open_at(conn: duckdb.DuckDBPyConnection, day: dt.date) -> bool:
    """Whether every stored row of the day before `day` is still open and none starts later: then a
    customer's stored row of day - 1 also holds on `day` unless something moved it, and a carried
    night computes only the customers it moved (carry/snapshot_affected.sql)."""
    return not engine.scalar(
        conn,
        "select count(*) from (select 1 from customer_state where valid_from >= ? "
        "or valid_to >= ? - 1 limit 1)",
        [day, day],
    )


def create_snapshot_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """snapshot_params, customer_state and the customer_snapshot view, if missing. A database from
    before history was stored by change has customer_snapshot as a table of one row per day and
    customer: its rows are folded into customer_state once, and the table gives way to the view.
    On DuckDB customer_state is kept as its closed and its current rows (loyalty.engine.state_split;
    a database from before that has one table: split once)."""
    with engine.transaction(conn):
        engine.create_declared(conn, PARAMS)
        daily = engine.table_kind(conn, "customer_snapshot") == "table"
        if daily:
            conn.execute("alter table customer_snapshot rename to snapshot_rows_daily")
        if engine.table_kind(conn, STATE) != "view":
            engine.create_declared(conn, SNAPSHOT)
            if isinstance(conn, duckdb.DuckDBPyConnection):
                state_split.split(conn, STATE)
        engine.execute_file(conn, f"{SNAPSHOT}/snapshot_view.sql")
        if daily:
            days = conn.execute("select min(as_of), max(as_of) from snapshot_rows_daily").fetchall()
            params = {
                "start_date": days[0][0],
                "end_date": days[0][1],
                "reach_date": OPEN_END,
                "computed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                "only_computed": False,
            }
            with engine.intermediate(conn) as steps:
                conn.execute(
                    "create or replace temp table snapshot_rows as from snapshot_rows_daily"
                )
                # every row a piece of its one day
                conn.execute(
                    "create or replace temp table snapshot_pieces as "
                    "select customer_id, as_of as from_day, as_of as until_day from snapshot_rows"
                )
                steps.names.extend(["snapshot_rows", "snapshot_pieces"])
                steps.create(f"{SNAPSHOT}/state/snapshot_intervals", params)
                fold(conn, steps, params, buckets(conn, None))
            conn.execute("drop table snapshot_rows_daily")


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
    ticket key replaced, after it was computed (`snapshot_params.loads_seen`). One query for all
    the days (a first run's KPI board asks about every day of its range). A stored day has its
    rows: they are written in the transaction that stores the day in snapshot_params."""
    if not all(engine.table_exists(conn, t) for t in ("snapshot_params", "ingest_log")):
        return False
    if "loads_seen" not in engine.columns(conn, "snapshot_params"):
        return False
    if not days:
        return True
    stale = engine.query_model(
        conn,
        "bookkeeping/snapshot_days_stale",
        {"days": sorted(set(days)), "params_json": params_json},
    )
    return not stale[0]["stale_days"]


# the customer_state rows holding on some day of $start..$end, by constant bounds the scan applies
# to two date columns (reading customer_snapshot for a day joins the view with snapshot_params,
# which reads every stored row's columns first: it grows with the history)
_HOLDING = (
    "from customer_state where valid_from <= $end "
    "and coalesce(valid_to, date '9999-12-31') >= $start"
)


def tiers_on(conn: duckdb.DuckDBPyConnection, day: dt.date) -> str:
    """Markdown: customers, active and at risk per tier on `day` (a stored day's customers)."""
    return markdown_table(
        conn,
        "select tier, count(*) as customers, count(*) filter (is_active) as active, "
        f"count(*) filter (churn_risk) as at_risk {_HOLDING} "
        "and exists (select 1 from snapshot_params where as_of = $end) "
        "group by tier order by tier",
        {"start": day, "end": day},
    )


def stored_rows(conn: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> int:
    """The rows of customer_snapshot on the stored days of start..end."""
    return int(
        engine.scalar(
            conn,
            "select count(*) from snapshot_params as p "
            f"inner join (select valid_from, valid_to {_HOLDING}) as s "
            "on p.as_of between s.valid_from and coalesce(s.valid_to, date '9999-12-31') "
            "where p.as_of between $start and $end",
            {"start": start, "end": end},
        )
    )
