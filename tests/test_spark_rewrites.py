"""Each rewrite of loyalty.spark.translate pinned: the same DuckDB SQL runs in DuckDB (the reference,
computed here) and, translated, on a local Spark, and the rows are equal. Where sqlglot alone gives
a silent difference, a test also pins that raw output, so a sqlglot that fixes it is noticed (the
rewrite may then go)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import duckdb
import pytest
import sqlglot

from loyalty.engine import execute_file
from loyalty.spark import engine as spark_engine
from loyalty.spark.translate import REWRITES, drop_trailing_cte_comma, to_spark
from tests.spark_compare import same_sequence

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    execute_file(conn, "macros.sql")
    yield conn
    conn.close()


def _duck_rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None):
    return conn.execute(sql, dict(params) if params else None).fetchall()


def _spark_rows(spark, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
    return [tuple(r) for r in spark_engine.run_sql(spark, sql, params).collect()]


def assert_same(duck, spark, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
    reference = _duck_rows(duck, sql, params)
    got = _spark_rows(spark, sql, params)
    difference = same_sequence(reference, got)
    assert difference is None, (
        f"{difference}\nspark sql: {spark_engine.spark_sql(spark, sql, params)[0]}"
    )
    return reference


def _raw(sql: str) -> str:
    """What sqlglot alone writes for Spark."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


# every rewrite and the test that pins it: a new rewrite without a test fails here
PINNED_BY = {
    "expand_macros": "test_macros_are_expanded_inline_with_duckdb_results",
    "paired_unnest": "test_paired_unnest_zips_instead_of_crossing",
    "struct_list_unnest": "test_lateral_unnest_of_a_list_of_structs",
    "range_table": "test_range_table_with_interval_step_and_integers",
    "iso_day_of_week": "test_iso_day_of_week_keeps_sunday_seven",
    "asof_join": "test_asof_join_takes_the_nearest_row_on_the_inequalitys_side",
    "columns_in_struct": "test_struct_of_the_other_columns",
    "hash_function": "test_hash_buckets_cover_every_row",
    "list_position": "test_list_position_is_one_based_or_null",
    "cast_of_unnest": "test_cast_of_an_unnest_casts_each_element",
    "to_months": "test_interval_arithmetic_on_dates",
    "to_microseconds": "test_interval_arithmetic_on_timestamps",
    "mixed_interval_case": "test_interval_arithmetic_on_dates",
    "rowid_not_in_stars": "test_rowid_is_a_key_of_a_step_and_not_in_its_star",
    "date_difference": "test_date_difference_is_a_number_of_days",
    "list_length": "test_length_of_a_list_is_its_size",
    "integer_cast_rounds": "test_integer_casts_round_like_duckdb",
    "integer_division_type": "test_integer_division_keeps_duckdbs_integer_type",
    "decimal_average": "test_average_of_decimals_is_a_double",
    "float_division": "test_division_by_zero_is_infinity_or_nan_as_in_duckdb",
    "redundant_aliases": "test_union_of_constants_after_qualification",
}


def test_the_rewrites_are_a_visible_named_list_each_pinned():
    names = [r.__name__ for r in REWRITES]
    assert len(names) == len(set(names)) and all(r.__doc__ for r in REWRITES)
    assert set(names) == set(PINNED_BY)
    from tests import test_spark_rewrites_more as more  # the pins that did not fit here

    tests = {**vars(more), **globals()}
    assert all(callable(tests.get(test)) for test in PINNED_BY.values())


def test_paired_unnest_zips_instead_of_crossing(duck, spark):
    sql = "select unnest($a) as n, unnest($b) as s order by n"
    rows = assert_same(duck, spark, sql, {"a": [1, 2, 3], "b": ["x", "y", "z"]})
    assert len(rows) == 3
    # sqlglot alone: two generators, a cross product (or an error) in Spark
    assert _raw(sql).count("EXPLODE(") == 2


