"""The insight marts on tiny hand-made histories (window 10 days, month March 2024):

- service_impact: 20 customers open a ticket on Monday 4 March. On that day every one of them has
  the same recency, frequency and spend, so all are tier D; half are `mature` (first order in
  January 2023), half `new`. Mature customers re-order more, and most breached tickets fall on
  mature customers: the raw comparison says a breached ticket goes with *more* re-ordering, the
  like-with-like one (each lifecycle stage weighted to the combined mix) says *less* — Simpson's
  paradox. Every expected number is computed below from the design, by a plain Python
  implementation of the formulas of docs/metrics.md.
- say_do: a handful of NPS answers and what each customer did in the 10 days after.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from loyalty.engine import connect, create_declared
from loyalty.marts.insight import compute_insights
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

W = 10  # impact.window_days
MONTH = day("2024-03-01")
TICKET_DAY = "2024-03-04"
MET, BREACHED = "2024-03-05", "2024-03-20"  # resolved: within 168 h of 4 March noon, or after

# (customer, stage, breached, re-orders in the window as (day, value)); every customer also has an
# order of 10 on 25 February, mature ones another on 20 January 2023 (outside the RFM window)
DESIGN: list[tuple[str, str, bool, list[tuple[str, float]]]] = [
    *[(f"mb{i}", "mature", True, [("2024-03-10", 20)]) for i in range(1, 7)],
    *[(f"mb{i}", "mature", True, []) for i in range(7, 9)],
    *[(f"mm{i}", "mature", False, [("2024-03-10", 20)]) for i in range(1, 3)],
    *[(f"nb{i}", "new", True, []) for i in range(1, 3)],
    *[(f"nm{i}", "new", False, [("2024-03-10", 20)]) for i in range(1, 3)],
    *[(f"nm{i}", "new", False, []) for i in range(3, 9)],
]
EXTRA_REORDER = ("mb1", "2024-03-14", 5.0)  # the window's last day: a second order, counted
LATE_ORDER = ("mm1", "2024-03-15", 50.0)  # day 11: outside the window, not counted
# next NPS: first answer after the ticket within the window; (customer, day, score)
ANSWERS = [
    ("mb1", "2024-03-08", 2),
    ("mm1", "2024-03-06", 10),
    ("nm1", "2024-03-20", 9),  # after the window
    ("nb1", "2024-03-01", 8),  # before the ticket
]
NEXT_NPS = {"mb1": 2, "mm1": 10}


def _reorders(name: str) -> list[tuple[str, float]]:
    orders = next(o for c, _, _, o in DESIGN if c == name)
    return orders + ([EXTRA_REORDER[1:]] if name == EXTRA_REORDER[0] else [])


@pytest.fixture
def impact(tmp_path):
    settings = make_settings(tmp_path, {"impact": {"window_days": W}})
    create_tables(settings)
    with connect(settings) as conn:
        for name, stage, breached, _ in DESIGN:
            if stage == "mature":
                add_order(conn, name, "2023-01-20", 10)
            add_order(conn, name, "2024-02-25", 10)
            for when, value in _reorders(name):
                add_order(conn, name, when, value)
            add_ticket(
                conn,
                name,
                TICKET_DAY,
                category="question",
                resolved=BREACHED if breached else MET,
            )
        add_order(conn, *LATE_ORDER)
        # mb8 also has a met ticket the next day: one customer, counted once, as breached
        add_ticket(conn, "mb8", "2024-03-05", category="question", resolved="2024-03-06")
        # a ticket whose window ends after the last stored day (31 March): pending
        add_order(conn, "pend", "2024-02-25", 10)
        add_ticket(conn, "pend", "2024-03-28", category="question", resolved="2024-03-29")
        # a ticket of someone who never ordered: no snapshot, outside the comparison
        add_ticket(conn, "stranger", TICKET_DAY, category="question", resolved=MET)
        for name, when, score in ANSWERS:
            add_survey(conn, name, when, nps=score)
    build_snapshots(settings, "2024-02-29", "2024-03-31")
    build_periods(settings)
    with connect(settings) as conn:
        compute_insights(conn, settings)
    return settings


def _row(settings, priority: str = "all", period_type: str = "month") -> dict:
    (found,) = rows(
        settings,
        "select * from service_impact where period_type = ? and period_start = ? and priority = ?",
        [period_type, MONTH if period_type == "month" else day(TICKET_DAY), priority],
    )
    return found


def _standardised(units: list[dict]) -> dict[str, float]:
    """Direct standardisation by hand: per stratum the share of each group, weighted by the
    stratum's combined size; the variance of the difference sums w^2 p (1 - p) / n per group."""
    strata = sorted({u["stage"] for u in units})
    total = len(units)
    out = {"b": 0.0, "m": 0.0, "var": 0.0, "orders_b": 0.0, "orders_m": 0.0}
    for s in strata:
        members = [u for u in units if u["stage"] == s]
        w = len(members) / total
        for g, flag in (("b", True), ("m", False)):
            group = [u for u in members if u["breached"] is flag]
            p = sum(u["orders"] > 0 for u in group) / len(group)
            out[g] += w * p
            out["var"] += w * w * p * (1 - p) / len(group)
            out[f"orders_{g}"] += w * sum(u["orders"] for u in group) / len(group)
    return out


