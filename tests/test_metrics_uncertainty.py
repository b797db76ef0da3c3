"""Uncertainty on every rate: the Wilson interval (macro in sql/macros.sql, Python twin in
loyalty.reports.stats) against a published example and scipy, the period marts' intervals, and
the KPI board's "significant change" flag on both sides of its threshold."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from scipy.stats import binomtest

from loyalty.engine import connect
from loyalty.marts.checks import run_check
from loyalty.reports import stats
from tests.fixtures_metrics import (
    add_order,
    add_survey,
    build_kpis,
    build_periods,
    build_snapshots,
    create_tables,
    day,
    make_settings,
    rows,
)

Z95 = NormalDist().inv_cdf(0.975)


def _macro(settings, sql: str, params: dict) -> tuple:
    with connect(settings) as conn:  # the engine creates the macros on every connection
        return conn.execute(sql, params).fetchone()


def test_wilson_interval_matches_the_published_example(tmp_path):
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81 of 263 -> 0.2553 to 0.3662
    settings = make_settings(tmp_path)
    low, high = _macro(
        settings, "select wilson_low(81, 263, $z), wilson_high(81, 263, $z)", {"z": Z95}
    )
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert stats.wilson(81, 263, stats.z_of(0.95)) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 10), (1, 10), (5, 10), (10, 10), (15, 148)])
@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
def test_wilson_interval_equals_scipys_on_edge_cases(tmp_path, k, n, confidence):
    settings = make_settings(tmp_path)
    z = stats.z_of(confidence)
    expected = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    got = _macro(
        settings, "select wilson_low($k, $n, $z), wilson_high($k, $n, $z)", {"k": k, "n": n, "z": z}
    )
    assert got == pytest.approx((expected.low, expected.high), abs=1e-9)
    assert stats.wilson(k, n, z) == pytest.approx(got, abs=1e-12)
    # no answers: no interval
    empty = _macro(settings, "select wilson_low(0, 0, $z), wilson_high(0, 0, $z)", {"z": z})
    assert empty == (None, None) and stats.wilson(0, 0, z) is None


def test_period_marts_carry_n_and_the_wilson_interval_of_every_share(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        # week 2024-03-04..03-10: five customers active at the start, three buy again in the week
        for i in range(5):
            add_order(conn, f"c{i}", "2024-02-20")
        for i in range(3):
            add_order(conn, f"c{i}", "2024-03-05")
            add_order(conn, f"c{i}", "2024-03-06")
        add_survey(conn, "c0", "2024-03-05", nps=10, csat=5)
        add_survey(conn, "c1", "2024-03-06", nps=3, csat=2)
        add_survey(conn, "c2", "2024-03-07", nps=8, csat=4)
    build_snapshots(settings, "2024-03-03", "2024-03-10")
    build_periods(settings)

    def week(table: str, key: str = "tier") -> dict:
        (row,) = rows(
            settings,
            f"select * from {table} where period_type = 'week' and period_start = ? "
            f"and {key} = 'all'",
            [day("2024-03-04")],
        )
        return row

    def wilson(k: int, n: int) -> tuple[float, float]:
        ci = binomtest(k, n).proportion_ci(method="wilson")
        return ci.low, ci.high

    ret = week("retention_period")
    assert (ret["start_count"], ret["kept_count"]) == (5, 5)
    assert (ret["kept_rate_low"], ret["kept_rate_high"]) == pytest.approx(wilson(5, 5))
    # churn = 1 - kept: its interval is the kept interval mirrored
    assert (ret["churn_rate_low"], ret["churn_rate_high"]) == pytest.approx(
        (1 - wilson(5, 5)[1], 1 - wilson(5, 5)[0])
    )
    assert ret["activation_rate"] == pytest.approx(3 / 5)
    assert (ret["activation_rate_low"], ret["activation_rate_high"]) == pytest.approx(wilson(3, 5))
    rep = week("repurchase_period")
    assert (rep["buyers"], rep["repeat_buyers"]) == (3, 3)
    assert (rep["repurchase_rate_low"], rep["repurchase_rate_high"]) == pytest.approx(wilson(3, 3))
    nps = week("nps_period")
    # one promoter, one passive, one detractor of 3: NPS 0 +/- 1.96 * 100 * sqrt(2/3 / 3)
    se = 100 * math.sqrt((1 / 3 + 1 / 3 - 0) / 3)
    assert nps["nps"] == pytest.approx(0)
    assert (nps["nps_low"], nps["nps_high"]) == pytest.approx((-Z95 * se, Z95 * se))
    assert (nps["csat"], nps["csat_n"]) == (pytest.approx(2 / 3), 3)
    assert (nps["csat_low"], nps["csat_high"]) == pytest.approx(wilson(2, 3))
    # response rate: 3 of the 5 customers active at the end answered
    assert (nps["active_respondents"], nps["active_customers"]) == (3, 5)
    assert (nps["response_rate_low"], nps["response_rate_high"]) == pytest.approx(wilson(3, 5))
    # a period and tier without answers has no interval (NULL, not -100..100)
    empty = rows(settings, "select nps_low, nps_high, csat_low from nps_period where responses = 0")
    assert empty and all(r == {"nps_low": None, "nps_high": None, "csat_low": None} for r in empty)
    # the blocking checks hold every share inside its interval, and notice one that is not
    with connect(settings) as conn:
        checks = ("repurchase_shares_valid", "service_rates_valid", "nps_within_bounds")
        assert all(run_check(conn, c).passed for c in checks)
        conn.execute("update repurchase_period set repurchase_rate_low = 1.5 where buyers > 0")
        outcome = run_check(conn, "repurchase_shares_valid")
    assert not outcome.passed
    assert outcome.metadata["violations: repurchase_rate outside its interval"] > 0


def _csat_board(tmp_path, this_week: tuple[int, int], week_before: tuple[int, int], **u):
    """The CSAT KPI on 03-10 and 03-03 (7-day windows) from `satisfied of answers` each week."""
    tmp_path.mkdir()
    metrics: dict = {"kpi_window_days": 7, **({"uncertainty": u} if u else {})}
    settings = make_settings(tmp_path, {"metrics": metrics})
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "buyer", "2024-02-01")
        for when, (satisfied, answers) in (("2024-03-08", this_week), ("2024-03-01", week_before)):
            for i in range(answers):
                add_survey(conn, f"r{when}{i}", when, csat=5 if i < satisfied else 2)
    build_snapshots(settings, "2024-02-25", "2024-03-10")
    build_kpis(settings, "2024-03-03", "2024-03-10")
    (row,) = rows(
        settings, "select * from kpi_daily where as_of = ? and kpi = 'csat'", [day("2024-03-10")]
    )
    return row


def _pooled_z(k1: int, n1: int, k2: int, n2: int) -> float:
    p = (k1 + k2) / (n1 + n2)
    return (k1 / n1 - k2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def test_a_change_is_significant_only_beyond_the_threshold(tmp_path):
    # 40 of 50 satisfied against 30 of 50 a week earlier: pooled p 0.7, z = 0.2 / 0.0917 = 2.18
    above = _csat_board(tmp_path / "above", (40, 50), (30, 50))
    assert above["change_7d"] == pytest.approx(0.2)
    assert above["change_z"] == pytest.approx(_pooled_z(40, 50, 30, 50))
    assert above["change_z"] > Z95 and above["change_significant"] is True
    assert (above["value_low"], above["value_high"]) == pytest.approx(stats.wilson(40, 50, Z95))
    # 37 of 50 against 30 of 50: z = 0.14 / 0.0940 = 1.49, below 1.96: not significant
    below = _csat_board(tmp_path / "below", (37, 50), (30, 50))
    assert below["change_z"] == pytest.approx(_pooled_z(37, 50, 30, 50))
    assert below["change_z"] < Z95 and below["change_significant"] is False
    # the level is a setting: at alpha 0.2 (z 1.28) the same change is significant
    loose = _csat_board(tmp_path / "loose", (37, 50), (30, 50), alpha=0.2)
    assert loose["change_significant"] is True


def test_a_low_sample_change_is_never_significant(tmp_path):
    # 29 of 29 against 0 of 29: a huge z, but fewer than min_n (30) answers on each side
    small = _csat_board(tmp_path / "small", (29, 29), (0, 29))
    assert small["change_z"] > 5 and small["change_significant"] is False
    # with min_n 29 the same change counts
    assert _csat_board(tmp_path / "ok", (29, 29), (0, 29), min_n=29)["change_significant"]


def test_nps_change_is_tested_with_its_own_standard_error(tmp_path):
    settings = make_settings(tmp_path, {"metrics": {"kpi_window_days": 7}})
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "buyer", "2024-02-01")
        # this week 30 promoters, 10 passives, 10 detractors (NPS 40); before 15/15/20 (NPS -10)
        for when, groups in (("2024-03-08", (30, 10, 10)), ("2024-03-01", (15, 15, 20))):
            scores = [10] * groups[0] + [7] * groups[1] + [2] * groups[2]
            for i, score in enumerate(scores):
                add_survey(conn, f"n{when}{i}", when, nps=score)
    build_snapshots(settings, "2024-02-25", "2024-03-10")
    build_kpis(settings, "2024-03-03", "2024-03-10")
    (row,) = rows(
        settings, "select * from kpi_daily where as_of = ? and kpi = 'nps'", [day("2024-03-10")]
    )

    def se(p: float, d: float, n: int) -> float:
        return 100 * math.sqrt((p + d - (p - d) ** 2) / n)

    se1, se2 = se(0.6, 0.2, 50), se(0.3, 0.4, 50)
    assert row["value"] == pytest.approx(40) and row["change_7d"] == pytest.approx(50)
    assert row["std_error"] == pytest.approx(se1)
    assert (row["value_low"], row["value_high"]) == pytest.approx((40 - Z95 * se1, 40 + Z95 * se1))
    assert row["change_z"] == pytest.approx(50 / math.hypot(se1, se2))
    assert row["change_significant"] is True


def test_the_python_twin_flags_like_the_sql():
    z = stats.two_proportion_z(0.8, 50, 0.6, 50)
    assert z == pytest.approx(_pooled_z(40, 50, 30, 50))
    assert stats.significant(z, 50, 50, alpha=0.05, min_n=30)
    assert not stats.significant(z, 29, 50, alpha=0.05, min_n=30)
    assert not stats.significant(stats.two_proportion_z(0.74, 50, 0.6, 50), 50, 50, 0.05, 30)
    assert stats.two_proportion_z(1.0, 10, 1.0, 10) is None  # no variation: nothing to test
