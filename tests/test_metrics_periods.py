"""Period marts on tiny fixtures: the ISO week 2024-03-04 (Mon) .. 2024-03-10 (Sun), start =
snapshot of 03-03, end = snapshot of 03-10. active = counted order in the last 90 days."""

from __future__ import annotations

import math

import pytest

from loyalty.engine import connect
from tests.fixtures_metrics import (
    add_order,
    add_survey,
    add_ticket,
    build_periods,
    build_snapshots,
    create_tables,
    day,
    make_settings,
    rows,
)

WEEK = day("2024-03-04")


def _week_row(settings, table: str, key: str = "tier", value: str = "all") -> dict:
    found = rows(
        settings,
        f"select * from {table} where period_type = 'week' and period_start = ? and {key} = ?",
        [WEEK, value],
    )
    assert len(found) == 1
    return found[0]


@pytest.fixture
def week(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        # active at start 03-03 means an order in (2023-12-04, 03-03]; at end 03-10 in (12-11, 03-10]
        add_order(conn, "kept", "2024-02-20", 10)
        add_order(conn, "kept", "2024-03-05", 10)  # active at start and end
        add_order(conn, "lost", "2023-12-05", 10)  # active at start, lapsed by the end
        add_order(conn, "new", "2024-03-06", 10)  # first order in the week...
        add_order(conn, "new", "2024-03-08", 10)  # ...and a second one: a repeat buyer
        add_order(conn, "back", "2023-10-01", 10)  # lapsed at start
        add_order(conn, "back", "2024-03-07", 10)  # reactivated
        add_order(conn, "gone", "2023-06-01", 10)  # never active in this window
    build_snapshots(settings, "2024-03-03", "2024-03-10")
    return settings


def test_retention_with_new_lost_and_reactivated_customers(week):
    build_periods(week)
    r = _week_row(week, "retention_period")
    # S = {kept, lost} = 2; E = {kept, new, back} = 3; N = {new} = 1
    assert (r["start_count"], r["end_count"], r["new_count"], r["kept_count"]) == (2, 3, 1, 1)
    assert r["retention_rate"] == pytest.approx((3 - 1) / 2)  # 1.0
    assert r["kept_rate"] == pytest.approx(1 / 2)
    assert r["churn_rate"] == pytest.approx(1 - 1 / 2)
    # population at start {kept, lost, back, gone}: kept and back bought in the week -> 2 / 4
    assert r["activation_rate"] == pytest.approx(2 / 4)
    # start - lost + new + reactivated = 2 - 1 + 1 + 1 = 3 = end
    assert (r["lost_count"], r["new_active_count"], r["reactivated_count"]) == (1, 1, 1)
    assert r["is_complete"] is True


def test_tiers_of_a_period_come_from_the_start_snapshot_and_empty_ones_are_null(week):
    build_periods(week)
    start_tiers = rows(
        week,
        "select tier, count(*) filter (where is_active) as active from customer_snapshot "
        "where as_of = '2024-03-03' group by tier",
    )
    tiers = {r["tier"]: r["active"] for r in start_tiers}
    found = rows(
        week,
        "select tier, start_count, kept_rate from retention_period "
        "where period_type = 'week' and period_start = ? and tier <> 'all'",
        [WEEK],
    )
    assert len(found) == 4  # A, B, C, D always present
    for r in found:
        assert r["start_count"] == tiers.get(r["tier"], 0)
        if r["start_count"] == 0:
            assert r["kept_rate"] is None  # empty denominator: NULL, not 0


def test_periods_are_reported_only_where_the_start_snapshot_is_stored(week):
    build_periods(week)
    periods = rows(week, "select period_type, period_start, is_complete from report_periods")
    # stored 03-03..03-10: the week of 03-04 (start 03-03 stored) only; March needs 02-29
    assert periods == [{"period_type": "week", "period_start": WEEK, "is_complete": True}]


def test_repurchase_with_one_and_two_order_buyers(week):
    build_periods(week)
    r = _week_row(week, "repurchase_period")
    # buyers in the week: kept (1 order), new (2), back (1) -> 1 of 3 bought again
    assert (r["buyers"], r["repeat_buyers"]) == (3, 1)
    assert r["repurchase_rate"] == pytest.approx(1 / 3)
    # lifetime at 03-10: kept 2, lost 1, new 2, back 2, gone 1 -> 3 of 5 have >= 2 orders
    assert r["lifetime_repeat_rate"] == pytest.approx(3 / 5)


def test_nps_counts_the_latest_response_per_customer(week):
    with connect(week) as conn:
        add_survey(conn, "kept", "2024-03-04", nps=10, csat=5)
        add_survey(conn, "kept", "2024-03-09", nps=3, csat=2)  # the latest wins: detractor
        add_survey(conn, "lost", "2024-03-05", nps=9, csat=4, ces=7)
        add_survey(conn, "new", "2024-03-06", nps=7, ces=3)
        add_survey(conn, "back", "2024-03-07", nps=10)
        add_survey(conn, "back", "2024-03-11", nps=0)  # after the week: ignored
        add_survey(conn, "gone", "2024-03-07", csat=5)  # no nps: not an NPS response
    build_snapshots(week, "2024-03-03", "2024-03-10")
    build_periods(week)
    r = _week_row(week, "nps_period")
    # latest per customer: kept 3 (D), lost 9 (P), new 7 (passive), back 10 (P) -> n = 4
    assert (r["responses"], r["promoters"], r["passives"], r["detractors"]) == (4, 2, 1, 1)
    assert r["nps"] == pytest.approx(100 * (2 - 1) / 4)  # 25
    p, d = 2 / 4, 1 / 4
    moe = 1.96 * 100 * math.sqrt((p + d - (p - d) ** 2) / 4)  # = 196 * sqrt(0.171875) = 81.257
    assert r["nps_moe95"] == pytest.approx(moe)
    assert r["nps_moe95"] == pytest.approx(81.257, abs=1e-3)
    assert r["low_sample"] is True  # 4 < 30
    # CSAT over every 1-5 answer: 5, 2, 4, 5 -> 3 of 4 are 4-5 ; CES answers 7, 3 -> mean 5
    assert (r["csat_n"], r["csat"]) == (4, pytest.approx(3 / 4))
    assert (r["ces_n"], r["ces_mean"]) == (2, pytest.approx(5.0))


def _sla_fixture(settings) -> None:
    with connect(settings) as conn:
        # urgent: 24 h. met in 22 h; breached (resolved after 26 h)
        add_ticket(conn, "kept", "2024-03-04T12:00:00", "question", "urgent", "2024-03-05T10:00:00")
        add_ticket(conn, "lost", "2024-03-04T12:00:00", "question", "urgent", "2024-03-05T14:00:00")
        # general: 168 h, deadline 03-11 12:00, never resolved
        add_ticket(conn, "new", "2024-03-04T12:00:00", "question", "general")
        # important complaint resolved in 10 h: met
        add_ticket(
            conn, "back", "2024-03-05T08:00:00", "complaint", "important", "2024-03-05T18:00:00"
        )


def test_sla_met_breached_and_open_past_deadline(week):
    _sla_fixture(week)
    build_snapshots(week, "2024-03-03", "2024-03-10")
    build_periods(week)
    r = _week_row(week, "service_period", "priority", "all")
    # judged at the end of the last stored day (03-11 00:00): the general ticket is still in time
    assert (r["tickets"], r["met"], r["breached"], r["open_tickets"]) == (4, 2, 1, 1)
    assert r["sla_rate"] == pytest.approx(2 / 3)
    assert r["complaint_sla_rate"] == pytest.approx(1.0)
    # resolution hours 22, 26, 10 -> median 22
    assert r["median_resolution_hours"] == pytest.approx(22.0)
    urgent = _week_row(week, "service_period", "priority", "urgent")
    assert (urgent["met"], urgent["breached"], urgent["sla_rate"]) == (1, 1, pytest.approx(0.5))

    # two days later its deadline (03-11 12:00) has passed unresolved: a breach
    build_snapshots(week, "2024-03-11", "2024-03-12")
    build_periods(week)
    r = _week_row(week, "service_period", "priority", "all")
    assert (r["met"], r["breached"], r["open_tickets"]) == (2, 2, 0)
    assert r["sla_rate"] == pytest.approx(2 / 4)


def test_sla_hours_override_turns_a_breach_into_a_met_ticket(tmp_path):
    settings = make_settings(tmp_path, {"metrics": {"sla_hours": {"urgent": 30}}})
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "kept", "2024-03-01", 10)
    _sla_fixture(settings)
    build_snapshots(settings, "2024-03-03", "2024-03-10")
    build_periods(settings)
    urgent = _week_row(settings, "service_period", "priority", "urgent")
    assert (urgent["met"], urgent["breached"]) == (2, 0)  # 26 h is within 30 h


