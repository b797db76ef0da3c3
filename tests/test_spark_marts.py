"""The marts after the period marts on Spark give DuckDB's rows (issue 14): customer_value and its
model's tables, revenue_at_risk, action_list, kpi_daily (its two paths, in two runs), say_do by
customer_value's statuses, the restatement log. DuckDB builds them on the shipped sample
(tests/spark_fixture.py); Spark builds each from the tables Spark built before it (customer_value
-> revenue_at_risk -> kpi_daily, customer_value -> action_list, say_do), and every table is
compared key by key (tests/spark_compare.py).

customer_value's model is Python on both engines (loyalty.model): on Spark the fits read the
aggregates Spark groups and the scores are computed by the executors (loyalty.spark.value); the
fitted parameters are the same numbers as DuckDB's, bit for bit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from loyalty import engine
from loyalty.engine import connect
from loyalty.marts import value_model as vm
from loyalty.marts.insight import insight_params, say_do_params
from loyalty.marts.kpis import STATES
from loyalty.marts.playbook import playbook_params
from loyalty.marts.value import DAY_TABLES
from loyalty.metric_params import model_params, range_params
from loyalty.settings import Settings
from loyalty.spark import catalog
from loyalty.spark import engine as spark_engine
from loyalty.spark import value as spark_model
from loyalty.vocab import ALL, TIERS
from tests.spark_compare import assert_same_rows
from tests.spark_fixture import (
    ACTION_DAYS,
    FIRST,
    KPI_RUNS,
    LAST,
    VALUE_DAYS,
    export,
    marts_sample,
    sample,
)

pytestmark = pytest.mark.spark
__all__ = ["marts_sample", "sample"]  # the fixtures this module uses

VALUE = "marts/customer_value"
KEYS = {
    "customer_value": ("as_of", "customer_id"),
    "model_backtest": ("as_of", "decile"),
    "model_fit": ("as_of", "purpose", "model", "parameter"),
    "model_quality": ("as_of",),
}
# model_fit's fit_seconds is how long the fit took: a timing, not a result
TIMINGS = {"model_fit": ("fit_seconds",)}


def _value_params(settings: Settings, day: dt.date, model_used: bool) -> dict[str, Any]:
    """loyalty.marts.value.compute_customer_value's parameters for `day`."""
    cfg = settings.model
    return {
        "as_of": day,
        "calibration_end": day - dt.timedelta(days=cfg.horizon_days),
        "start_date": day,
        "end_date": day,
        "horizon_days": cfg.horizon_days,
        "lost_after_days": cfg.lost_after_days,
        "band_active": cfg.status_bands.active,
        "band_at_risk": cfg.status_bands.at_risk,
        "band_lapsed": cfg.status_bands.lapsed,
        "model_used": model_used,
    }


def _rows(frame) -> list[dict[str, Any]]:
    return [r.asDict() for r in frame.collect()]


def _without(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in columns} for r in rows]


def _same(table: str, reference, got, key) -> None:
    try:
        assert_same_rows(reference, got, key)
    except AssertionError as e:
        raise AssertionError(f"{table}: {e}") from None


class SparkValue:
    """What the Spark side of customer_value made: its fits per day and purpose."""

    def __init__(self) -> None:
        self.fits: dict[tuple[dt.date, str], vm.Fits] = {}
        self.summaries: dict[dt.date, list[dict[str, Any]]] = {}


