"""CSAT as a first-class KPI on a source with CSAT and no NPS: Olist's review stars
(examples/olist.yaml). The KPI board's csat row is the share of 4-5 stars among the reviews of the
trailing window, with its Wilson interval; its NPS row says "no data", not 0."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from scipy.stats import binomtest

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.marts.kpis import compute_kpis
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import STAGING, build_staging
from tests.conftest import real_data
from tests.test_ingest_real_data import _settings_for

pytestmark = pytest.mark.realdata

DAY = dt.date(2018, 6, 30)


def test_olist_board_has_csat_with_its_interval_and_no_nps(tmp_path):
    settings = _settings_for("olist.yaml", real_data("olist"), tmp_path)
    with connect(settings) as conn:
        for kind in ("orders", "surveys"):
            ingest_source(conn, settings, kind)
        for name in STAGING:
            build_staging(conn, settings, name)
        window_start = DAY - dt.timedelta(days=settings.metrics.kpi_window_days)
        for day in (window_start, DAY):  # the tier KPIs read the snapshot of the window start
            compute_snapshot(conn, settings, day, day)
        compute_kpis(conn, settings, DAY, DAY)
        board = {
            r[0]: r[1:]
            for r in conn.execute(
                "select kpi, value, n, value_low, value_high, flag from kpi_daily where as_of = ?",
                [DAY],
            ).fetchall()
        }
        answers = pl.DataFrame(
            conn.execute("select responded_at, csat, nps from surveys").fetchall(),
            schema=["responded_at", "csat", "nps"],
            orient="row",
        )
    # independently: the reviews of (D - 30, D] with 1-5 stars, the share of 4-5
    window = settings.metrics.kpi_window_days
    in_window = answers.filter(
        (pl.col("responded_at").dt.date() > DAY - dt.timedelta(days=window))
        & (pl.col("responded_at").dt.date() <= DAY)
        & pl.col("csat").is_between(1, 5)
    )
    n = in_window.height
    satisfied = in_window.filter(pl.col("csat") >= 4).height
    value, got_n, low, high, flag = board["csat"]
    assert n > 100 and answers["nps"].null_count() == answers.height  # CSAT only
    assert (value, got_n) == (pytest.approx(satisfied / n), n)
    ci = binomtest(satisfied, n).proportion_ci(method="wilson")
    assert (low, high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert flag in ("ok", "off_target", "alert")
    nps_value, nps_n, *_, nps_flag = board["nps"]
    assert (nps_value, nps_n, nps_flag) == (None, 0, "no_data")