def test_paired_unnest_of_unequal_lists_pads_with_null(duck, spark):
    sql = "select unnest([1, 2, 3]) as n, unnest(['x']) as s order by n"
    assert len(assert_same(duck, spark, sql)) == 3


def test_date_difference_is_a_number_of_days(duck, spark):
    sql = (
        "with t as (select date '2024-03-05' as d2, date '2024-02-27' as d1) "
        "select d2 - d1 as days, (d2 - d1)::integer as n, d2 - 3 as earlier from t"
    )
    assert assert_same(duck, spark, sql) == [(7, 7, dt.date(2024, 3, 2))]
    # sqlglot alone: an interval on Spark
    raw = [tuple(r) for r in spark.sql(_raw(sql)).collect()]
    assert raw[0][0] == dt.timedelta(days=7)


def test_division_by_zero_is_infinity_or_nan_as_in_duckdb(duck, spark):
    sql = (
        "select a / b as q from (values (1, 0, 1), (-1, 0, 2), (0, 0, 3), (3, 2, 4), "
        "(null, 0, 5), (1, null, 6)) as t (a, b, i) order by i"
    )
    rows = assert_same(duck, spark, sql)
    assert rows[0][0] == float("inf") and rows[1][0] == float("-inf")
    # sqlglot alone: an error under Spark's ANSI mode
    with pytest.raises(Exception, match="DIVIDE_BY_ZERO"):
        spark.sql(_raw(sql)).collect()


def test_decimal_division_is_a_double_as_in_duckdb(duck, spark):
    sql = "select 1.00 / 3.00 as a, 100.0 * 3 / 7 as b, 2 / 4 as c"
    rows = assert_same(duck, spark, sql)
    assert isinstance(rows[0][0], float)
    # sqlglot alone: a decimal quotient on Spark, rounded to its scale
    raw = spark.sql(_raw(sql)).collect()[0][0]
    assert not isinstance(raw, float)


def test_average_of_decimals_is_a_double(duck, spark):
    sql = (
        "with t as (select * from (values (1, 10.00), (1, 20.01), (1, 0.01), (2, 5.55)) "
        "as v (k, x)) select k, avg(x::decimal(18, 2)) as a from t group by k order by k"
    )
    rows = assert_same(duck, spark, sql)
    assert isinstance(rows[0][1], float)


def test_integer_division_truncates(duck, spark):
    assert_same(duck, spark, "select 7 // 2 as a, -7 // 2 as b, (5 + 3 + 1) // 2 as c")


def test_integer_division_keeps_duckdbs_integer_type(duck, spark):
    sql = "with t as (select 3::integer as f, 4::integer as m) select (f + m + 1) // 2 as fm from t"
    assert assert_same(duck, spark, sql) == [(4,)]
    frame = spark_engine.run_sql(spark, sql)
    assert frame.schema["fm"].dataType.simpleString() == "int"
    # sqlglot alone: a BIGINT (a struct built from it, and its hash, change type)
    assert spark.sql(_raw(sql)).schema["fm"].dataType.simpleString() == "bigint"


def test_integer_casts_round_like_duckdb(duck, spark):
    sql = (
        "select 2.5::decimal(5, 1)::integer as a, (-2.5)::decimal(5, 1)::integer as b, "
        "2.5::double::integer as c, 3.5::double::integer as d, (1.25 * 100)::bigint as e"
    )
    assert assert_same(duck, spark, sql) == [(3, -3, 2, 4, 125)]


def test_interval_arithmetic_on_dates(duck, spark):
    sql = (
        "with t as (select date '2024-01-31' as d, k from (values ('week'), ('month'), "
        "('quarter')) as v (k)) "
        "select k, (d + interval 7 day)::date as w, (d + interval 1 month)::date as m, "
        "(d + case k when 'week' then interval 7 day when 'month' then interval 1 month "
        "else interval 3 month end)::date - 1 as span_end, "
        "(d + to_months(2))::date as two, date_trunc('week', d)::date as monday from t order by k"
    )
    assert len(assert_same(duck, spark, sql)) == 3
    # sqlglot alone keeps DuckDB's to_months
    assert "TO_MONTHS(" in _raw(sql).upper()


