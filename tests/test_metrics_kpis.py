"""kpi_daily: each KPI over the trailing window (D - kpi_window_days, D], against its target."""

from __future__ import annotations

import pytest

from loyalty.engine import connect
from tests.fixtures_metrics import (
    add_order,
    build_kpis,
    build_snapshots,
    create_tables,
    day,
    make_settings,
    rows,
)

D = "2024-03-10"


def _board(settings, as_of: str = D) -> dict[str, dict]:
    found = rows(settings, "select * from kpi_daily where as_of = ?", [day(as_of)])
    return {r["kpi"]: r for r in found}


def _settings(tmp_path, kpis: dict | None = None):
    # a 7-day window keeps the fixture small: window (03-03, 03-10], start snapshot 03-03
    overrides: dict = {"metrics": {"kpi_window_days": 7}}
    if kpis:
        overrides["kpis"] = kpis
    settings = make_settings(tmp_path, overrides)
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "kept", "2024-02-20", 10)
        add_order(conn, "kept", "2024-03-05", 10)
        add_order(conn, "lost", "2023-12-05", 10)
        add_order(conn, "new", "2024-03-06", 10)
        add_order(conn, "new", "2024-03-08", 10)
        add_order(conn, "back", "2023-10-01", 10)
        add_order(conn, "back", "2024-03-07", 10)
    build_snapshots(settings, "2024-03-03", D)
    build_kpis(settings, D)
    return settings


def test_board_values_flags_and_change_vs_a_week_earlier(tmp_path):
    board = _board(_settings(tmp_path))
    assert set(board) == {
        "churn_rate",
        "tier_a_kept_rate",
        "complaint_timeliness",
        "tier_d_activation",
        "nps",
        "csat",
        "repurchase_rate",
        "revenue_at_risk",
    }
    churn = board["churn_rate"]
    # active at 03-03 {kept, lost}; lost has lapsed by 03-10 -> 1 / 2
    assert (churn["value"], churn["n"]) == (pytest.approx(0.5), 2)
    assert (churn["target"], churn["alert"], churn["direction"]) == (0.05, 0.10, "lower")
    assert churn["flag"] == "alert"  # 0.5 > 0.10
    assert churn["owner"] == "CRM lead"
    assert (churn["window_start"], churn["window_end"]) == (day("2024-03-03"), day(D))
    # 7 days earlier (window (02-25, 03-03]): kept and lost were both still active -> 0
    assert churn["change_7d"] == pytest.approx(0.5 - 0.0)
    # buyers in (03-03, 03-10]: kept 1 order, new 2, back 1 -> 1 / 3; no target set
    rep = board["repurchase_rate"]
    assert (rep["value"], rep["n"], rep["flag"]) == (pytest.approx(1 / 3), 3, "no_target")
    # no surveys and no complaint tickets: no data, not zero
    assert board["nps"]["value"] is None and board["nps"]["flag"] == "no_data"
    assert board["complaint_timeliness"]["flag"] == "no_data"
    assert board["csat"]["value"] is None and board["csat"]["flag"] == "no_data"
    # no data has no interval either (not -100..100)
    assert (board["nps"]["value_low"], board["nps"]["value_high"]) == (None, None)
    # no churn model was run for the day: the value at risk is no data, not zero
    assert board["revenue_at_risk"]["value"] is None
    assert board["revenue_at_risk"]["flag"] == "no_data"


def test_tier_kpis_use_the_stored_snapshot_at_the_window_start(tmp_path):
    settings = _settings(tmp_path)
    start = {
        r["customer_id"]: r
        for r in rows(settings, "select * from customer_snapshot where as_of = '2024-03-03'")
    }
    board = _board(settings)
    tier_d = [c for c, r in start.items() if r["tier"] == "D"]
    bought = {"kept", "back"}  # counted orders in (03-03, 03-10] among the start population
    assert board["tier_d_activation"]["n"] == len(tier_d)
    expected = len(bought & set(tier_d)) / len(tier_d) if tier_d else None
    assert board["tier_d_activation"]["value"] == pytest.approx(expected)
    tier_a_active = [c for c, r in start.items() if r["tier"] == "A" and r["is_active"]]
    assert board["tier_a_kept_rate"]["n"] == len(tier_a_active)


@pytest.mark.parametrize(
    ("target", "alert", "flag"),
    [(0.6, 0.9, "ok"), (0.4, 0.9, "off_target"), (0.4, 0.45, "alert")],
)
def test_target_and_alert_settings_set_the_flag(tmp_path, target, alert, flag):
    kpis = {"churn_rate": {"target": target, "alert": alert, "direction": "lower"}}
    board = _board(_settings(tmp_path, kpis))
    assert board["churn_rate"]["flag"] == flag  # churn is 0.5


def test_change_7d_reuses_the_stored_board_of_a_week_earlier(tmp_path):
    settings = _settings(tmp_path)
    recomputed = _board(settings)  # 03-03 was not stored: recomputed for change_7d
    build_kpis(settings, "2024-03-03")  # now it is stored
    with connect(settings) as conn:
        conn.execute(
            "update kpi_daily set value = value + 0.25 where as_of = ?", [day("2024-03-03")]
        )
    build_kpis(settings, D)
    reused = _board(settings)
    churn_before = _board(settings, "2024-03-03")["churn_rate"]["value"]
    # the stored 03-03 board (deliberately shifted by 0.25 above) is what D is compared with
    assert churn_before == pytest.approx(0.25)
    assert reused["churn_rate"]["change_7d"] == pytest.approx(0.5 - 0.25)
    assert recomputed["churn_rate"]["change_7d"] == pytest.approx(0.5 - 0.0)
    # a range recomputes every day of itself: 03-03 .. D in one run gives the unshifted values
    build_kpis(settings, "2024-03-03", D)
    assert _board(settings)["churn_rate"]["change_7d"] == pytest.approx(0.5 - 0.0)
