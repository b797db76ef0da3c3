"""customer_snapshot on tiny hand-computable fixtures: every expected value is worked out in the
comments from the SPEC §4 formulas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from loyalty.engine import connect
from tests.fixtures_metrics import (
    add_order,
    add_ticket,
    build_snapshots,
    create_tables,
    day,
    make_settings,
    rows,
    snapshot_on,
)

D = "2024-03-31"


def _rfm_fixture(conn) -> None:
    # as of 2024-03-31:
    #   a, b: one order today of 50      -> recency 0,  frequency 1, monetary 50 (a and b tie)
    #   c: 10 on 03-01 and 10 on 03-10   -> recency 21, frequency 2, monetary 20
    #   d: 100 on 02-01                  -> recency 59, frequency 1, monetary 100
    #   e: 5 on 01-01, 01-02, 01-03      -> recency 88, frequency 3, monetary 15
    add_order(conn, "a", D, 50)
    add_order(conn, "b", D, 50)
    add_order(conn, "c", "2024-03-01", 10)
    add_order(conn, "c", "2024-03-10", 10)
    add_order(conn, "d", "2024-02-01", 100)
    for d in ("2024-01-01", "2024-01-02", "2024-01-03"):
        add_order(conn, "e", d, 5)


@pytest.fixture
def rfm_settings(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        _rfm_fixture(conn)
    return settings


def test_ties_share_a_score_and_scores_follow_percent_rank(rfm_settings):
    build_snapshots(rfm_settings, D)
    snap = snapshot_on(rfm_settings, D)
    # percent_rank = (rank - 1) / (n - 1) with n = 5; score = min(5, 1 + floor(5 * pr))
    # recency, largest first: e 88 (pr 0 -> 1), d 59 (.25 -> 2), c 21 (.5 -> 3), a = b = 0 (.75 -> 4)
    # frequency: a = b = d = 1 (pr 0 -> 1), c 2 (pr .75 -> 4), e 3 (pr 1 -> min(5, 6) = 5)
    # monetary: e 15 (0 -> 1), c 20 (.25 -> 2), a = b = 50 (.5 -> 3), d 100 (1 -> 5)
    got = {c: (s["r"], s["f"], s["m"]) for c, s in snap.items()}
    assert got == {
        "a": (4, 1, 3),
        "b": (4, 1, 3),
        "c": (3, 4, 2),
        "d": (2, 1, 5),
        "e": (1, 5, 1),
    }
    # rfm_score = 100 * (r + f + m) / 15: a 8 -> 53.3333, c 9 -> 60, d 8 -> 53.3333, e 7 -> 46.6667
    assert snap["a"]["rfm_score"] == pytest.approx(53.3333)
    assert snap["c"]["rfm_score"] == pytest.approx(60.0)
    assert snap["e"]["rfm_score"] == pytest.approx(46.6667)
    # tiers: > 50 is C, <= 50 is D
    assert {c: s["tier"] for c, s in snap.items()} == {
        "a": "C",
        "b": "C",
        "c": "C",
        "d": "C",
        "e": "D",
    }
    # fm = floor((f + m + 1) / 2): a (1+3+1)/2 -> 2, c (4+2+1)/2 -> 3, d (1+5+1)/2 -> 3, e -> 3
    assert {c: s["segment"] for c, s in snap.items()} == {
        "a": "Potential loyalists",  # r 4, fm 2
        "b": "Potential loyalists",
        "c": "Needs attention",  # r 3, fm 3
        "d": "At risk",  # r 2, fm 3
        "e": "At risk",  # r 1, fm 3
    }


def test_monetary_weight_moves_a_big_spender_up_a_tier(tmp_path):
    settings = make_settings(tmp_path, {"metrics": {"rfm_weights": {"r": 1, "f": 1, "m": 3}}})
    create_tables(settings)
    with connect(settings) as conn:
        _rfm_fixture(conn)
    build_snapshots(settings, D)
    snap = snapshot_on(settings, D)
    # weights 1:1:3 -> score = 100 * (r + f + 3m) / 25
    # d: (2 + 1 + 15) / 25 = 72 -> B (was 53.33, C, with equal weights)
    # a: (4 + 1 + 9) / 25 = 56 -> C ; c: (3 + 4 + 6) / 25 = 52 -> C ; e: (1 + 5 + 3) / 25 = 36 -> D
    assert snap["d"]["rfm_score"] == pytest.approx(72.0)
    assert snap["d"]["tier"] == "B"
    assert snap["a"]["rfm_score"] == pytest.approx(56.0)
    assert snap["e"]["tier"] == "D"


def test_tier_threshold_override_changes_the_tier(tmp_path):
    settings = make_settings(tmp_path, {"metrics": {"tiers": {"A": 90, "B": 59, "C": 50}}})
    create_tables(settings)
    with connect(settings) as conn:
        _rfm_fixture(conn)
    build_snapshots(settings, D)
    # c scores 60: C under the default B >= 65, B once B >= 59
    assert snapshot_on(settings, D)["c"]["tier"] == "B"


def test_explicit_bins_replace_ranks(tmp_path):
    bins = {
        "recency_days": [7, 30, 60, 90],
        "frequency": [2, 3, 4, 5],
        "monetary": [20, 50, 80, 100],
    }
    settings = make_settings(tmp_path, {"metrics": {"rfm_bins": bins}})
    create_tables(settings)
    with connect(settings) as conn:
        _rfm_fixture(conn)
        # money on each side of an edge: 19.99 reaches none, 20 and 49.99 the first, 80 three
        for name, money in (("m1", 19.99), ("m2", 20), ("m2b", 49.99), ("m4", 80)):
            add_order(conn, name, D, money)
    build_snapshots(settings, D)
    snap = snapshot_on(settings, D)
    assert [snap[c]["m"] for c in ("m1", "m2", "m2b", "m4")] == [1, 2, 2, 4]
    # recency: 5 minus edges passed; frequency/monetary: 1 plus edges reached
    # a: recency 0 -> 5; frequency 1 -> 1; monetary 50 reaches 20, 50 -> 3
    # d: recency 59 passes 7, 30 -> 3; monetary 100 reaches all four -> 5
    # e: recency 88 passes 7, 30, 60 -> 2; frequency 3 reaches 2, 3 -> 3; monetary 15 -> 1
    assert (snap["a"]["r"], snap["a"]["f"], snap["a"]["m"]) == (5, 1, 3)
    assert (snap["d"]["r"], snap["d"]["f"], snap["d"]["m"]) == (3, 1, 5)
    assert (snap["e"]["r"], snap["e"]["f"], snap["e"]["m"]) == (2, 3, 1)


def test_a_single_customer_scores_the_bottom_of_every_rank(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "solo", D, 500)
    build_snapshots(settings, D)
    solo = snapshot_on(settings, D)["solo"]
    # percent_rank of a one-row population is 0 -> every score 1 -> 100 * 3 / 15 = 20 -> D
    assert (solo["r"], solo["f"], solo["m"], solo["rfm_score"], solo["tier"]) == (1, 1, 1, 20, "D")
    assert solo["segment"] == "Lost"  # r 1, fm 1


def test_counted_orders_values_and_the_day_boundary(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "x", "2024-03-31T23:59:00", 100, refund=30)  # counted on D, worth 70
        add_order(conn, "x", "2024-04-01T00:00:00", 999)  # the next day: not yet
        add_order(conn, "x", "2024-03-20", 40, status="cancelled")  # not counted
        add_order(conn, "x", "2024-03-21", 40, status="refunded")  # not counted
        add_order(conn, "y", "2024-04-01", 10)  # first order after D: not in the population
        # D - 365 = 2023-04-01 (2024 is a leap year): the frequency window is (2023-04-01, D]
        add_order(conn, "z", "2023-04-01", 25)  # on the excluded edge: population, not window
        add_order(conn, "z", "2023-04-02", 35)  # first day inside the window
    build_snapshots(settings, D)
    snap = snapshot_on(settings, D)
    assert set(snap) == {"x", "z"}
    x = snap["x"]
    assert (x["recency_days"], x["frequency"], x["monetary"]) == (0, 1, Decimal("70.00"))
    assert x["lifetime_orders"] == 1
    z = snap["z"]
    assert (z["frequency"], z["monetary"], z["lifetime_orders"]) == (1, Decimal("35.00"), 2)
    assert z["recency_days"] == 364  # 2024-03-31 - 2023-04-02
    assert z["lifecycle_stage"] == "mature"
    assert z["is_active"] is False and z["inactive"] is True
    assert z["churn_reasons"] == "inactive"


def test_four_complaints_in_30_days_flag_a_customer_three_do_not(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        for c in ("four", "three"):
            add_order(conn, c, "2024-03-30", 20)  # recent buyers: not inactive
        for d in ("2024-03-02", "2024-03-10", "2024-03-20", "2024-03-31"):
            add_ticket(conn, "four", d)
        for d in ("2024-03-02", "2024-03-10", "2024-03-20"):
            add_ticket(conn, "three", d)
        add_ticket(conn, "three", "2024-03-01")  # D - 30: outside (D - 30, D]
        add_ticket(conn, "three", "2024-03-15", category="question")  # not a complaint
    build_snapshots(settings, D)
    snap = snapshot_on(settings, D)
    assert (snap["four"]["complaint_count"], snap["four"]["complaints"]) == (4, True)
    assert snap["four"]["churn_reasons"] == "complaints"
    assert snap["four"]["flagged_since"] == day(D)
    assert (snap["three"]["complaint_count"], snap["three"]["complaints"]) == (3, False)
    assert snap["three"]["churn_risk"] is False and snap["three"]["flagged_since"] is None


def _drop_fixture(conn) -> None:
    # p and q: an order on the 1st and 15th of every month Jan-May 2024 -> 10 orders
    for c in ("p", "q"):
        for month in range(1, 6):
            add_order(conn, c, f"2024-{month:02d}-01", 10)
            add_order(conn, c, f"2024-{month:02d}-15", 10)
    add_order(conn, "q", "2024-06-20", 10)  # q keeps buying: 1 order in the last 30 days
    # r: too new, 3 orders since 2024-04-20
    for d in ("2024-04-20", "2024-05-01", "2024-05-20"):
        add_order(conn, "r", d, 10)
    # s: long history but a single order in it
    add_order(conn, "s", "2024-01-01", 10)


def test_activity_drop_needs_history_and_compares_with_the_own_rate(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        _drop_fixture(conn)
    d = "2024-06-30"
    build_snapshots(settings, d)
    snap = snapshot_on(settings, d)
    # history (max(D - 365, first order - 1), D - 30] = (2023-12-31, 2024-05-31]: 152 days, 10 orders
    # own 30-day average = 10 * 30 / 152 = 1.97; half of it = 0.99
    p, q = snap["p"], snap["q"]
    assert (p["drop_history_days"], p["drop_history_orders"], p["orders_recent"]) == (152, 10, 0)
    assert p["activity_drop"] is True  # 0 < 0.99
    assert q["orders_recent"] == 1 and q["activity_drop"] is False  # 1 >= 0.99
    # r: history (2024-04-19, 2024-05-31] is 42 days < 60 -> not judged, even with no recent order
    assert snap["r"]["drop_history_days"] == 42 and snap["r"]["activity_drop"] is False
    # s: 152 days of history but only 1 order in it (< 2) -> not judged
    assert snap["s"]["drop_history_orders"] == 1 and snap["s"]["activity_drop"] is False


def test_drop_ratio_override_flags_the_customer_close_to_the_line(tmp_path):
    settings = make_settings(tmp_path, {"metrics": {"churn": {"drop_ratio": 0.6}}})
    create_tables(settings)
    with connect(settings) as conn:
        _drop_fixture(conn)
    build_snapshots(settings, "2024-06-30")
    # 60 % of 1.97 = 1.18 > q's 1 recent order -> flagged
    q = snapshot_on(settings, "2024-06-30")["q"]
    assert q["activity_drop"] is True
    assert q["churn_reasons"] == "activity_drop"


@pytest.fixture
def flag_settings(tmp_path):
    # inactive when recency > 2 days, so runs of flagged days are short and easy to follow
    settings = make_settings(tmp_path, {"metrics": {"churn": {"inactive_days": 2}}})
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "z", "2024-01-01", 10)
        add_order(conn, "z", "2024-01-06", 10)
    return settings


# recency of z: 01-01 0, 01-02 1, 01-03 2, 01-04 3*, 01-05 4*, 01-06 0, 01-07 1, 01-08 2, 01-09 3*,
# 01-10 4* (* = flagged). Two runs: 01-04..01-05 and 01-09..01-10.
EXPECTED_FLAGGED_SINCE = {
    "2024-01-01": None,
    "2024-01-02": None,
    "2024-01-03": None,
    "2024-01-04": day("2024-01-04"),
    "2024-01-05": day("2024-01-04"),
    "2024-01-06": None,
    "2024-01-07": None,
    "2024-01-08": None,
    "2024-01-09": day("2024-01-09"),
    "2024-01-10": day("2024-01-09"),
}


def _flagged_since(settings) -> dict[str, object]:
    found = rows(
        settings, "select as_of, flagged_since from customer_snapshot where customer_id = 'z'"
    )
    return {r["as_of"].isoformat(): r["flagged_since"] for r in found}


def test_flagged_since_in_one_range(flag_settings):
    build_snapshots(flag_settings, "2024-01-01", "2024-01-10")
    assert _flagged_since(flag_settings) == EXPECTED_FLAGGED_SINCE


def test_flagged_since_day_by_day_continues_the_stored_run(flag_settings):
    for n in range(1, 11):
        build_snapshots(flag_settings, f"2024-01-{n:02d}")
    assert _flagged_since(flag_settings) == EXPECTED_FLAGGED_SINCE


def test_flagged_since_across_two_ranges_that_split_a_run(flag_settings):
    build_snapshots(flag_settings, "2024-01-01", "2024-01-04")
    build_snapshots(flag_settings, "2024-01-05", "2024-01-10")  # 01-05 continues 01-04's run
    assert _flagged_since(flag_settings) == EXPECTED_FLAGGED_SINCE


def test_a_missing_snapshot_day_breaks_the_run(flag_settings):
    build_snapshots(flag_settings, "2024-01-03")
    build_snapshots(flag_settings, "2024-01-05")  # 01-04 was never stored
    assert _flagged_since(flag_settings)["2024-01-05"] == day("2024-01-05")


def test_rerunning_a_day_replaces_only_that_day_and_stores_the_thresholds(flag_settings):
    build_snapshots(flag_settings, "2024-01-01", "2024-01-10")
    before = rows(flag_settings, "select * from customer_snapshot order by as_of")
    build_snapshots(flag_settings, "2024-01-05")
    after = rows(flag_settings, "select * from customer_snapshot order by as_of")
    assert after == before
    params = rows(flag_settings, "select as_of, params_json from snapshot_params order by as_of")
    assert len(params) == 10
    assert '"inactive_days": 2' in params[0]["params_json"]


NEWCOMERS = [12.5, 50, 3, 3, 3, 3, 3]


@pytest.mark.parametrize("days", [1, 3, 0], ids=["one day", "a range", "a carried night"])
def test_money_scores_with_ties_across_edges_equal_a_ranking_by_hand(tmp_path, days):
    """Money is scored through coarse buckets of cents (snapshot_money_edges.sql): runs of equal
    money that straddle a score's edge, values at the two sides of a bucket's bound (49.99 and
    50.00 cents-wise apart by one) and a lone top value, over one day, over a range whose last
    day adds customers, and on a carried night that adds them (days 0: the day before computed
    alone, then the night carried from it, its edges from the population's values counted per
    value, and the customers whose stored m the newcomers moved computed again). Every customer's
    m equals the percent rank counted by hand: 1 + floor(5 * customers below / (population - 1)),
    at most 5."""
    amounts = [10] * 9 + [12.5] * 4 + [49.99, 50, 50, 50.01] + [80] * 7 + [1000]
    last = day(D)
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        for i, money in enumerate(amounts):
            add_order(conn, f"c{i:02d}", "2024-02-01", money)
        # new on the last day: below the kept 12.50s, enough to move their m (2 -> 3) on a
        # carried night where nothing else of theirs moves (their one order is two months old:
        # no window's edge; recency and frequency scores 1, the least recent, one order each)
        for i, money in enumerate(NEWCOMERS):
            add_order(conn, f"n{i}", D, money)
        # a load older than every order, so that a stored day may be carried forward
        conn.execute(
            "insert into ingest_log values (1, 'orders', 'orders.csv', 'h', 0, 'loaded', null, "
            "0, 0, 0, 0, 0, 0, now()::timestamp, null, null)"
        )
    first = (last - dt.timedelta(days=days - 1 if days else 1)).isoformat()
    if days:
        build_snapshots(settings, first, D)
    else:
        build_snapshots(settings, first)
        assert build_snapshots(settings, D) == "carry"
    for as_of, extra in ((first, days == 1), (D, True)):
        snap = snapshot_on(settings, as_of)
        money = {c: float(r["monetary"]) for c, r in snap.items()}
        n = len(money)
        assert n == len(amounts) + (len(NEWCOMERS) if extra else 0)
        for c, v in money.items():
            below = sum(1 for w in money.values() if w < v)
            assert snap[c]["m"] == min(5, 1 + int(5 * (below / (n - 1)))), (as_of, c, v)