def test_interval_arithmetic_on_timestamps(duck, spark):
    sql = (
        "with t as (select timestamp '2024-03-01 10:15:00' as opened, 1.5 as hours, "
        "timestamp '2024-03-01 12:00:30' as done) "
        "select opened + to_microseconds((hours * 3600 * 1000000)::bigint) as deadline, "
        "date_diff('second', opened, done) / 3600.0 as took, opened::date as day from t"
    )
    assert assert_same(duck, spark, sql)[0][0] == dt.datetime(2024, 3, 1, 11, 45)
    assert "TO_MICROSECONDS(" in _raw(sql).upper()


def test_range_table_with_interval_step_and_integers(duck, spark):
    dates = (
        "select range::date as as_of, range as at from range($start::date, $end::date + 1, "
        "interval 1 day) order by 1"
    )
    rows = assert_same(
        duck, spark, dates, {"start": dt.date(2024, 2, 27), "end": dt.date(2024, 3, 2)}
    )
    assert len(rows) == 5 and isinstance(rows[0][1], dt.datetime)
    assert_same(duck, spark, "select k.k from range(0, 5) as k (k) order by k")
    assert_same(duck, spark, "select k.k from range(3, 3) as k (k) order by k")
    assert_same(duck, spark, "select unnest(range(0, 4)) as s order by s")


def test_rowid_is_a_key_of_a_step_and_not_in_its_star(duck, spark):
    step = "select * from (values ('a', 1), ('b', 2), ('c', 2)) as t (name, n)"
    duck.execute(f"create or replace temp table rowid_step as {step}")
    sql = (
        "with x as (select s.*, s.rowid as id from rowid_step as s) "
        "select x.*, y.n as again from x inner join rowid_step as y on x.id = y.rowid "
        "order by name"
    )
    reference = [(name, n, again) for name, n, _, again in duck.execute(sql).fetchall()]
    with spark_engine.intermediate(spark) as steps:
        steps.create_sql("rowid_step", step)
        frame = spark_engine.run_sql(spark, sql)
        assert frame.columns == ["name", "n", "id", "again"]
        got = [(r["name"], r["n"], r["again"]) for r in frame.collect()]
    assert same_sequence(reference, got) is None


def test_qualify_group_by_all_and_count_filter(duck, spark):
    sql = (
        "with t as (select * from (values ('a', 1, 10), ('a', 2, 30), ('b', 1, 20)) "
        "as v (k, n, x)), "
        "latest as (select * from t qualify row_number() over (partition by k order by n desc) = 1), "
        "counts as (select k, count(*) filter (where x > 15) as big, count(*) as n from t group by all) "
        "select l.k, l.x, c.big, c.n from latest as l inner join counts as c on l.k = c.k order by l.k"
    )
    assert_same(duck, spark, sql)


def test_lateral_aliases_exclude_and_replace(duck, spark):
    sql = (
        "with t as (select * from (values (1, 'x', 2.5), (2, 'y', 3.5)) as v (a, b, c)), "
        "u as (select *, a * 2 as a2, a2 + 1 as a3 from t) "
        "select * exclude (c) replace (b || '!' as b) from u order by a"
    )
    assert_same(duck, spark, sql)


