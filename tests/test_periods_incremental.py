"""The per-period marts are built incrementally (loyalty.marts.periods): after new snapshot days, a
late order and new tickets, an incremental build must equal a build from scratch, row for row."""

from __future__ import annotations

import datetime as dt
import math

from loyalty import engine
from loyalty.generate import generate
from loyalty.ingest import ingest_source
from loyalty.marts.insight import compute_insight_table
from loyalty.marts.periods import INCREMENTAL, compute_period_table, compute_periods
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import build_staging
from loyalty.settings import load_settings
from tests.conftest import write_settings
from tests.test_ingest import ORDERS_HEADER
from tests.test_snapshot_scale import END, _loaded


def _tables(conn) -> dict[str, list[tuple]]:
    # NaN (nps_moe95 of a period without responses) compared as a value, not as "never equal"
    def same(v):
        return "NaN" if isinstance(v, float) and math.isnan(v) else v

    return {
        name: [
            tuple(same(v) for v in row)
            for row in conn.execute(f"select * from {name} order by all").fetchall()
        ]
        for name in INCREMENTAL
    }


def _built_from(conn, settings, day: dt.date) -> None:
    """Build the per-period marts after the night `day`: each recomputes the periods from that
    day on; service_period also the periods of the tickets whose verdict fell since (earlier)."""
    built = {n: compute_period_table(conn, settings, n) for n in INCREMENTAL}
    verdicts = dt.date.fromisoformat(built.pop("service_period").removeprefix("from "))
    assert verdicts <= day
    assert built == {n: f"from {day}" for n in INCREMENTAL if n != "service_period"}


def test_an_incremental_build_equals_a_build_from_scratch(tmp_path):
    settings = _loaded(tmp_path, None)
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "surveys")
        build_staging(conn, settings, "stg_surveys")
    first = END - dt.timedelta(days=70)
    middle = END - dt.timedelta(days=10)
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, first, middle)
        compute_periods(conn, settings)
        assert {compute_period_table(conn, settings, n) for n in INCREMENTAL} == {"unchanged"}
        # ten more nights: five built one by one (a period that only moves its end is updated
        # from its stored counts and the customers that changed; a week that starts on one of
        # them, from its start population), then five at once
        assert any((middle + dt.timedelta(days=k)).isoweekday() == 1 for k in range(1, 6))
        day = middle + dt.timedelta(days=1)
        while day <= END:
            compute_snapshot(conn, settings, day, day)
            if day <= middle + dt.timedelta(days=5):
                compute_period_table(conn, settings, "report_periods")
                _built_from(conn, settings, day)
            day += dt.timedelta(days=1)
        compute_period_table(conn, settings, "report_periods")
        _built_from(conn, settings, middle + dt.timedelta(days=6))
        nightly = _tables(conn)
        conn.execute("delete from period_build_state")
        assert {compute_period_table(conn, settings, n) for n in INCREMENTAL} == {"full"}
        assert nightly == _tables(conn)
        # then a late order dated in an earlier, complete month
    customer = "C000001"
    late = first + dt.timedelta(days=20)
    (settings.landing_path / "orders_late.csv").write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
        f"LATE-1,{customer},{late} 12:00:00,50.00,completed,,web\n",
        encoding="utf-8",
    )
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        compute_period_table(conn, settings, "report_periods")
        built = {n: compute_period_table(conn, settings, n) for n in INCREMENTAL}
        assert built == {n: f"from {late}" for n in INCREMENTAL}
        incremental = _tables(conn)
        conn.execute("delete from period_build_state")
        assert {compute_period_table(conn, settings, n) for n in INCREMENTAL} == {"full"}
        from_scratch = _tables(conn)
        periods = engine.scalar(conn, "select count(*) from report_periods")
    assert periods > 10
    assert all(incremental[n] for n in INCREMENTAL)
    assert incremental == from_scratch


def _cohorts(conn) -> list[tuple]:
    return conn.execute("select * from cohort_retention order by all").fetchall()


def _cohorts_from_scratch(conn, settings) -> list[tuple]:
    conn.execute("delete from period_build_state where table_name = 'cohort_retention'")
    assert compute_period_table(conn, settings, "cohort_retention") == "full"
    return _cohorts(conn)


