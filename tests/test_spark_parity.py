"""The sql/ models on Spark give DuckDB's rows (issue 14). The shipped sample goes through the DuckDB
pipeline (ingest, staging, customer_snapshot for a range of days, the period marts); the tables the
marts read are exported to Parquet; the same model files then run on a local Spark through
loyalty.spark.engine, and every table is compared with DuckDB's, key by key: exact for integers,
strings, dates, booleans and decimals, relative 1e-9 for doubles, row counts and column order
equal (tests/spark_compare.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Any

import pytest

from loyalty import engine
from loyalty.engine import connect
from loyalty.marts.insight import insight_params, say_do_params
from loyalty.marts.periods import EVERY_PERIOD, MOVED_COUNTS, orders_from
from loyalty.marts.snapshot import OPEN_END, STEP_TABLES, snapshot_steps
from loyalty.marts.snapshot_fold import STATE_KEY, STATE_STEPS
from loyalty.metric_params import model_params, range_params
from loyalty.settings import Settings
from loyalty.spark import catalog
from loyalty.spark import engine as spark_engine
from tests.spark_compare import assert_same_rows
from tests.spark_fixture import LAST, sample

pytestmark = pytest.mark.spark
__all__ = ["sample"]  # the fixture this module uses (tests/spark_fixture.py)

# the staging views: one row per order, ticket, answer
STAGING = {
    "stg_orders": ("order_id",),
    "stg_tickets": ("ticket_id",),
    "stg_surveys": ("response_id",),
}
SNAPSHOT = "marts/customer_snapshot"


def _params(settings: Settings) -> dict[str, Any]:
    return {**model_params(settings), "since": EVERY_PERIOD}


def _spark_rows(spark, table: str) -> list[dict[str, Any]]:
    return [r.asDict() for r in spark.table(table).collect()]


def test_staging_views_equal_duckdb(sample, spark):
    """The staging models (DuckDB views over the ingest tables) run on Spark over the same ingest
    tables: the counted-order rule, SLA deadlines (to_microseconds), response hours."""
    for view, key in STAGING.items():
        reference = sample.duck_rows(f"select * from {view}")
        assert len(reference) > 100, view
        got = [r.asDict() for r in spark_engine.run_model(spark, f"staging/{view}").collect()]
        try:
            assert_same_rows(reference, got, key)
        except AssertionError as e:
            raise AssertionError(f"{view}: {e}") from None


# in build order: report_periods first, the others read the one Spark built
PERIOD_MARTS = {
    "report_periods": ("period_type", "period_start"),
    "retention_period": ("period_type", "period_start", "tier"),
    "repurchase_period": ("period_type", "period_start", "tier"),
    "nps_period": ("period_type", "period_start", "tier"),
    "service_period": ("period_type", "period_start", "priority"),
    "cohort_retention": ("row_type", "cohort_month", "k"),
}


# cohort_retention reads its stored cells before $since (none in a build from scratch)
NOTHING_STORED = {
    "cohort_retention": "row_type string, cohort_month date, k int, activity_month date, "
    "size bigint, active_count bigint, share double, is_complete boolean",
}


def test_period_marts_equal_duckdb(sample, spark):
    with connect(sample.settings, read_only=True) as conn:
        params = orders_from(conn, _params(sample.settings))  # the first period's start
    for table, key in PERIOD_MARTS.items():
        if table in NOTHING_STORED:
            catalog.view(spark.createDataFrame([], NOTHING_STORED[table]), table)
        if table in MOVED_COUNTS:  # a build from scratch: no period moved
            none = spark_engine.run_model(spark, f"marts/{table}/{table}_moved_none", params)
            catalog.view(none, f"{table}_moved")
        spark_engine.create_table(spark, f"marts/{table}", params, sample.warehouse)
        reference = sample.duck_rows(f"select * from {table}")
        assert len(reference) > 10, table
        got = _spark_rows(spark, table)
        try:
            assert_same_rows(reference, got, key)
        except AssertionError as e:
            raise AssertionError(f"{table}: {e}") from None
        assert (sample.warehouse / table).is_dir()


def test_service_impact_equals_duckdb(sample, spark):
    """Reads report_periods (built by Spark in the test above, or the copy registered here),
    customer_state by its validity intervals, and averages decimals (decimal_average)."""
    params = {**_params(sample.settings), **insight_params(sample.settings)}
    if not catalog.exists(spark, "report_periods"):
        spark_engine.create_table(spark, "marts/report_periods", params, sample.warehouse)
    with connect(sample.settings, read_only=True) as conn:
        params = orders_from(conn, params)  # the first period's start: every period's orders
        reference = engine.query_model(conn, "marts/service_impact", params)
    assert len(reference) > 10
    got = [
        r.asDict() for r in spark_engine.run_model(spark, "marts/service_impact", params).collect()
    ]
    assert_same_rows(reference, got, ("period_type", "period_start", "priority"))


def test_say_do_by_the_churn_flags_equals_duckdb(sample, spark):
    """say_do (an ASOF join, customer_state by its intervals) on its `flags` path (no
    customer_value: the status from the snapshot's churn flags), as an incremental build reads
    it: the periods ending on or after a day 40 days before the last, their reads of the state and
    of the orders bounded by the first of them."""
    base = {**_params(sample.settings), **insight_params(sample.settings)}
    if not catalog.exists(spark, "report_periods"):
        spark_engine.create_table(spark, "marts/report_periods", base, sample.warehouse)
    statuses = "marts/say_do/flags/value_statuses"
    with connect(sample.settings) as conn, engine.intermediate(conn) as steps:
        params = say_do_params(conn, base, LAST - dt.timedelta(days=40))
        steps.create(statuses)
        reference = engine.query_model(conn, "marts/say_do", params)
    assert len(reference) > 100
    with spark_engine.intermediate(spark) as steps:
        steps.create(statuses)
        got = [r.asDict() for r in spark_engine.run_model(spark, "marts/say_do", params).collect()]
    assert_same_rows(reference, got, ("period_type", "period_start", "customer_id"))


@pytest.mark.parametrize(
    ("path", "days", "every_customer"),
    [("day", 1, True), ("carry", 1, True), ("carry", 1, False), ("range", 4, True)],
    ids=["day", "carry", "carry the customers that move", "range"],
)
def test_customer_snapshot_paths_equal_duckdb(sample, spark, path, days, every_customer):
    """The steps of customer_snapshot up to its scored rows (snapshot_rows), by each path that
    builds snapshot_segments, for the last `days` days; the rows stored as a daily table too. A
    carried night computes every customer, or only those whose stored row can change."""
    first = LAST - dt.timedelta(days=days - 1)
    params = {
        **model_params(sample.settings),
        **range_params(first, LAST),
        "reach_date": dt.date(9999, 12, 31),
        "every_customer": every_customer,
    }
    steps_of = [f"{SNAPSHOT}/{s}" for s in snapshot_steps(path)]
    with connect(sample.settings) as conn, engine.intermediate(conn) as steps:
        for step in steps_of:
            steps.create(step, params)
        reference = engine.query_sql(conn, "select * from snapshot_rows")
    # the population of the days; of a night, the customers that move
    assert len(reference) > (2000 * days if every_customer else 10), len(reference)
    table = f"snapshot_{path}"
    with spark_engine.intermediate(spark) as steps:
        for step in steps_of:
            steps.create(step, params)
        rows = steps.rows("snapshot_rows")
        assert_same_rows(reference, [r.asDict() for r in rows.collect()], ("as_of", "customer_id"))
        # stored as a daily table: one partition per day, read back the same
        spark_engine.write_days(spark, rows, table, first, LAST, sample.warehouse)
    assert (sample.warehouse / table / f"as_of={LAST}").is_dir()
    assert_same_rows(reference, _spark_rows(spark, table), ("as_of", "customer_id"))


@pytest.mark.parametrize("every_customer", [False, True], ids=["the night's", "every customer"])
def test_a_nights_one_step_fold_equals_duckdb(sample, spark, every_customer):
    """state/night_changes.sql (a carried night's fold in one step) over the carry path's rows of
    the last day, with another inactive_days (so that stored rows change): the same changes to
    delete and insert on both engines."""
    base = model_params(sample.settings)
    params = {
        **base,
        "inactive_days": base["inactive_days"] - 20,
        **range_params(LAST, LAST),
        "reach_date": OPEN_END,
        "every_customer": every_customer,
        "only_computed": True,
        "computed_at": dt.datetime(2026, 11, 16, 3, 0, 0, 125000),
    }
    steps_of = [*snapshot_steps("carry"), "state/day_intervals", "state/night_changes"]
    names = {"state/day_intervals": "snapshot_intervals", "state/night_changes": "state_changes"}
    # (the sample's state has the last day stored: a current row may start on it, then the row
    # closed and the row opened share their valid_from)
    key = ("op", "customer_id", "valid_from", "valid_to")
    with connect(sample.settings) as conn, engine.intermediate(conn) as steps:
        for step in steps_of:
            steps.create(f"{SNAPSHOT}/{step}", params, name=names.get(step))
        reference = engine.query_sql(
            conn, "select * exclude (attrs), hash(attrs) as attrs_hash from state_changes"
        )
        attrs = engine.query_sql(
            conn, "select op, customer_id, valid_from, valid_to, attrs from state_changes"
        )
    assert {r["op"] for r in reference} == {"delete", "insert"}
    with spark_engine.intermediate(spark) as steps:
        for step in steps_of:
            steps.create(f"{SNAPSHOT}/{step}", params, name=names.get(step))
        got = [r.asDict(recursive=True) for r in steps.rows("state_changes").collect()]
    # the columns as they are; the inserted rows' stored columns compared field by field
    assert_same_rows(
        [{k: v for k, v in r.items() if k != "attrs_hash"} for r in reference],
        [{k: v for k, v in r.items() if k != "attrs"} for r in got],
        key,
    )
    want = {tuple(r[k] for k in key): r["attrs"] for r in attrs}
    assert len(want) == len(got)
    for r in got:
        assert (r["attrs"] or None) == (want[tuple(r[k] for k in key)] or None)


class _Rollback(Exception):
    """Raised to roll the DuckDB side's writes back (the fixture's database stays as built)."""


def test_customer_state_fold_equals_duckdb(sample, spark):
    """The last 3 days recomputed by the range path with another inactive_days (so runs change),
    then folded into customer_state in two buckets of hash(customer_id) (state/ steps, then
    apply_changes, which deletes and inserts by key): the same customer_state on both engines,
    and the same numbers of rows deleted and inserted in all."""
    first = LAST - dt.timedelta(days=2)
    base = model_params(sample.settings)
    params = {
        **base,
        "inactive_days": base["inactive_days"] - 20,
        **range_params(first, LAST),
        "reach_date": OPEN_END,
        "computed_at": dt.datetime(2026, 11, 16, 3, 0, 0, 125000),
        "only_computed": False,
    }
    # the range's steps as compute_snapshot runs them: scored by runs of equal days (pieces)
    steps_of = [*snapshot_steps("range", pieces=True), "state/snapshot_intervals"]
    buckets = 2

    def fold_params(bucket: int) -> dict[str, Any]:
        return {**params, "bucket": bucket, "buckets": buckets}

    counts: list[tuple[int, int]] = []
    with connect(sample.settings) as conn:
        try:
            with engine.transaction(conn), engine.intermediate(conn) as steps:
                for step in steps_of:
                    steps.create(f"{SNAPSHOT}/{step}", params, name=STEP_TABLES.get(step))
                for bucket in range(buckets):
                    for step in STATE_STEPS:
                        steps.create(f"{SNAPSHOT}/{step}", fold_params(bucket))
                    counts.append(
                        engine.apply_changes(conn, "customer_state", "state_changes", STATE_KEY)
                    )
                reference = engine.query_sql(conn, "select * from customer_state")
                raise _Rollback
        except _Rollback:
            pass
    assert sum(d for d, _ in counts) > 0 and sum(i for _, i in counts) > 0
    # the Spark side folds into a copy of the exported state, in its warehouse
    shutil.copytree(sample.inputs / "customer_state", sample.warehouse / "customer_state")
    spark_engine.register(spark, "customer_state", sample.warehouse)
    got_counts = []
    with spark_engine.intermediate(spark) as steps:
        for step in steps_of:
            steps.create(f"{SNAPSHOT}/{step}", params, name=STEP_TABLES.get(step))
        for bucket in range(buckets):
            for step in STATE_STEPS:
                steps.create(f"{SNAPSHOT}/{step}", fold_params(bucket))
            got_counts.append(
                spark_engine.apply_changes(
                    spark, "customer_state", "state_changes", STATE_KEY, sample.warehouse
                )
            )
    # the buckets differ (each engine its own hash function), the totals do not
    assert [sum(c) for c in zip(*got_counts, strict=True)] == [
        sum(c) for c in zip(*counts, strict=True)
    ]
    assert_same_rows(reference, _spark_rows(spark, "customer_state"), STATE_KEY)
    # the registered input view is the warehouse's copy now: later tests read the fixture's own
    spark_engine.register(spark, "customer_state", sample.inputs)


def test_replace_days_replaces_exactly_the_range_like_duckdb(sample, spark):
    """snapshot_params, a daily table: days 1..10 written, then 5..12 replaced (with other
    values), on both engines; the same rows result."""
    model, table = "marts/snapshot_params", "days_replaced"
    base = {"params_json": "{}", "run_id": "first", "loads_seen": 1}
    first = {
        **base,
        **range_params(dt.date(2026, 1, 1), dt.date(2026, 1, 10)),
        "computed_at": dt.datetime(2026, 1, 11, 6, 30),
    }
    second = {
        **base,
        **range_params(dt.date(2026, 1, 5), dt.date(2026, 1, 12)),
        "computed_at": dt.datetime(2026, 1, 13, 7, 45, 12, 250000),
        "run_id": "second",
        "loads_seen": 2,
    }
    with connect(sample.settings) as conn:
        engine.create_table(conn, model, first, name=table)
        engine.replace_days(conn, model, second, into=table)
        reference = engine.query_sql(conn, f"select * from {table}")
        conn.execute(f"drop table {table}")
    spark_engine.replace_days(spark, model, first, sample.warehouse, into=table)
    spark_engine.replace_days(spark, model, second, sample.warehouse, into=table)
    assert len(reference) == 12
    assert_same_rows(reference, _spark_rows(spark, table), ("as_of",))
    # the range of a re-run that returns fewer days: the days it no longer returns are removed
    third = {**second, **range_params(dt.date(2026, 1, 11), dt.date(2026, 1, 12))}
    shorter = {**third, "end_date": dt.date(2026, 1, 11)}
    frame = spark_engine.run_model(spark, model, shorter)
    spark_engine.write_days(
        spark, frame, table, third["start_date"], third["end_date"], sample.warehouse
    )
    days = sorted(r["as_of"] for r in _spark_rows(spark, table))
    assert days[-1] == dt.date(2026, 1, 11) and len(days) == 11