@pytest.fixture(scope="module")
def spark_value(marts_sample, spark) -> SparkValue:
    """customer_value and its model's tables on Spark for the two days DuckDB computed: the last
    day fitted by Spark (loyalty.spark.value.fit), the week before scored with the parameters
    DuckDB stored in model_fit (the fitted parameters as the input)."""
    sample, made = marts_sample, SparkValue()
    for day in VALUE_DAYS:
        (quality,) = sample.duck_rows("select * from model_quality where as_of = $d", {"d": day})
        params = _value_params(sample.settings, day, quality["model_used"])
        stored = sample.duck_rows("select * from model_fit where as_of = $d", {"d": day})
        with spark_engine.intermediate(spark) as steps:
            steps.create(f"{VALUE}/value_customers", params)
            steps.create(f"{VALUE}/value_customer_day", params, "value_customer_days")
            steps.create(f"{VALUE}/value_summary", params)
            summary = steps.rows("value_summary")
            made.summaries[day] = _rows(summary)
            fit_rows: list[dict[str, Any]] = []
            for purpose in spark_model.SUMMARY_COLUMNS:
                if day == LAST:
                    fits = spark_model.fit(summary, purpose)
                else:
                    fits = spark_model.fits_from_rows(stored, purpose)
                made.fits[(day, purpose)] = fits
                fit_rows += vm.fit_rows(purpose, fits)
                table = "value_scores" if purpose == "score" else "value_backtest"
                frame = spark_model.scores(summary, fits, params["horizon_days"], purpose)
                catalog.view(frame, table)
            spark_model.joined_views(spark, params["model_used"])
            catalog.view(spark.createDataFrame(fit_rows, schema=FIT_ROWS), "model_fit_rows")
            # the backtest's quality is Python over per-customer arrays: DuckDB's row, as input
            row = {k: v for k, v in quality.items() if k in QUALITY_ROW}
            catalog.view(
                spark.createDataFrame([row], schema=QUALITY_ROW_SCHEMA), "model_quality_row"
            )
            for table in DAY_TABLES:
                spark_engine.replace_days(spark, f"{VALUE}/{table}", params, sample.warehouse)
    return made


FIT_ROWS = (
    "purpose string, model string, parameter string, value double, n_customers bigint, "
    "n_repeat bigint, log_likelihood double, converged boolean, fit_seconds double"
)
QUALITY_ROW = (
    "customers",
    "repeat_customers",
    "mae_orders",
    "bias_orders",
    "auc_model",
    "auc_baseline",
    "auc_p_alive",
    "model_beats_baseline",
    "model_used",
    "reason",
)
QUALITY_ROW_SCHEMA = (
    "customers bigint, repeat_customers bigint, mae_orders double, bias_orders double, "
    "auc_model double, auc_baseline double, auc_p_alive double, model_beats_baseline boolean, "
    "model_used boolean, reason string"
)


def test_value_summary_equals_duckdb(marts_sample, spark_value):
    """The BG/NBD summary per customer (one purchase per customer-day, net of returns, the mean
    repeat value rounded to the cent in integer cents) at D and at D - H."""
    for day in VALUE_DAYS:
        params = _value_params(marts_sample.settings, day, True)
        with connect(marts_sample.settings) as conn, engine.intermediate(conn) as steps:
            steps.create(f"{VALUE}/value_customers", params)
            steps.create(f"{VALUE}/value_customer_day", params, "value_customer_days")
            steps.create(f"{VALUE}/value_summary", params)
            reference = engine.query_sql(conn, "select * from value_summary")
        assert len(reference) > 2000
        _same(f"value_summary {day}", reference, spark_value.summaries[day], ("customer_id",))


def test_the_model_fitted_on_sparks_aggregates_has_duckdbs_parameters(marts_sample, spark_value):
    """BG/NBD and Gamma-Gamma fitted from the distinct rows Spark groups: the same parameters,
    to the last bit, and the same customer counts as DuckDB's pipeline stored in model_fit."""
    stored = marts_sample.duck_rows("select * from model_fit where as_of = $d", {"d": LAST})
    for purpose in spark_model.SUMMARY_COLUMNS:
        fits = spark_value.fits[(LAST, purpose)]
        for name, fit in ((vm.BG_NBD, fits.bg_nbd), (vm.GAMMA_GAMMA, fits.gamma_gamma)):
            rows = [r for r in stored if r["purpose"] == purpose and r["model"] == name]
            assert {r["parameter"]: r["value"] for r in rows} == {
                p: getattr(fit.params, p) for p in vm.PARAMETERS[name]
            }
            assert {(r["n_customers"], r["n_repeat"]) for r in rows} == {
                (fit.n_customers, fit.n_repeat)
            }