def _units() -> list[dict]:
    return [
        {"name": c, "stage": s, "breached": b, "orders": len(_reorders(c))} for c, s, b, _ in DESIGN
    ]


def test_the_fixture_is_what_it_claims(impact):
    # every customer ties on 4 March: tier D; the lifecycle stage as designed
    found = rows(
        impact,
        "select customer_id, tier, lifecycle_stage from customer_snapshot where as_of = ?",
        [day(TICKET_DAY)],
    )
    by_id = {r["customer_id"]: r for r in found}
    for name, stage, _, _ in DESIGN:
        assert (by_id[name]["tier"], by_id[name]["lifecycle_stage"]) == ("D", stage)
    assert "stranger" not in by_id


def test_matched_comparison_reverses_the_raw_one(impact):
    units = _units()
    breached = [u for u in units if u["breached"]]
    met = [u for u in units if not u["breached"]]
    raw_b = sum(u["orders"] > 0 for u in breached) / len(breached)
    raw_m = sum(u["orders"] > 0 for u in met) / len(met)
    adj = _standardised(units)
    r = _row(impact)

    assert (r["breached_customers"], r["met_customers"]) == (len(breached), len(met))
    assert r["breached_reorder_rate"] == pytest.approx(raw_b)
    assert r["met_reorder_rate"] == pytest.approx(raw_m)
    assert r["reorder_rate_diff"] == pytest.approx(raw_b - raw_m)
    assert r["breached_reorder_rate_adj"] == pytest.approx(adj["b"])
    assert r["met_reorder_rate_adj"] == pytest.approx(adj["m"])
    assert r["reorder_rate_diff_adj"] == pytest.approx(adj["b"] - adj["m"])
    half = 1.96 * math.sqrt(adj["var"])
    # cut to -1..1, the range of a difference of two shares
    assert r["diff_low95"] == pytest.approx(max(-1, adj["b"] - adj["m"] - half))
    assert r["diff_high95"] == pytest.approx(min(1, adj["b"] - adj["m"] + half))
    # Simpson's paradox: raw says breached customers re-order more, like with like says less,
    # and here the whole 95 % interval is below zero
    assert r["reorder_rate_diff"] > 0 > r["reorder_rate_diff_adj"]
    assert r["diff_high95"] < 0
    assert (r["matched_customers"], r["strata"]) == (len(units), 2)


def test_orders_value_and_next_nps_count_the_window_only(impact):
    units = _units()
    r = _row(impact)
    adj = _standardised(units)
    orders = {g: sum(u["orders"] for u in units if u["breached"] is g) for g in (True, False)}
    value = {
        g: sum(v for u in units if u["breached"] is g for _, v in _reorders(u["name"]))
        for g in (True, False)
    }
    assert (r["breached_orders"], r["met_orders"]) == (orders[True], orders[False])
    assert float(r["breached_value"]) == pytest.approx(value[True])
    assert float(r["met_value"]) == pytest.approx(value[False])  # mm1's day-11 order not in it
    assert r["breached_orders_per_customer_adj"] == pytest.approx(adj["orders_b"])
    assert r["met_orders_per_customer_adj"] == pytest.approx(adj["orders_m"])

    def nps(scores: list[int]) -> float:
        return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)

    breached_nps = [NEXT_NPS[u["name"]] for u in units if u["breached"] and u["name"] in NEXT_NPS]
    met_nps = [NEXT_NPS[u["name"]] for u in units if not u["breached"] and u["name"] in NEXT_NPS]
    assert (r["breached_nps_n"], r["met_nps_n"]) == (len(breached_nps), len(met_nps))
    assert r["breached_next_nps"] == pytest.approx(nps(breached_nps))
    assert r["met_next_nps"] == pytest.approx(nps(met_nps))


def test_pending_and_outside_tickets_are_counted_apart(impact):
    r = _row(impact)
    # every designed ticket, mb8's second one, pend's and the stranger's
    assert r["tickets"] == len(DESIGN) + 3
    assert r["tickets_pending"] == 1  # 28 March + 10 days is after 31 March
    assert r["customers_outside_population"] == 1
    assert r["window_days"] == W
    # all tickets are `general`: that row equals `all`, the other priorities are empty
    general = _row(impact, "general")
    assert general["reorder_rate_diff_adj"] == pytest.approx(r["reorder_rate_diff_adj"])
    urgent = _row(impact, "urgent")
    assert (urgent["tickets"], urgent["breached_customers"], urgent["met_customers"]) == (0, 0, 0)
    assert urgent["reorder_rate_diff_adj"] is None
    assert (urgent["diff_low95"], urgent["diff_high95"]) == (None, None)


# ------------------------------------------------------------------------------------------------
# say_do

