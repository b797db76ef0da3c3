"""kpi_daily reads each customer's state from the stored snapshots of the day and of its window
start when both are stored and current, else from the orders (loyalty.marts.kpis). On generated
data both give the same board, and a late order makes the run fall back to the orders."""

from __future__ import annotations

import datetime as dt
import math

from loyalty import engine
from loyalty.ingest import ingest_source
from loyalty.marts.kpis import STATES, compute_kpis
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import build_staging
from loyalty.metric_params import model_params, range_params
from loyalty.vocab import KPI_NAMES
from tests.test_snapshot_scale import END, SHORT_WINDOWS, _loaded


def _board(conn, day: dt.date) -> list[tuple]:
    rows = conn.execute(
        "select kpi, value, n, change_7d, flag from kpi_daily where as_of = ? order by kpi", [day]
    ).fetchall()
    return [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rows]


def test_the_board_from_snapshots_equals_the_board_from_orders(tmp_path):
    settings = _loaded(tmp_path, None)
    window = settings.metrics.kpi_window_days
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "surveys")
        build_staging(conn, settings, "stg_surveys")
        compute_snapshot(conn, settings, END - dt.timedelta(days=window + 10), END)
        compute_kpis(conn, settings, END - dt.timedelta(days=7), END - dt.timedelta(days=7))
        assert compute_kpis(conn, settings, END, END, states="orders") == "orders"
        from_orders = _board(conn, END)
        assert compute_kpis(conn, settings, END, END) == "snapshots"
        from_snapshots = _board(conn, END)
    assert len(from_orders) == len(KPI_NAMES) and sum(r[2] for r in from_orders) > 100
    assert from_snapshots == from_orders

    # a late order dated inside the window: the snapshots no longer hold, the orders are read
    (settings.landing_path / "orders_late.csv").write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
        f"LATE-1,C000001,{END - dt.timedelta(days=3)} 12:00:00,50.00,completed,,web\n",
        encoding="utf-8",
    )
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        assert compute_kpis(conn, settings, END, END) == "orders"


def test_a_board_that_also_needs_the_day_seven_before_asks_for_its_snapshots_too(tmp_path):
    """A night's board needs its day and window start; without a stored board of the day 7
    before, it computes that day's board too (change_7d), which needs that day's snapshots: stored
    snapshots that hold the night's days but not those are not enough, the orders are read."""
    settings = _loaded(tmp_path, None)
    window = settings.metrics.kpi_window_days
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "surveys")
        build_staging(conn, settings, "stg_surveys")
        compute_snapshot(conn, settings, END - dt.timedelta(days=window), END)
        assert compute_kpis(conn, settings, END, END) == "orders"
        week_before = END - dt.timedelta(days=7)
        assert compute_kpis(conn, settings, week_before, week_before, states="orders") == "orders"
        assert compute_kpis(conn, settings, END, END) == "snapshots"  # its board is stored now


def test_a_range_before_and_after_the_first_window_takes_both(tmp_path):
    """A first run's range: the days whose window start precedes the first stored snapshot from
    the orders, the rest from the snapshots; the same board as from the orders alone."""
    settings = _loaded(tmp_path, None)
    window = settings.metrics.kpi_window_days
    first, start = END - dt.timedelta(days=window + 12), END - dt.timedelta(days=window + 5)
    mid = first + dt.timedelta(days=window)
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "surveys")
        build_staging(conn, settings, "stg_surveys")
        compute_snapshot(conn, settings, first, END)
        used = compute_kpis(conn, settings, start, END)
        assert used == (f"orders ({start}..{mid - dt.timedelta(days=1)}), snapshots ({mid}..{END})")
        split = conn.execute("select * from kpi_daily order by all").fetchall()
        assert compute_kpis(conn, settings, start, END, states="orders") == "orders"
        alone = conn.execute("select * from kpi_daily order by all").fetchall()
    assert len(split) == len(KPI_NAMES) * ((END - start).days + 1)
    assert split == alone


def _counts_by_customer_day(conn, days: list[dt.date], window: int) -> list[tuple]:
    """The board's customer counts of each day, customer by customer through the customer_snapshot
    view (a row per stored day and customer): the day's row and the window start's row, when that
    day is stored (kpi_daily/snapshots/kpi_counts.sql's meaning)."""
    return conn.execute(
        """
        with e as (
            select * from customer_snapshot where list_contains($days, as_of)
        ),
        states as (
            select
                e.as_of,
                s.customer_id is not null as with_start,
                coalesce(s.is_active, false) as active_start,
                e.is_active as active_end,
                e.lifetime_orders - coalesce(s.lifetime_orders, 0) as window_orders,
                s.tier as start_tier
            from e
            left join customer_snapshot as s
                on s.customer_id = e.customer_id and s.as_of = e.as_of - $window
        )
        select
            as_of,
            count(*) filter (where active_start),
            count(*) filter (where active_start and not active_end),
            count(*) filter (where active_start and start_tier = 'A'),
            count(*) filter (where active_start and start_tier = 'A' and active_end),
            count(*) filter (where with_start and start_tier = 'D'),
            count(*) filter (where with_start and start_tier = 'D' and window_orders > 0),
            count(*) filter (where window_orders >= 1),
            count(*) filter (where window_orders >= 2)
        from states
        group by as_of
        order by as_of
        """,
        {"days": days, "window": window},
    ).fetchall()


def test_the_counts_from_intervals_equal_the_counts_customer_by_customer(tmp_path):
    """kpi_counts from customer_state's intervals, over a range whose first days' window starts
    precede the stored days (no start) and whose customers' rows change inside it (short windows:
    rows open and close every few days), equal the same counts customer by customer and day by
    day through the customer_snapshot view; a stored day inside the range is skipped by both."""
    settings = _loaded(tmp_path, {**SHORT_WINDOWS, "kpi_window_days": 9})
    window = settings.metrics.kpi_window_days
    first = END - dt.timedelta(days=40)
    start = first + dt.timedelta(days=window - 4)  # 4 days whose window start is not stored
    params = {**model_params(settings), **range_params(start, END)}
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, first, END)
        conn.execute("delete from snapshot_params where as_of = ?", [END - dt.timedelta(days=6)])
        engine.create_declared(conn, "marts/kpi_daily")
        with engine.intermediate(conn) as steps:
            steps.create("marts/kpi_daily/kpi_days", params)
            for step in STATES["snapshots"]:
                steps.create(step, params)
            got = conn.execute("select * from kpi_counts order by as_of").fetchall()
            days = [r[0] for r in conn.execute("select as_of from kpi_days").fetchall()]
        stored = {r[0] for r in conn.execute("select as_of from snapshot_params").fetchall()}
        on_stored = [d for d in days if d in stored]
        expected = _counts_by_customer_day(conn, on_stored, window)
    # kpi_days begins 7 days before the range: 2 of them before the first stored day, 1 deleted
    assert len(got) == len(on_stored) == len(days) - 3 >= 30
    assert got == expected
    moved = {r[1:] for r in got}
    assert len(moved) > 20 and min(r[1] for r in got) == 0 < max(r[2] for r in got)
