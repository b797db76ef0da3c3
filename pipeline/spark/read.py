"""The read seam on Spark: `query_file(spark, name, params)` is `loyalty.engine.query_file` for the
Spark engine. The reports, the email and the KPI board read the marts only through report queries
(sql/reports/*.sql, one `select` each); here the same file is translated (loyalty.spark.translate),
run with its `$name` parameters bound, and only its result is collected: the aggregates and the
customer lists the query itself limits (`$row_limit`), never a table.

The rows are what DuckDB's Python client returns, so the reports cannot tell the engines apart:
dicts keyed by the query's column names, in its column order; values as Python's `int`, `float`,
`Decimal`, `str`, `bool`, `date`, `datetime` or None; a list as a list and a struct as a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loyalty.engine import split_statements, sql_text
from loyalty.spark.engine import run_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def query_file(
    spark: SparkSession, name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows of the one `select` in `sql/<name>`, as dicts, binding only the `$name` parameters
    the query uses (extra keys are ignored, a missing one is an error), as engine.query_file."""
    return query_sql(spark, sql_text(name), params)


def query_sql(
    spark: SparkSession, text: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    stmts = split_statements(text)
    if len(stmts) != 1:
        raise ValueError(f"a query file holds one statement, not {len(stmts)}")
    return rows_of(run_sql(spark, stmts[0], params))


def rows_of(frame: DataFrame) -> list[dict[str, Any]]:
    """A frame's rows collected as dicts of plain values. The names come with the rows (asking
    the frame for its columns first would be one more round trip on Spark Connect)."""
    rows = frame.collect()
    if not rows:
        return []
    names = rows[0].__fields__
    return [{n: plain(v) for n, v in zip(names, tuple(row), strict=True)} for row in rows]


def plain(value: Any) -> Any:
    """A value of a collected Row as DuckDB's client gives it: a struct (a Row) as a dict, a list
    element by element; every other value is already the same Python type."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {k: plain(v) for k, v in value.asDict(recursive=False).items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
