"""A model file's DuckDB SQL -> Spark SQL: sqlglot (read="duckdb", write="spark") plus the rewrites
below, for what sqlglot leaves untranslated or translates into something that runs but means
another thing on Spark. The SQL files stay one copy; nothing in them knows which engine runs them.

    to_spark(sql, schema=..., params=...)  ->  Spark SQL text, `$name` parameters as `:name`

The parameters stay bound (`spark.sql(text, args=...)`, Spark's named parameter markers); never is
a value formatted into the text. Their Python values only give each marker its type (`CAST(:name
AS <type>)`, the type DuckDB binds), which the type-dependent rewrites need.

With `schema` (table -> column -> type, Spark or DuckDB type names) the query is qualified first
(sqlglot's optimizer): stars are expanded to explicit columns (DuckDB's `* exclude`, `* replace`
and lateral aliases become plain SQL), and every expression gets a type, so a `date - date` can be
told from a `date - integer`. Without it only the rewrites that need no types apply.

The rewrites, in the order they run (REWRITES; each is pinned by tests/test_spark_rewrites.py):
drop_trailing_cte_comma (on the text), expand_macros, paired_unnest, struct_list_unnest,
range_table, asof_join, columns_in_struct, hash_function, list_position, cast_of_unnest,
to_months, to_microseconds, iso_day_of_week,
mixed_interval_case, rowid_not_in_stars, date_difference, list_length, integer_cast_rounds,
integer_division_type, decimal_average, float_division, redundant_aliases. What sqlglot already
translates right is left to it: QUALIFY, GROUP BY ALL, `count(*) filter (...)`, `//` (DIV),
anti/semi joins (LEFT ANTI/LEFT SEMI), `::` casts, list indexes (1-based -> 0-based), `^` (POWER).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from loyalty.spark.macros import expand_macros
from loyalty.spark.row_rewrites import (
    asof_join,
    cast_of_unnest,
    columns_in_struct,
    dynamic_columns,
    hash_function,
    list_position,
    rowid_not_in_stars,
    struct_list_unnest,
)
from loyalty.spark.typed_rewrites import (
    date_difference,
    decimal_average,
    float_division,
    integer_cast_rounds,
    integer_division_type,
    list_length,
)

Schema = Mapping[str, Mapping[str, str]]
Rewrite = Callable[[exp.Expr], exp.Expr]


def drop_trailing_cte_comma(sql: str) -> str:
    """Text, before parsing: `with a as (...), select ...` (a comma after the last CTE, which
    DuckDB accepts) -> `with a as (...) select ...`; sqlglot does not parse it."""
    return re.sub(r"\)\s*,(\s*(?:--[^\n]*\n\s*)*select\b)", r")\1", sql, flags=re.IGNORECASE)


def paired_unnest(tree: exp.Expr) -> exp.Expr:
    """`select unnest(a) as x, unnest(b) as y` zips the lists in DuckDB (row i of each); sqlglot
    writes `EXPLODE(a), EXPLODE(b)`, which Spark refuses or, nested, crosses. ->
    `INLINE(ARRAYS_ZIP(a, b)) AS (x, y)`: the same rows, the shorter list padded with NULL."""
    for select in tree.find_all(exp.Select):
        exploded = [
            p
            for p in select.expressions
            if isinstance(p, exp.Alias) and isinstance(p.this, exp.Explode)
        ]
        if len(exploded) < 2:
            continue
        zipped = exp.Aliases(
            this=exp.Anonymous(
                this="INLINE",
                expressions=[
                    exp.Anonymous(
                        this="ARRAYS_ZIP", expressions=[p.this.this.copy() for p in exploded]
                    )
                ],
            ),
            expressions=[exp.to_identifier(p.alias) for p in exploded],
        )
        first = select.expressions.index(exploded[0])
        rest = [p for p in select.expressions if p not in exploded]
        select.set("expressions", [*rest[:first], zipped, *rest[first:]])
    return tree


def range_table(tree: exp.Expr) -> exp.Expr:
    """`from range(a, b[, step]) as t(c)`, DuckDB's table function (end exclusive; with dates and an
    interval step it yields timestamps): sqlglot writes an `EXPLODE(...)` in FROM, which Spark
    refuses, and an interval step makes it invalid. -> a subquery exploding
    `SEQUENCE(a, b, step)` (empty when a >= b) filtered to the values below b."""
    for table in list(tree.find_all(exp.Table)):
        series = table.this
        if not isinstance(series, exp.GenerateSeries):
            continue
        alias = table.args.get("alias")
        name = alias.name if alias and alias.name else "range"
        columns = alias.columns if alias and alias.columns else []
        column = columns[0].name if columns else "range"
        start, end = series.args["start"].copy(), series.args["end"].copy()
        step = series.args.get("step")
        if isinstance(step, exp.Interval):
            start = exp.cast(start, exp.DataType.Type.TIMESTAMP)
            end = exp.cast(end, exp.DataType.Type.TIMESTAMP)
        bound = "<" if series.args.get("is_end_exclusive") else "<="
        seq = f"SEQUENCE({start.sql('spark')}, {end.sql('spark')}"
        seq += f", {step.sql('spark')})" if step is not None else ")"
        col, alias_name = f"`{column}`", f"`{name}`"
        sub = sqlglot.parse_one(
            f"(SELECT {col} FROM (SELECT EXPLODE(IF({start.sql('spark')} {bound} "
            f"{end.sql('spark')}, {seq}, ARRAY())) AS {col}) "
            f"WHERE {col} {bound} {end.sql('spark')}) AS {alias_name}",
            read="spark",
        )
        table.replace(sub)
    return tree


def to_months(tree: exp.Expr) -> exp.Expr:
    """DuckDB `to_months(n)` (an interval of n months; sqlglot leaves it as it is) ->
    `MAKE_YM_INTERVAL(0, n)`: date + year-month interval is a date in both engines."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_months":
            return exp.Anonymous(
                this="MAKE_YM_INTERVAL", expressions=[exp.Literal.number(0), *node.expressions]
            )
        return node

    return tree.transform(rewrite, copy=False)


