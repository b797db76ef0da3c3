"""How the reports show uncertainty: a share with its interval and n, the KPI card's interval and
"significant" mark, and the email's biggest changes leading with significant changes and never
with a low-sample one. The KPI rows are what sql/reports/kpi_board.sql returns; the intervals
come from the Python twin of the SQL macros (tested against Newcombe 1998 in
test_metrics_uncertainty.py)."""

from __future__ import annotations

import datetime as dt

from scipy.stats import binomtest

from loyalty.reports import changes, stats
from loyalty.reports import intervals as iv
from loyalty.reports import viewmodel as vm
from loyalty.reports.i18n import Translator
from loyalty.reports.model import WeekData
from loyalty.weeks import Week

EN, ZH = Translator("en"), Translator("zh-CN")
Z95 = stats.z_of(0.95)


def _kpi(name: str, k: int, n: int, k_before: int, n_before: int, **extra) -> dict:
    """A rate KPI row as the board stores it: value k / n, its Wilson interval, the change vs the
    value 7 days earlier and the pooled z-test's verdict at alpha 0.05 and min_n 30."""
    value, before = k / n, k_before / n_before
    low, high = stats.wilson(k, n, Z95)
    z = stats.two_proportion_z(value, n, before, n_before)
    return {
        "kpi": name,
        "value": value,
        "target": None,
        "direction": "higher",
        "change_7d": value - before,
        "flag": "no_target",
        "n": n,
        "owner": "",
        "value_low": low,
        "value_high": high,
        "change_z": z,
        "change_significant": stats.significant(z, n, n_before, alpha=0.05, min_n=30),
        "low_sample": n < 30,
        "is_rate": True,
        "is_money": False,
        **extra,
    }


def _week(kpis: list[dict]) -> WeekData:
    return WeekData(
        week=Week.from_partition_key("2026-11-09"),
        kpis=kpis,
        kpi_trend=[],
        tier_distribution=[],
        cohort=None,
        sla=[],
        quality={},
        thresholds=[],
    )


def test_a_share_prints_with_its_interval_and_n():
    low, high = stats.wilson(81, 263, Z95)  # 0.2553 .. 0.3662 (Newcombe 1998)
    assert iv.with_interval(EN, 81 / 263, low, high, 263) == "30.8% (25.5–36.6%, n = 263)"
    assert iv.with_interval(ZH, 81 / 263, low, high, 263) == "30.8% (25.5–36.6%, 样本数 = 263)"
    assert iv.with_interval(EN, None, None, None, 0) == "–"
    assert iv.with_interval(EN, 12.0, -3.25, 27.1, 40, points=True) == "12.0 (-3.2 – 27.1, n = 40)"


def test_kpi_cards_show_the_interval_and_whether_the_change_is_significant():
    data = _week([_kpi("csat", 40, 50, 30, 50), _kpi("repurchase_rate", 37, 50, 30, 50)])
    csat, repurchase = vm.kpi_cards(data, EN)
    ci = binomtest(40, 50).proportion_ci(method="wilson")  # independent of the twin
    assert csat["interval"] == f"95 % interval {100 * ci.low:.1f}–{100 * ci.high:.1f}%"
    assert csat["significance"] == "significant"  # z = 2.18
    assert repurchase["significance"] == "not_significant"  # z = 1.49


def test_biggest_changes_lead_with_significant_ones_and_never_with_a_low_sample():
    kpis = [
        # the largest change, but on 10 customers a side: never listed
        _kpi("tier_a_kept_rate", 10, 10, 0, 10),
        # +14 points, not significant (z 1.49)
        _kpi("repurchase_rate", 37, 50, 30, 50),
        # +10 points on 400 a side, significant (z 3.0)
        _kpi("tier_d_activation", 200, 400, 160, 400),
        # +20 points, significant (z 2.18)
        _kpi("csat", 40, 50, 30, 50),
    ]
    assert [k["change_significant"] for k in kpis] == [False, False, True, True]
    listed = changes.top_changes(_week(kpis), EN)
    names = [c["name"] for c in listed]
    assert names == ["CSAT (satisfied share)", "Tier-D activation", "Repurchase rate"]
    assert [c["significance"] for c in listed] == ["significant", "significant", "not significant"]
    # the same in Chinese
    zh = changes.top_changes(_week(kpis), ZH)
    assert [c["significance"] for c in zh] == ["显著", "显著", "不显著"]


def test_no_change_is_listed_when_every_one_is_low_sample():
    kpis = [_kpi("csat", 20, 20, 0, 20), _kpi("repurchase_rate", 5, 10, 1, 10)]
    assert changes.top_changes(_week(kpis), EN) == []
    assert dt.date(2026, 11, 15) == _week(kpis).week.end


def _cards(k: int, n: int, k_before: int, n_before: int, **u) -> dict:
    """A segment's cards as reports/queries.py builds them: this week's and last week's kept rate."""
    return {
        "week_kept_rate": k / n,
        "week_kept_n": n,
        "last_week": {"kept_rate": k_before / n_before, "kept_n": n_before},
        "uncertainty": {"alpha": 0.05, "min_n": 30, **u},
    }


def test_the_cards_week_over_week_change_is_significant_only_beyond_the_threshold():
    # 40 of 50 kept against 30 of 50 a week earlier: z = 2.18 > 1.96
    assert iv.week_change(EN, _cards(40, 50, 30, 50), "kept") == (
        "+20.0 pp vs last week (significant)"
    )
    # 37 of 50 against 30 of 50: z = 1.49, not; at alpha 0.2 (z 1.28) it is
    assert iv.week_change(EN, _cards(37, 50, 30, 50), "kept") == (
        "+14.0 pp vs last week (not significant)"
    )
    assert "(significant)" in iv.week_change(EN, _cards(37, 50, 30, 50, alpha=0.2), "kept")
    # 29 of 29 against 0 of 29: fewer than min_n a side, never significant
    assert "(not significant)" in iv.week_change(EN, _cards(29, 29, 0, 29), "kept")
    assert iv.week_change(ZH, _cards(40, 50, 30, 50), "kept") == "较上周 +20.0 个百分点（显著）"
    # no value last week: no change line
    assert iv.week_change(EN, {**_cards(40, 50, 30, 50), "last_week": {}}, "kept") == ""


def test_the_nps_cards_change_uses_the_standard_errors():
    se1, se2 = stats.nps_std_error(0.6, 0.2, 50), stats.nps_std_error(0.3, 0.4, 50)
    cards = {
        "week_nps": 40.0,
        "week_nps_n": 50,
        "week_nps_se": se1,
        "last_week": {"nps": -10.0, "nps_n": 50, "nps_se": se2},
        "uncertainty": {"alpha": 0.05, "min_n": 30},
    }
    # z = 50 / sqrt(se1^2 + se2^2) = 3.0 with se1 = 11.3, se2 = 12.1 (by hand)
    assert 50 / (se1**2 + se2**2) ** 0.5 > Z95
    assert iv.week_change(EN, cards, "nps") == "+50.0 vs last week (significant)"