# (customer, answers as (day, score), orders as (day, value)); H = 10
SAY_DO = {
    "p_lapsed": ([("2024-03-04", 10)], [("2024-02-28", 30)]),
    "p_buying": ([("2024-03-04", 9)], [("2024-02-01", 10), ("2024-03-08", 20)]),
    "d_buying": (
        [("2024-03-02", 9), ("2024-03-05", 3)],  # the latest answer counts: a detractor
        [("2024-03-01", 10), ("2024-03-06", 15), ("2024-03-12", 15), ("2024-03-16", 99)],
    ),
    "d_lapsed": ([("2024-03-04", 0)], [("2024-01-20", 10)]),
    "passive": ([("2024-03-06", 7)], [("2024-02-20", 10), ("2024-03-16", 12)]),
    "pending": ([("2024-03-25", 10)], [("2024-03-01", 10)]),
    "nonbuyer": ([("2024-03-04", 10)], []),
}


def _class(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _expected(name: str, last_day: str = "2024-03-31") -> dict:
    answers, orders = SAY_DO[name]
    when, score = max(answers)
    a = day(when)
    after = [v for d, v in orders if a < day(d) <= a + dt.timedelta(days=W)]
    before = [v for d, v in orders if a - dt.timedelta(days=W) < day(d) <= a]
    elapsed = a.toordinal() + W <= day(last_day).toordinal()
    return {
        "nps_class": _class(score),
        "window_elapsed": elapsed,
        "behaviour": None if not elapsed else ("buying" if after else "lapsed"),
        "orders_after": len(after) if elapsed else None,
        "value_after": sum(after) if elapsed else None,
        "value_before": sum(before) if elapsed else None,
    }


@pytest.fixture
def say_do(tmp_path):
    settings = make_settings(tmp_path, {"impact": {"window_days": 30, "say_do_days": W}})
    create_tables(settings)
    with connect(settings) as conn:
        for name, (answers, orders) in SAY_DO.items():
            for when, value in orders:
                add_order(conn, name, when, value)
            for when, score in answers:
                add_survey(conn, name, when, nps=score)
    build_snapshots(settings, "2024-02-29", "2024-03-31")
    build_periods(settings)
    return settings


def _say_do_rows(settings) -> dict[str, dict]:
    found = rows(
        settings,
        "select * from say_do where period_type = 'month' and period_start = ?",
        [MONTH],
    )
    return {r["customer_id"]: r for r in found}


def test_say_do_cells_from_the_churn_flags(say_do):
    with connect(say_do) as conn:
        compute_insights(conn, say_do)
    got = _say_do_rows(say_do)
    assert set(got) == set(SAY_DO)
    for name in SAY_DO:
        exp, r = _expected(name), got[name]
        shown = {k: r[k] for k in exp}
        for k in ("value_after", "value_before"):
            shown[k] = None if shown[k] is None else float(shown[k])
        assert shown == exp, name
        assert r["window_days"] == W
    # status at the window's end: the snapshot's churn flags (recency > 30 days -> inactive)
    assert (got["d_lapsed"]["status_at_end"], got["d_lapsed"]["status_source"]) == (
        "at_risk",
        "flags",
    )
    assert got["p_lapsed"]["status_at_end"] == "active"
    assert got["nonbuyer"]["status_at_end"] is None  # never ordered: no snapshot
    assert got["pending"]["status_at_end"] is None

    # the say-do gap: promoters who lapsed, detractors who keep buying
    cells = rows(
        say_do,
        "select nps_class, behaviour, count(*) as customers, sum(value_after) as value_after "
        "from say_do where period_type = 'month' and period_start = ? and window_elapsed "
        "group by all",
        [MONTH],
    )
    by_cell = {(c["nps_class"], c["behaviour"]): c for c in cells}
    expected = [_expected(n) for n in SAY_DO if _expected(n)["window_elapsed"]]
    for cls, beh in (("promoter", "lapsed"), ("detractor", "buying")):
        members = [e for e in expected if (e["nps_class"], e["behaviour"]) == (cls, beh)]
        assert by_cell[(cls, beh)]["customers"] == len(members)
        assert float(by_cell[(cls, beh)]["value_after"]) == sum(e["value_after"] for e in members)


def test_say_do_status_comes_from_customer_value_when_stored(say_do):
    with connect(say_do) as conn:
        create_declared(conn, "marts/customer_value")
        # Sunday 10 March: the last customer_value day on or before p_lapsed's window end (14th)
        conn.execute(
            "insert into customer_value (as_of, customer_id, frequency, recency_days, t_days, "
            "status, status_source, horizon_days) values "
            "('2024-03-10', 'p_lapsed', 0, 0, 11, 'lapsed', 'model', 90), "
            "('2024-03-03', 'd_lapsed', 0, 0, 44, 'active', 'model', 90)"
        )
        compute_insights(conn, say_do)
    got = _say_do_rows(say_do)
    assert (got["p_lapsed"]["status_at_end"], got["p_lapsed"]["status_source"]) == (
        "lapsed",
        "model",
    )
    # 3 March is before d_lapsed's answer: not a status at the window's end, the flags decide
    assert (got["d_lapsed"]["status_at_end"], got["d_lapsed"]["status_source"]) == (
        "at_risk",
        "flags",
    )
