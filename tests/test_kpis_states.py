"""kpi_daily reads each customer's state from the stored snapshots of the day and of its window
start when both are stored and current, else from the orders (loyalty.marts.kpis). On generated
data both give the same board, and a late order makes the run fall back to the orders."""

from __future__ import annotations

import datetime as dt
import math

from loyalty import engine
from loyalty.ingest import ingest_source
from loyalty.marts.kpis import compute_kpis
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import build_staging
from loyalty.vocab import KPI_NAMES
from tests.test_snapshot_scale import END, _loaded


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