def test_customer_value_and_model_tables_equal_duckdb(marts_sample, spark, spark_value):
    for table in DAY_TABLES:
        reference = marts_sample.duck_rows(f"select * from {table}")
        assert reference, table
        skip = TIMINGS.get(table, ())
        got = _rows(spark.table(table))
        _same(table, _without(reference, skip), _without(got, skip), KEYS[table])
    statuses = {r["status"] for r in marts_sample.duck_rows("select status from customer_value")}
    assert len(statuses) >= 3  # the model's bands, not only the rules


@pytest.fixture(scope="module")
def spark_risk(marts_sample, spark, spark_value) -> None:
    """revenue_at_risk on Spark, from the customer_value Spark built."""
    params = {"start_date": FIRST, "end_date": LAST, "tiers": list(TIERS), "all_key": ALL}
    spark_engine.replace_days(spark, "marts/revenue_at_risk", params, marts_sample.warehouse)


def test_revenue_at_risk_equals_duckdb(marts_sample, spark, spark_risk):
    reference = marts_sample.duck_rows("select * from revenue_at_risk")
    assert len(reference) > 10
    _same("revenue_at_risk", reference, _rows(spark.table("revenue_at_risk")), KEY_RISK)


KEY_RISK = ("as_of", "dimension", "key")


def test_action_list_equals_duckdb(marts_sample, spark, spark_value):
    """The playbook's first matching rule per customer, on Sundays DuckDB wrote with and without
    customer_value's statuses."""
    days = list(ACTION_DAYS)
    params = {
        **playbook_params(marts_sample.settings.playbook.rules),
        "days": days,
        "start_date": days[0],
        "end_date": days[-1],
    }
    spark_engine.replace_days(spark, "marts/action_list", params, marts_sample.warehouse)
    reference = marts_sample.duck_rows(
        "select * from action_list where list_contains($days, as_of)", {"days": days}
    )
    assert len(reference) > 2000 * len(days)
    _same("action_list", reference, _rows(spark.table("action_list")), ("as_of", "customer_id"))


def test_kpi_daily_by_both_paths_equals_duckdb(marts_sample, spark, spark_risk):
    """Two runs as DuckDB made them: the first from the orders (ASOF joins), the second from the
    stored snapshots, whose change_7d reads days the first run stored. Each run reads the board
    stored before it; the revenue_at_risk KPI reads the revenue_at_risk Spark built."""
    board = "marts/kpi_daily"
    spark_engine.register(spark, "kpi_daily", marts_sample.kpi_inputs / "0")
    for i, (states, start, end) in enumerate(KPI_RUNS):
        assert marts_sample.kpi_paths[i] == states
        params = {**model_params(marts_sample.settings), **range_params(start, end)}
        with spark_engine.intermediate(spark) as steps:
            steps.create(f"{board}/kpi_days", params)
            for step in STATES[states]:
                steps.create(step, params)
            spark_engine.replace_days(spark, board, params, marts_sample.warehouse)
        reference = marts_sample.kpi_reference[i]
        _same(
            f"kpi_daily run {i + 1}", reference, _rows(spark.table("kpi_daily")), ("as_of", "kpi")
        )
    values = {r["kpi"] for r in marts_sample.kpi_reference[-1] if r["value"] is not None}
    assert "revenue_at_risk" in values and "nps" in values


def test_say_do_by_customer_values_statuses_equals_duckdb(marts_sample, spark, spark_value):
    base = {**model_params(marts_sample.settings), **insight_params(marts_sample.settings)}
    with connect(marts_sample.settings, read_only=True) as conn:  # every period, a full build
        params = say_do_params(conn, base, dt.date.min)
    if not catalog.exists(spark, "report_periods"):
        spark_engine.create_table(spark, "marts/report_periods", params, marts_sample.warehouse)
    with spark_engine.intermediate(spark) as steps:
        steps.create("marts/say_do/model/value_statuses")
        got = _rows(spark_engine.run_model(spark, "marts/say_do", params))
    reference = marts_sample.duck_rows("select * from say_do")
    assert len(reference) > 100
    _same("say_do", reference, got, ("period_type", "period_start", "customer_id"))