_INTERVAL_FIELDS = ("YEAR", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND")


def _calendar_interval(node: exp.Interval) -> exp.Expr:
    unit = node.unit.name.upper().rstrip("S") if node.unit else "DAY"
    if unit not in _INTERVAL_FIELDS:
        return node
    amount = node.this.name if isinstance(node.this, exp.Literal) else node.this.sql("spark")
    fields = [amount if f == unit else "0" for f in _INTERVAL_FIELDS]
    return sqlglot.parse_one(f"MAKE_INTERVAL({', '.join(fields)})", read="spark")


def to_microseconds(tree: exp.Expr) -> exp.Expr:
    """DuckDB `to_microseconds(n)` (an interval of n microseconds; sqlglot leaves it) ->
    `(n * INTERVAL '0.000001' SECOND)`, a day-time interval, exact to the microsecond."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_microseconds":
            micro = sqlglot.parse_one("INTERVAL '0.000001' SECOND", read="spark")
            count = exp.cast(node.expressions[0].copy(), exp.DataType.Type.BIGINT)
            return exp.Paren(this=exp.Mul(this=count, expression=micro))
        return node

    return tree.transform(rewrite, copy=False)


def mixed_interval_case(tree: exp.Expr) -> exp.Expr:
    """`case ... then interval 7 day ... else interval 3 month end`: one type in DuckDB, two in
    Spark (a day-time and a year-month interval, which a CASE cannot mix) -> each branch a
    `MAKE_INTERVAL(years, months, weeks, days, hours, mins, secs)`, Spark's calendar interval; a
    date plus one is a date, as in DuckDB."""
    for case in list(tree.find_all(exp.Case)):
        results = [i.args.get("true") for i in case.args.get("ifs", [])]
        results.append(case.args.get("default"))
        intervals = [r for r in results if isinstance(r, exp.Interval)]
        units = {r.unit.name.upper().rstrip("S") for r in intervals if r.unit}
        if len(intervals) < 2 or len(units) < 2:
            continue
        for result in intervals:
            result.replace(_calendar_interval(result))
    return tree


def redundant_aliases(tree: exp.Expr) -> exp.Expr:
    """`t.x AS x` (sqlglot's qualification writes one for every column) -> `t.x`: the same output
    name. Spark 4.3's optimizer (RemoveRedundantAliases) fails on such aliases in the branches of
    a UNION ALL of constants ("The plan was previously resolved and now became unresolved")."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if (
            isinstance(node, exp.Alias)
            and isinstance(node.this, exp.Column)
            and node.this.name.lower() == node.alias.lower()
        ):
            return node.this
        return node

    return tree.transform(rewrite, copy=False)


def iso_day_of_week(tree: exp.Expr) -> exp.Expr:
    """DuckDB's `isodow(d)` (Monday 1 .. Sunday 7): sqlglot writes `(DAYOFWEEK(d) % 7) + 1`, which
    on Spark (DAYOFWEEK: Sunday 1 .. Saturday 7) makes Sunday 2, silently. -> `WEEKDAY(d) + 1`
    (Spark's WEEKDAY: Monday 0 .. Sunday 6)."""
    for node in list(tree.find_all(exp.DayOfWeekIso)):
        weekday = exp.Anonymous(this="WEEKDAY", expressions=[node.this.copy()])
        node.replace(exp.Paren(this=exp.Add(this=weekday, expression=exp.Literal.number(1))))
    return tree


# the rewrites on the tree, in order (drop_trailing_cte_comma runs on the text, before parsing)
REWRITES: list[Rewrite] = [
    expand_macros,
    paired_unnest,
    struct_list_unnest,
    range_table,
    asof_join,
    columns_in_struct,
    hash_function,
    list_position,
    cast_of_unnest,
    to_months,
    to_microseconds,
    iso_day_of_week,
    mixed_interval_case,
    rowid_not_in_stars,
    date_difference,
    list_length,
    integer_cast_rounds,
    integer_division_type,
    decimal_average,
    float_division,
    redundant_aliases,
]


def param_type(value: Any) -> str | None:
    """The type DuckDB binds a Python value as (None: unknown, left untyped)."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER" if -(2**31) <= value < 2**31 else "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, Decimal):
        return "DOUBLE"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, str):
        return "VARCHAR"
    if isinstance(value, list | tuple):
        inner = next((param_type(v) for v in value if v is not None), None)
        return f"{inner}[]" if inner else None
    return None


def with_nulls(value: Any) -> bool:
    """A list holding NULLs: pyspark cannot bind it as a literal, so it is bound as JSON text."""
    return isinstance(value, list | tuple) and any(v is None for v in value)


def parameters_typed(tree: exp.Expr, params: Mapping[str, Any]) -> exp.Expr:
    """Each `$name` marker -> `CAST(:name AS <type of its value>)` (still a bound marker); a list
    holding NULLs -> `FROM_JSON(:name, '<its array type>')` (its value bound as JSON text)."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name in params:
            value = params[node.name]
            typed = param_type(value)
            if typed and with_nulls(value):
                kind = exp.DataType.build(typed, dialect="duckdb").sql("spark")
                return exp.Anonymous(this="FROM_JSON", expressions=[node, exp.Literal.string(kind)])
            if typed:
                return exp.cast(node, exp.DataType.build(typed, dialect="duckdb"))
        return node

    return tree.transform(rewrite, copy=False)


def null_limits(tree: exp.Expr, params: Mapping[str, Any]) -> exp.Expr:
    """`limit $n` with n bound to None: DuckDB returns every row (LIMIT NULL); Spark refuses a
    limit of type VOID -> the LIMIT left out (the value decides, as it does in DuckDB)."""
    for limit in list(tree.find_all(exp.Limit)):
        value = limit.expression
        if (
            isinstance(value, exp.Placeholder)
            and value.name in params
            and params[value.name] is None
        ):
            limit.pop()
    return tree


def used_params(sql: str) -> set[str]:
    """The `$name` markers of a DuckDB query (comments ignored)."""
    code = "\n".join(ln.split("--", 1)[0] for ln in sql.splitlines())
    return set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", code))


def to_spark_tree(
    sql: str, schema: Schema | None = None, params: Mapping[str, Any] | None = None
) -> exp.Expr:
    """The rewritten sqlglot tree of a DuckDB query (see the module docstring)."""
    tree = sqlglot.parse_one(drop_trailing_cte_comma(sql), read="duckdb")
    tree = expand_macros(tree)
    if schema is not None and params:
        tree = dynamic_columns(tree, schema, params)
    if params:
        tree = null_limits(tree, params)
        tree = parameters_typed(tree, params)
    if schema is not None:
        mapping = MappingSchema(
            {t: dict(cols) for t, cols in schema.items()}, dialect="spark", normalize=True
        )
        tree = qualify(tree, schema=mapping, dialect="duckdb", validate_qualify_columns=False)
        tree = annotate_types(tree, schema=mapping, dialect="duckdb")
        tree = columns_in_struct(tree, mapping)
    for rewrite in REWRITES[1:]:
        tree = rewrite(tree)
    return tree


def to_spark(
    sql: str, schema: Schema | None = None, params: Mapping[str, Any] | None = None
) -> str:
    """Spark SQL for a DuckDB query: parameters as `:name` markers, to be bound by `spark.sql(text,
    args=...)` with the values (loyalty.spark.engine does)."""
    return to_spark_tree(sql, schema, params).sql(dialect="spark")
