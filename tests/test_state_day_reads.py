"""The marts that read one day's (or a few days') customers straight from customer_state, bounded
by constant days so that the scan skips the older history (customer_value, action_list, revenue at
risk, the KPI board's states, the value check), see the same customers with the same columns as
the customer_snapshot view on that day. The day is a past stored day with later days stored, so
that rows ending on it, starting on it and starting the day after it all exist: a bound off by one
day loses or adds customers here (docs/benchmark.md, stop 29)."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.engine import connect
from loyalty.marts.kpis import compute_kpis
from loyalty.marts.playbook import compute_action_list
from loyalty.marts.value import (
    check_customer_value,
    compute_customer_value,
    compute_revenue_at_risk,
)
from tests.fixtures_metrics import build_snapshots, make_settings
from tests.test_model_marts import load, simulate_orders

LAST = dt.date(2025, 8, 24)  # a Sunday, the last stored day
DAY = LAST - dt.timedelta(days=7)  # the past Sunday computed
FIRST = DAY - dt.timedelta(days=45)  # the stored range: DAY's KPI window start is stored too


@pytest.fixture(scope="module")
def past_day(tmp_path_factory):
    folder = tmp_path_factory.mktemp("state_day_reads")
    settings = make_settings(folder)
    load(settings, simulate_orders(1200, seed=5))
    build_snapshots(settings, FIRST.isoformat(), LAST.isoformat())
    with connect(settings) as conn:
        compute_customer_value(conn, settings, DAY)
        compute_revenue_at_risk(conn, DAY, DAY)
        written = compute_action_list(conn, settings, DAY, DAY)
        assert written == [DAY]
    return settings


def _rows(settings, sql: str, params: list | None = None) -> list[tuple]:
    with connect(settings, read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_the_day_has_rows_ending_and_starting_on_its_edges(past_day):
    ending, starting, after = _rows(
        past_day,
        "select count(*) filter (valid_to = ?), count(*) filter (valid_from = ?), "
        "count(*) filter (valid_from = ?) from customer_state",
        [DAY, DAY, DAY + dt.timedelta(days=1)],
    )[0]
    assert ending > 0 and starting > 0 and after > 0, (ending, starting, after)


def test_customer_value_has_the_views_customers_and_days_silent(past_day):
    got = _rows(
        past_day,
        "select customer_id, status from customer_value where as_of = ? order by 1",
        [DAY],
    )
    view = _rows(
        past_day,
        "select customer_id, recency_days from customer_snapshot where as_of = ? order by 1",
        [DAY],
    )
    assert len(got) > 1000 and [c for c, _ in got] == [c for c, _ in view]
    # silent longer than lost_after_days (the view's recency_days) is lost, whatever the model says
    lost_after = past_day.model.lost_after_days
    silent = {c for c, days in view if days > lost_after}
    assert silent and silent <= {c for c, status in got if status == "lost"}
    # its check's population read agrees (it runs on the latest day written: DAY)
    with connect(past_day, read_only=True) as conn:
        outcome = check_customer_value(conn)
    assert outcome.passed, outcome.metadata


def test_the_action_list_has_the_views_customers_and_columns(past_day):
    got = _rows(
        past_day,
        "select customer_id, tier, segment, lifecycle_stage, churn_reasons, monetary "
        "from action_list where as_of = ? order by 1",
        [DAY],
    )
    view = _rows(
        past_day,
        "select customer_id, tier, segment, lifecycle_stage, nullif(churn_reasons, ''), monetary "
        "from customer_snapshot where as_of = ? order by 1",
        [DAY],
    )
    assert len(got) > 1000 and got == view


def test_revenue_at_risk_counts_the_views_customers_per_tier_and_segment(past_day):
    got = _rows(
        past_day,
        "select dimension, key, customers from revenue_at_risk "
        "where as_of = ? and dimension in ('tier', 'segment') order by all",
        [DAY],
    )
    view = _rows(
        past_day,
        "select 'tier', tier, count(*) from customer_snapshot where as_of = ? group by all "
        "union all select 'segment', segment, count(*) from customer_snapshot where as_of = ? "
        "group by all order by all",
        [DAY, DAY],
    )
    assert got and got == view


def test_the_kpi_board_from_the_snapshots_equals_the_board_from_the_orders(past_day):
    with connect(past_day) as conn:
        assert compute_kpis(conn, past_day, DAY, DAY, "orders") == "orders"
        from_orders = conn.execute(
            "select * from kpi_daily where as_of = ? order by all", [DAY]
        ).fetchall()
        assert compute_kpis(conn, past_day, DAY, DAY, "snapshots") == "snapshots"
        from_snapshots = conn.execute(
            "select * from kpi_daily where as_of = ? order by all", [DAY]
        ).fetchall()
    assert from_orders and from_snapshots == from_orders


def test_the_snapshot_assets_metadata_counts_the_views_rows(past_day):
    from loyalty.marts.snapshot import stored_rows, tiers_on
    from loyalty.marts.summary import markdown_table

    with connect(past_day, read_only=True) as conn:
        for start, end in ((DAY, DAY), (FIRST, DAY), (DAY - dt.timedelta(days=3), LAST)):
            view = conn.execute(
                "select count(*) from customer_snapshot where as_of between ? and ?", [start, end]
            ).fetchone()
            assert view is not None and stored_rows(conn, start, end) == view[0] > 0
        by_view = markdown_table(
            conn,
            "select tier, count(*) as customers, count(*) filter (is_active) as active, "
            "count(*) filter (churn_risk) as at_risk from customer_snapshot "
            "where as_of = $end group by tier order by tier",
            {"end": DAY},
        )
        assert tiers_on(conn, DAY) == by_view and by_view.count("\n") >= 3
        # a day that is not stored has no customers (the view's join with snapshot_params)
        assert tiers_on(conn, FIRST - dt.timedelta(days=1)).count("\n") == 1


def test_the_report_queries_read_the_views_customers_on_a_past_day(past_day):
    from loyalty import engine

    tiers = ["A", "B", "C", "D"]
    before = DAY - dt.timedelta(days=7)
    with connect(past_day, read_only=True) as conn:

        def report(name: str, **params) -> list[tuple]:
            rows = engine.query_file(conn, f"reports/{name}.sql", {"tiers": tiers, **params})
            return [tuple(r.values()) for r in rows]

        def view(sql: str, params: list) -> list[tuple]:
            return conn.execute(sql, params).fetchall()

        customers = report("customers", as_of=DAY, row_limit=None)
        assert sorted((c[0], c[2], c[9]) for c in customers) == view(
            "select customer_id, recency_days, tier from customer_snapshot where as_of = ? "
            "order by 1",
            [DAY],
        )
        assert report("tier_distribution", as_of=DAY) == view(
            "select tier, count(*), sum(monetary)::double from customer_snapshot "
            "where as_of = ? group by tier order by tier",
            [DAY],
        )
        warned = {r[0] for r in report("churn_warnings", as_of=DAY, row_limit=None)}
        assert warned == {
            c
            for (c,) in view(
                "select customer_id from customer_snapshot where as_of = ? and churn_risk", [DAY]
            )
        }
        assert report("tier_migration", as_of=DAY, previous_day=before) == view(
            "with prev as (select customer_id, tier from customer_snapshot where as_of = ?), "
            "cur as (select customer_id, tier from customer_snapshot where as_of = ?) "
            "select coalesce(prev.tier, 'new'), coalesce(cur.tier, 'left'), count(*) "
            "from prev full outer join cur on prev.customer_id = cur.customer_id "
            "group by all order by all",
            [before, DAY],
        )
        assert report("snapshot_stored", as_of=DAY) == [(True,)]
        # a day that is not stored holds no customers, as the view shows none: before the first
        # stored day, and after the last one (where every current row is still open)
        for day in (FIRST - dt.timedelta(days=1), LAST + dt.timedelta(days=1)):
            assert report("snapshot_stored", as_of=day) == [(False,)]
            assert report("tier_distribution", as_of=day) == []
