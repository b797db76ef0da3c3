"""More of the Spark translation pinned against DuckDB (tests/test_spark_rewrites.py holds the
rewrites' own tests and the fixtures): a non-recursive unnest of structs, a LIMIT bound to None,
columns chosen by a bound list and their UNPIVOT, the ISO day of the week."""

from __future__ import annotations

import pytest

from loyalty.spark import catalog
from loyalty.spark import engine as spark_engine
from tests.spark_compare import same_sequence
from tests.test_spark_rewrites import _raw, assert_same, duck

pytestmark = pytest.mark.spark
__all__ = ["duck"]  # the fixture this module uses


def test_unnest_of_structs_without_recursive_keeps_one_struct_column(duck, spark):
    # struct_list_unnest rewrites only `recursive := true`; without it DuckDB keeps each struct
    # whole (one column, its fields read with a dot), as the EXPLODE sqlglot writes does
    sql = (
        "with t as (select * from (values (1, 2.5), (2, 3.5)) as v (k, x)), "
        "f as (select k, unnest([{'metric': 'a', 'value': x}, {'metric': 'b', 'value': x * 2}]) "
        "as figure from t) "
        "select k, figure.metric as metric, figure.value as value from f order by k, metric"
    )
    assert len(assert_same(duck, spark, sql)) == 4


def test_a_limit_bound_to_none_returns_every_row(duck, spark):
    sql = "select unnest(range(0, 5)) as i order by i desc limit $n"
    assert len(assert_same(duck, spark, sql, {"n": None})) == 5
    assert assert_same(duck, spark, sql, {"n": 2}) == [(4,), (3,)]


def test_columns_chosen_by_a_bound_list_and_their_unpivot(duck, spark):
    # dynamic_columns (run by to_spark_tree with the schema and the parameters, before the
    # qualification): DuckDB's COLUMNS(lambda ...) and UNPIVOT ... ON COLUMNS(*), which Spark lacks
    duck.execute("create or replace table picked (a int, b varchar, cc double)")
    duck.execute("insert into picked values (1, null, 2.0), (null, 'x', 3), (4, 'y', null)")
    sql = (
        "with counted as (select count(*) as rows, "
        "count(columns(lambda c: list_contains($names, c))) from picked) "
        "select column_name, rows, filled from (unpivot counted on columns(* exclude (rows)) "
        "into name column_name value filled) order by list_position($names, column_name)"
    )
    params = {"names": ["cc", "b"]}
    reference = duck.execute(sql, params).fetchall()
    picked = spark.createDataFrame(
        [(1, None, 2.0), (None, "x", 3.0), (4, "y", None)], "a int, b string, cc double"
    )
    catalog.view(picked, "picked")
    got = [tuple(r) for r in spark_engine.run_sql(spark, sql, params).collect()]
    assert same_sequence(reference, got) is None and reference == [("cc", 3, 2), ("b", 3, 2)]
    # sqlglot alone keeps DuckDB's forms
    assert "UNPIVOT counted ON" in _raw(sql)


def test_iso_day_of_week_keeps_sunday_seven(duck, spark):
    # sqlglot alone writes (DAYOFWEEK(d) % 7) + 1: Sunday would be 2 on Spark, silently
    sql = (
        "select d, isodow(d) as iso, isodow(d) <> 7 as not_sunday "
        "from (values "
        + ", ".join(f"(date '2026-11-{day:02d}')" for day in range(9, 16))
        + ") as v (d) order by d"
    )
    assert "% 7" in _raw("select isodow(d) from t")
    rows = assert_same(duck, spark, sql)
    assert [r[1] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
