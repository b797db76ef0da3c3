"""customer_snapshot has three ways to compute days (loyalty.marts.snapshot): `range` (the state at
the first day plus the orders and complaints entering or leaving each window inside the range),
`day` (one aggregate over all orders) and `carry` (the stored day before plus the orders of the
days that enter or leave a window). On generated data, a range computed in one run must equal the
same days computed one at a time (the first by `day`, the rest by `carry`), flagged_since included;
and a late order dated in the past must stop the carry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loyalty import engine
from loyalty.generate import generate
from loyalty.ingest import ingest_source
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import build_staging
from loyalty.settings import load_settings
from tests.conftest import write_settings

END = dt.date(2026, 3, 31)
RANGE_DAYS = 45

# short windows so that many orders and complaints enter and leave a window inside the range
SHORT_WINDOWS = {
    "active_days": 20,
    "rfm_window_days": 40,
    "churn": {
        "inactive_days": 12,
        "complaint_window_days": 9,
        "complaint_max": 0,
        "drop_window_days": 10,
        "drop_lookback_days": 50,
        "drop_min_history_days": 15,
        "drop_min_orders": 1,
    },
}


def _loaded(folder: Path, metrics: dict | None):
    write_settings(folder, {"metrics": metrics} if metrics else None)
    generate(folder / "landing", customers=1200, days=240, seed=7, end=END)
    settings = load_settings(folder / "settings.yaml")
    with engine.connect(settings) as conn:
        for kind in ("orders", "tickets"):
            ingest_source(conn, settings, kind)
        for name in ("stg_orders", "stg_tickets"):
            build_staging(conn, settings, name)
    return settings


def _rows(conn, start: dt.date, end: dt.date) -> list[tuple]:
    return conn.execute(
        "select * from customer_snapshot where as_of between ? and ? order by as_of, customer_id",
        [start, end],
    ).fetchall()


@pytest.mark.parametrize("metrics", [None, SHORT_WINDOWS], ids=["defaults", "short_windows"])
def test_a_range_in_one_run_equals_the_days_one_at_a_time(tmp_path, metrics):
    settings = _loaded(tmp_path, metrics)
    start = END - dt.timedelta(days=RANGE_DAYS - 1)
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, start, END)
        in_one_run = _rows(conn, start, END)
        conn.execute("delete from customer_state_closed")
        conn.execute("delete from customer_state_current")
        day = start
        paths = []
        while day <= END:
            paths.append(compute_snapshot(conn, settings, day, day))
            day += dt.timedelta(days=1)
        one_at_a_time = _rows(conn, start, END)
    assert paths[0] == "day" and set(paths[1:]) == {"carry"}
    assert len(in_one_run) > 10_000
    flagged = [r for r in in_one_run if r[19] is not None]
    assert len({r[19] for r in flagged}) > 5  # runs start on many different days
    assert in_one_run == one_at_a_time


def test_a_late_order_for_a_stored_day_stops_the_carry(tmp_path):
    settings = _loaded(tmp_path, SHORT_WINDOWS)
    first, second = END - dt.timedelta(days=1), END
    with engine.connect(settings) as conn:
        assert compute_snapshot(conn, settings, first - dt.timedelta(days=1), first) == "range"
        customer, lifetime = conn.execute(
            "select customer_id, lifetime_orders from customer_snapshot where as_of = ? "
            "order by customer_id limit 1",
            [first],
        ).fetchall()[0]
    # an order of `first - 20 days` delivered late: the stored `first` no longer holds
    late = first - dt.timedelta(days=20)
    (settings.landing_path / "orders_late.csv").write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
        f"LATE-1,{customer},{late} 12:00:00,123.45,completed,,web\n",
        encoding="utf-8",
    )
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        assert compute_snapshot(conn, settings, second, second) == "day"
        after_late = _rows(conn, second, second)
        # the same day from the range path agrees (the late order counted)
        compute_snapshot(conn, settings, first, second)
        assert _rows(conn, second, second) == after_late
        # and now `first` is fresh again: the next one-day run may carry it
        assert compute_snapshot(conn, settings, second, second) == "carry"
        assert _rows(conn, second, second) == after_late
        assert (
            engine.scalar(
                conn,
                "select lifetime_orders from customer_snapshot where as_of = ? and customer_id = ?",
                [first, customer],
            )
            == lifetime + 1
        )