def test_cohort_cells_built_incrementally_equal_a_build_from_scratch(tmp_path):
    """cohort_retention keeps the cells of the months before the first changed one: after nights
    into a new month (the last month's cells complete, new ones appear) and after late orders that
    start a cohort and move a customer to an older cohort, it equals a build from scratch."""
    settings = _loaded(tmp_path, None)
    first, end_of_feb = END - dt.timedelta(days=70), dt.date(2026, 2, 26)
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, first, end_of_feb)
        assert compute_period_table(conn, settings, "cohort_retention") == "full"
        compute_snapshot(conn, settings, end_of_feb + dt.timedelta(days=1), dt.date(2026, 3, 3))
        assert compute_period_table(conn, settings, "cohort_retention") == "from 2026-02-01"
        incremental = _cohorts(conn)
        assert any(r[0] == "cohort" and r[3] < dt.date(2026, 2, 1) for r in incremental)
        assert any(r[0] == "cohort" and r[3] == dt.date(2026, 3, 1) for r in incremental)
        assert incremental == _cohorts_from_scratch(conn, settings)
        before = {(r[1], r[2]): r[4] for r in incremental if r[0] == "cohort"}
    (settings.landing_path / "orders_late.csv").write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
        "LATE-1,C-NEW-LATE,2026-01-15 12:00:00,50.00,completed,,web\n"
        "LATE-2,C000001,2025-09-10 12:00:00,20.00,completed,,web\n",
        encoding="utf-8",
    )
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        assert compute_period_table(conn, settings, "cohort_retention") == "from 2025-09-01"
        incremental = _cohorts(conn)
        assert incremental == _cohorts_from_scratch(conn, settings)
    after = {(r[1], r[2]): r[4] for r in incremental if r[0] == "cohort"}
    january = dt.date(2026, 1, 1)
    assert after[(january, 0)] == before[(january, 0)] + 1  # the new customer's cohort grew


def _impact(conn) -> list[tuple]:
    def same(v):
        return "NaN" if isinstance(v, float) and math.isnan(v) else v

    rows = conn.execute("select * from service_impact order by all").fetchall()
    return [tuple(same(v) for v in row) for row in rows]


def _impact_from_scratch(conn, settings) -> list[tuple]:
    conn.execute("delete from period_build_state where table_name = 'service_impact'")
    assert compute_insight_table(conn, settings, "service_impact") == "full"
    return _impact(conn)


def test_service_impact_built_incrementally_equals_a_build_from_scratch(tmp_path):
    """service_impact keeps the periods whose tickets were all settled (window elapsed, SLA
    verdict fallen) on the previous build's last day and whose data did not change: after ten
    nights and after a late order it equals a build from scratch."""
    write_settings(tmp_path, {"impact": {"window_days": 7}})
    generate(tmp_path / "landing", customers=1200, days=240, seed=7, end=END)
    settings = load_settings(tmp_path / "settings.yaml")
    # a Tuesday: the windows of the tickets of the last days of the week before are still open
    first, middle = END - dt.timedelta(days=70), dt.date(2026, 3, 17)
    with engine.connect(settings) as conn:
        for kind in ("orders", "tickets", "surveys"):
            ingest_source(conn, settings, kind)
        for name in ("stg_orders", "stg_tickets", "stg_surveys"):
            build_staging(conn, settings, name)
        compute_snapshot(conn, settings, first, middle)
        compute_period_table(conn, settings, "report_periods")
        assert compute_insight_table(conn, settings, "service_impact") == "full"
        compute_snapshot(conn, settings, middle + dt.timedelta(days=1), END)
        compute_period_table(conn, settings, "report_periods")
        # settled: window 7 days, the longest SLA 168 hours (7 days), one day to spare
        reach = dt.timedelta(days=8)
        assert compute_insight_table(conn, settings, "service_impact") == f"from {middle - reach}"
        incremental = _impact(conn)
        assert incremental == _impact_from_scratch(conn, settings)
    # a late order inside the window of a Saturday's ticket, dated in the week after it: the
    # ticket's week must be recomputed although nothing of that week was loaded
    with engine.connect(settings, read_only=True) as conn:
        customer, saturday = conn.execute(
            """
            select t.customer_id, t.opened_date from stg_tickets as t
            where dayofweek(t.opened_date) = 6 and t.opened_date between ? and ?
                and exists (
                    select 1 from customer_snapshot as c
                    where c.as_of = t.opened_date and c.customer_id = t.customer_id
                )
                and not exists (
                    select 1 from stg_orders as o
                    where o.customer_id = t.customer_id and o.is_counted
                        and o.order_date between t.opened_date and t.opened_date + 7
                )
            order by t.opened_date, t.ticket_id limit 1
            """,
            [first + dt.timedelta(days=14), middle - dt.timedelta(days=21)],
        ).fetchall()[0]
    late = saturday + dt.timedelta(days=2)
    (settings.landing_path / "orders_late.csv").write_text(
        ORDERS_HEADER + f"LATE-O,{customer},{late} 12:00:00,80.00,completed,,web\n",
        encoding="utf-8",
    )
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        compute_period_table(conn, settings, "report_periods")
        assert compute_insight_table(conn, settings, "service_impact") == f"from {late - reach}"
        incremental = _impact(conn)
        assert incremental == _impact_from_scratch(conn, settings)
    weeks = {r[1] for r in incremental if r[0] == "week"}
    assert min(weeks) < late - reach  # periods before were kept, not recomputed