def test_cohort_matrix_and_weighted_average(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        # January cohort: j1, j2 (j1 buys again in February); February cohort: f1, f2, f3, f4
        add_order(conn, "j1", "2024-01-05", 10)
        add_order(conn, "j1", "2024-02-05", 10)
        add_order(conn, "j2", "2024-01-06", 10)
        for c in ("f1", "f2", "f3", "f4"):
            add_order(conn, c, "2024-02-10", 10)
        add_order(conn, "f1", "2024-03-10", 10)
    build_snapshots(settings, "2024-03-15")  # data up to 03-15: March is not complete
    build_periods(settings)
    cells = rows(settings, "select * from cohort_retention where row_type = 'cohort'")
    got = {(c["cohort_month"].isoformat(), c["k"]): (c["share"], c["is_complete"]) for c in cells}
    assert got == {
        ("2024-01-01", 0): (1.0, True),
        ("2024-01-01", 1): (0.5, True),  # j1 of 2
        ("2024-01-01", 2): (0.0, False),  # March still running
        ("2024-02-01", 0): (1.0, True),
        ("2024-02-01", 1): (0.25, False),  # f1 of 4, March still running
    }
    avg = {
        r["k"]: r
        for r in rows(settings, "select * from cohort_retention where row_type = 'average'")
    }
    # k = 0 over both cohorts: 6 / 6; k = 1 only January's cell is complete: 1 / 2
    assert (avg[0]["size"], avg[0]["share"]) == (6, 1.0)
    assert (avg[1]["size"], avg[1]["share"]) == (2, 0.5)
    assert 2 not in avg