def test_asof_join_takes_the_nearest_row_on_the_inequalitys_side(duck, spark):
    base = (
        "with a as (select * from (values (1, 'k', 5), (2, 'k', 10), (3, 'k', 0), (4, 'z', 9)) "
        "as t (id, g, x)), "
        "b as (select * from (values ('k', 3, 'c'), ('k', 7, 'g'), ('k', 9, 'i'), ('z', 1, 'a')) "
        "as t (g, y, tag)) "
    )
    inner = "select a.id, b.y, b.tag from a asof join b on a.g = b.g and a.x >= b.y order by a.id"
    assert len(assert_same(duck, spark, base + inner)) == 3
    left = "select a.id, b.tag from a asof left join b on a.g = b.g and a.x >= b.y order by a.id"
    assert len(assert_same(duck, spark, base + left)) == 4
    upward = "select a.id, b.tag from a asof join b on a.g = b.g and a.x <= b.y order by a.id"
    assert_same(duck, spark, base + upward)
    # sqlglot alone keeps ASOF, which Spark cannot parse
    assert "ASOF" in _raw(base + inner).upper()


def test_struct_of_the_other_columns(duck, spark):
    sql = (
        "with t as (select * from (values (1, 'x', 2.5, true)) as v (a, b, c, d)) "
        "select struct_pack(*columns(* exclude (a, b))) as s, "
        "struct_pack(*columns(t.* exclude (c))) as s2 from t"
    )
    reference = duck.execute(sql).fetchall()
    row = spark_engine.run_sql(spark, sql).collect()[0]
    assert (row["s"].asDict(), row["s2"].asDict()) == reference[0]
    # sqlglot alone: `*COLUMNS(...)`, which Spark does not know
    assert "COLUMNS(" in _raw(sql).upper()


def test_struct_of_a_step_leaves_rowid_out(spark):
    with spark_engine.intermediate(spark) as steps:
        steps.create_sql("struct_step", "select 1 as a, 'x' as b")
        row = spark_engine.run_sql(
            spark, "select struct_pack(*columns(* exclude (a))) as s from struct_step"
        ).collect()[0]
    assert row["s"].asDict() == {"b": "x"}


def test_hash_buckets_cover_every_row(duck, spark):
    """hash(x) % n = k splits the rows into n buckets in both engines (not the same buckets: each
    engine has its own hash function); Spark's own HASH is signed and would lose rows."""
    sql = (
        "with r as (select unnest(range(0, 200)) as i), "
        "t as (select 'C' || i::varchar as id from r) "
        "select hash(id) % 3 as bucket, count(*) as n from t group by all order by bucket"
    )
    for rows in (duck.execute(sql).fetchall(), _spark_rows(spark, sql)):
        assert [b for b, _ in rows] == [0, 1, 2] and sum(n for _, n in rows) == 200
    raw = [tuple(r) for r in spark.sql(_raw(sql)).collect()]
    assert min(b for b, _ in raw) < 0


def test_lateral_unnest_of_a_list_of_structs(duck, spark):
    sql = (
        "with m as (select * from (values (1, 3, 0), (2, 0, 0)) as v (d, k, n)) "
        "select d, kpi, value from m, lateral (select unnest(["
        "{'kpi': 'rate', 'value': k / nullif(n, 0)}, {'kpi': 'share', 'value': k / 4}"
        "], recursive := true)) order by d, kpi"
    )
    assert len(assert_same(duck, spark, sql)) == 4


def test_a_list_parameter_holding_nulls(duck, spark):
    sql = "select unnest($names) as name, unnest($targets) as target order by name"
    params = {"names": ["a", "b", "c"], "targets": [0.5, None, 2.0]}
    assert len(assert_same(duck, spark, sql, params)) == 3


def test_anti_and_semi_joins(duck, spark):
    base = (
        "with l as (select * from (values (1), (2), (3)) as v (k)), "
        "r as (select * from (values (2), (2), (4)) as v (k)) "
    )
    assert_same(duck, spark, base + "select l.k from l anti join r on l.k = r.k order by 1")
    assert_same(duck, spark, base + "select l.k from l semi join r on l.k = r.k order by 1")