class _Rollback(Exception):
    """Raised to roll the DuckDB side's writes back (the fixture's database stays as built)."""


def test_say_do_incremental_rows_and_kept_keys_equal_duckdb(marts_sample, spark, spark_value):
    """An incremental build's bounds (loyalty.marts.insight._build_say_do) with a 14-day window,
    so that windows elapsed in the sample: the periods ending in the last week in full, before
    them the answers of three weeks. The rows recomputed and the stored keys kept (say_do_kept,
    reading the stored say_do) are DuckDB's."""
    window = dt.timedelta(days=14)
    base = {
        **model_params(marts_sample.settings),
        **insight_params(marts_sample.settings),
        "say_do_days": window.days,
    }
    since, answers = (
        LAST - dt.timedelta(days=6),
        (LAST - window - dt.timedelta(days=21), LAST - window),
    )
    with connect(marts_sample.settings) as conn:
        params = say_do_params(conn, base, since, answers)
        try:
            with engine.transaction(conn), engine.intermediate(conn) as steps:
                steps.create("marts/say_do/model/value_statuses")
                reference = engine.query_model(conn, "marts/say_do", params)
                kept = engine.query_model(conn, "marts/say_do/say_do_kept", params)
                raise _Rollback
        except _Rollback:
            pass
        export(conn, marts_sample.warehouse / "say_do_stored", ["say_do"])
        stored = engine.scalar(conn, "select count(*) from say_do")
    partial = [r for r in reference if r["period_end"] < since and r["window_elapsed"]]
    assert partial and len(reference) < stored and 0 < len(kept) < stored
    spark_engine.register(spark, "say_do", marts_sample.warehouse / "say_do_stored")
    key = ("period_type", "period_start", "customer_id")
    with spark_engine.intermediate(spark) as steps:
        steps.create("marts/say_do/model/value_statuses")
        got = _rows(spark_engine.run_model(spark, "marts/say_do", params))
    _same("say_do, incremental", reference, got, key)
    got_kept = _rows(spark_engine.run_model(spark, "marts/say_do/say_do_kept", params))
    _same("say_do_kept", kept, got_kept, key)


def test_restatement_figures_and_log_equal_duckdb(marts_sample, spark):
    """figures_now (the closed periods' watched figures), then the log against recorded figures
    that differ (some moved, some lost their value) and every ingest load counted as new: the
    same restatements and causes on both engines."""
    with connect(marts_sample.settings) as conn:
        engine.create_table(conn, "marts/restatements/figures_now", {}, temp=True)
        figures = engine.query_sql(conn, "select * from figures_now")
        try:
            with engine.transaction(conn):
                conn.execute(
                    "update period_figures set value = case when metric = 'tickets' then null "
                    "else value + 1 end where metric in ('nps', 'tickets', 'buyers')"
                )
                export(conn, marts_sample.warehouse / "restated_inputs", ["period_figures"])
                reference = engine.query_model(conn, "marts/restatements", RESTATEMENT_PARAMS)
                raise _Rollback
        except _Rollback:
            pass
    key = ("table_name", "period_type", "period_start", "key", "metric")
    got_figures = _rows(spark_engine.run_model(spark, "marts/restatements/figures_now"))
    _same("figures_now", figures, got_figures, key)
    spark_engine.register(spark, "period_figures", marts_sample.warehouse / "restated_inputs")
    with spark_engine.intermediate(spark) as steps:
        steps.create("marts/restatements/figures_now")
        got = _rows(spark_engine.run_model(spark, "marts/restatements", RESTATEMENT_PARAMS))
    assert len(reference) > 10 and {r["cause_kind"] for r in reference} == {"load"}
    _same("restatements", reference, got, key)


RESTATEMENT_PARAMS = {
    "tolerance": 1e-9,
    "loads_seen": 0,
    "setting_cause": None,
    "recomputed_cause": "recomputed",
    "restated_at": dt.datetime(2026, 11, 17, 6, 0, 0, 250000),
    "run_id": "second",
}