def test_trailing_comma_after_the_last_cte(duck, spark):
    sql = "with a as (select 1 as x),\n\nselect * from a"
    assert_same(duck, spark, sql)
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(sql, read="duckdb")
    assert "," not in drop_trailing_cte_comma(sql).split(")", 1)[1]


def test_macros_are_expanded_inline_with_duckdb_results(duck, spark):
    sql = (
        "select wilson_low(3, 10, 1.96) as lo, wilson_high(3, 10, 1.96) as hi, "
        "wilson_low(0, 0, 1.96) as empty, nps_std_error(0.5, 0.2, 40) as se, "
        "two_proportion_z(0.3, 100, 0.2, 80) as z, difference_z(5.0, 2.0, 3.0) as dz, "
        "masked_email('ann@example.com') as email, edges_reached(7, [1.0, 5.0, 7.0, 9.0]) as e, "
        "rfm_rank_score(3, 11) as score"
    )
    assert_same(duck, spark, sql)
    assert "WILSON_LOW" not in to_spark(sql).upper()


def test_window_macro_over_rows(duck, spark):
    sql = (
        "with v as (select * from (values (1, 10, 2), (1, 20, 3), (1, 30, 1), (2, 5, 4)) "
        "as t (day, value, customers)) "
        "select day, value, customers_below(customers, day, value) as below, "
        "rfm_rank_score(customers_below(customers, day, value), "
        "sum(customers) over (partition by day)) as score from v order by day, value"
    )
    assert_same(duck, spark, sql)


def test_union_of_constants_after_qualification(duck, spark):
    # Spark 4.3's optimizer fails on `t.x AS x` in such branches: redundant_aliases removes them
    sql = (
        "with a as (select 'cohort' as row_type, 1 as k, true as ok), "
        "b as (select 'average' as row_type, k, true as ok from a), "
        "final as (select * from a union all select * from b) "
        "select * from final order by row_type"
    )
    assert_same(duck, spark, sql)


def test_bound_parameters_stay_markers(spark):
    text, bound = spark_engine.spark_sql(
        spark, "select $d as d, $n + 1 as n, $xs as xs", {"d": dt.date.min, "n": 1, "xs": [1.5]}
    )
    assert ":d" in text and "0001-01-01" not in text and bound["d"] == "0001-01-01"


def test_list_position_is_one_based_or_null(duck, spark):
    sql = (
        "select s, list_position($order, s) as p, list_position([3, 1, 2], 2) as q "
        "from (values ('b'), ('z'), ('a')) as t (s) order by list_position($order, s) nulls last"
    )
    rows = assert_same(duck, spark, sql, {"order": ["a", "b", "c"]})
    assert rows == [("a", 1, 3), ("b", 2, 3), ("z", None, 3)]
    # sqlglot alone keeps DuckDB's name, which Spark does not know
    assert "LIST_POSITION(" in _raw(sql).upper()


def test_cast_of_an_unnest_casts_each_element(duck, spark):
    sql = (
        "select unnest(generate_series($start::date - 14, $start::date, interval 7 day))::date "
        "as week_start order by 1"
    )
    rows = assert_same(duck, spark, sql, {"start": dt.date(2026, 11, 9)})
    assert [r[0] for r in rows] == [
        dt.date(2026, 10, 26),
        dt.date(2026, 11, 2),
        dt.date(2026, 11, 9),
    ]
    # sqlglot alone: a generator inside a CAST, which Spark refuses
    with pytest.raises(Exception, match="NESTED_IN_EXPRESSIONS"):
        spark.sql(_raw(sql.replace("$start", "date '2026-11-09'"))).collect()


def test_length_of_a_list_is_its_size(duck, spark):
    sql = "select len($names) as n, len('abc') as m, coalesce(list_position($names, 'z'), len($names) + 1) as p"
    assert assert_same(duck, spark, sql, {"names": ["a", "b"]}) == [(2, 3, 3)]
