"""The Spark engine: loyalty.engine's materialisations for Apache Spark, over the same sql/ models.

A model file's DuckDB SQL is translated at load time (loyalty.spark.translate, with the schema of
the tables it reads, taken from the session's catalog) and run with its `$name` parameters bound as
Spark named parameters (`spark.sql(text, args=...)`): never formatted into the text.

Tables are Parquet folders `<warehouse>/<table>/` (default `out/warehouse`), registered as temp
views under the table's name so the next model reads them by name, as in DuckDB.

    run_model          a model's rows as a DataFrame (lazy)
    create_table       <warehouse>/<table>/ overwritten by the model's rows
    replace_days       the model's days of a table partitioned by `as_of`: a dynamic partition
                       overwrite, then the days of $start_date..$end_date the model no longer
                       returns are removed
    apply_changes      a table stored by change: rows deleted and inserted by key, written anew
    intermediate       a model's steps (sql/<model>/<step>.sql) as checkpointed temp views
    register_warehouse every table folder of the warehouse as a temp view

Atomicity. Spark has no multi-statement transactions and the default Parquet tables no
`create or replace table as` nor `delete`, so the guarantees are weaker than DuckDB's:
- `create_table` writes the new rows to `<table>__new/` first, then swaps the folders (two renames
  on the local file system): a failed build leaves the old table whole; a reader in the instant
  between the renames finds no table. On a non-local warehouse (s3a://, hdfs://) it is Spark's
  overwrite: a failed write can leave the folder empty or partly written, and a re-run repairs it.
- `replace_days` writes the days the model returns to Spark's staging folder, then replaces each
  day's partition folder by it (a delete and a rename per day: short, not atomic); days of the
  range the model no longer returns are deleted afterwards (local warehouse). A failure in between
  leaves some days new and some old: re-running the same range repairs it (it is idempotent).
- `apply_changes` computes the new table (checkpointed) and writes it as `create_table` does.
- nothing spans two tables: DuckDB's `transaction()` around several steps has no equivalent.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from loyalty.engine import model_select, table_of
from loyalty.spark import catalog
from loyalty.spark.row_rewrites import ROWID
from loyalty.spark.translate import (
    drop_trailing_cte_comma,
    param_type,
    to_spark,
    used_params,
    with_nulls,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_WAREHOUSE = Path("out/warehouse")
DAY_COLUMN = "as_of"


def tables_read(sql: str) -> set[str]:
    """The tables (and views) a DuckDB query reads: its table names that are not its CTEs."""
    tree = sqlglot.parse_one(drop_trailing_cte_comma(sql), read="duckdb")
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    return {
        t.name.lower()
        for t in tree.find_all(exp.Table)
        if t.name and not isinstance(t.this, exp.Func) and t.name.lower() not in ctes
    }


def catalog_schema(spark: SparkSession, tables: set[str]) -> dict[str, dict[str, str]]:
    """Column -> Spark type of each of `tables` the session knows (temp views included)."""
    schema: dict[str, dict[str, str]] = {}
    for name in sorted(tables):
        columns = catalog.types(spark, name)
        if columns is not None:
            schema[name] = columns
    return schema


def spark_sql(
    spark: SparkSession, sql: str, params: Mapping[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """A DuckDB query translated for this session, and the parameters it binds (a missing one is
    an error, extra keys are ignored, as in loyalty.engine)."""
    used = used_params(sql)
    given = params or {}
    missing = used - set(given)
    if missing:
        raise KeyError(f"SQL parameter(s) {sorted(missing)} not given")
    bound = {k: given[k] for k in used}
    schema = catalog_schema(spark, tables_read(sql))
    key = (
        sql,
        tuple((t, tuple(cols.items())) for t, cols in sorted(schema.items())),
        tuple((k, _shape(v)) for k, v in sorted(bound.items())),
    )
    text = _TRANSLATED.get(key)
    if text is None:
        text = _TRANSLATED[key] = to_spark(sql, schema, bound)
    return text, {k: _spark_value(v) for k, v in bound.items()}


# translations made in this process, by query, the schemas of the tables it reads and what of each
# parameter's value the translation depends on (a step of a run translates the same query again,
# for another day, as its values change and its text does not): sqlglot's qualification of a long
# query is a tenth of a second or more
_TRANSLATED: dict[tuple, str] = {}


def _shape(value: Any) -> tuple:
    """What of a bound value the translation reads: its type, NULL or not, NULLs in a list, and a
    list's values (a list of column names chooses columns: loyalty.spark.row_rewrites)."""
    listed = tuple(value) if isinstance(value, list | tuple) else None
    return (param_type(value), value is None, with_nulls(value), listed)


def _spark_value(value: Any) -> Any:
    """A parameter's value as pyspark binds it well: dates and instants as ISO text (the query
    casts each marker to its type; pyspark cannot bind a date before 1900, `date.min` say), a
    list with NULLs as JSON text (the query reads it with from_json)."""
    if isinstance(value, dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if with_nulls(value):
        return json.dumps(list(value))
    return value


def run_sql(spark: SparkSession, sql: str, params: Mapping[str, Any] | None = None) -> DataFrame:
    text, bound = spark_sql(spark, sql, params)
    return spark.sql(text, args=bound or None)


def run_model(
    spark: SparkSession, model: str, params: Mapping[str, Any] | None = None
) -> DataFrame:
    """The rows of a model's select (sql/<model>.sql or sql/<model>/<table>.sql), translated."""
    return run_sql(spark, model_select(model), params)


# ------------------------------------------------------------------------------------------------
# tables: Parquet folders


def table_path(warehouse: Path | str, table: str) -> str:
    return f"{str(warehouse).rstrip('/')}/{table}"


def _local(path: str) -> Path | None:
    """The local path of a warehouse location, None for a remote one (s3a://, hdfs://...)."""
    if "://" not in path:
        return Path(path)
    if path.startswith("file://"):
        return Path(path.removeprefix("file://"))
    return None


def register(spark: SparkSession, table: str, warehouse: Path | str) -> DataFrame:
    """`<warehouse>/<table>/` as the temp view `table`. A daily table's partition column, which
    Parquet's folders put last, comes first again (the daily tables' first column is their day)."""
    frame = spark.read.parquet(table_path(warehouse, table))
    local = _local(table_path(warehouse, table))
    if local is not None and DAY_COLUMN in frame.columns and any(local.glob(f"{DAY_COLUMN}=*")):
        frame = frame.select(DAY_COLUMN, *[c for c in frame.columns if c != DAY_COLUMN])
    catalog.view(frame, table)
    return frame


def register_warehouse(spark: SparkSession, warehouse: Path | str) -> list[str]:
    """Every table folder of a local warehouse as a temp view named after it."""
    root = _local(str(warehouse))
    if root is None:
        raise ValueError(f"list the tables of a remote warehouse yourself: {warehouse}")
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and "__" not in p.name)
    for name in names:
        register(spark, name, warehouse)
    return names


def write_table(
    spark: SparkSession, frame: DataFrame, table: str, warehouse: Path | str = DEFAULT_WAREHOUSE
) -> None:
    """`frame` as `<warehouse>/<table>/` (replacing it; see the module docstring), registered."""
    target = table_path(warehouse, table)
    local = _local(target)
    if local is None:
        frame.write.mode("overwrite").parquet(target)
    else:
        fresh = local.with_name(f"{local.name}__new")
        old = local.with_name(f"{local.name}__old")
        frame.write.mode("overwrite").parquet(str(fresh))
        shutil.rmtree(old, ignore_errors=True)
        if local.exists():
            local.rename(old)
        fresh.rename(local)
        shutil.rmtree(old, ignore_errors=True)
    register(spark, table, warehouse)


def create_table(
    spark: SparkSession,
    model: str,
    params: Mapping[str, Any] | None = None,
    warehouse: Path | str = DEFAULT_WAREHOUSE,
    name: str | None = None,
) -> None:
    """The model's rows as the table `<warehouse>/<name or table>/` (engine.create_table)."""
    write_table(spark, run_model(spark, model, params), name or table_of(model), warehouse)


def replace_days(
    spark: SparkSession,
    model: str,
    params: Mapping[str, Any],
    warehouse: Path | str = DEFAULT_WAREHOUSE,
    into: str | None = None,
    day_column: str = DAY_COLUMN,
) -> None:
    """The days `$start_date..$end_date` of a table partitioned by `day_column` replaced by the
    model's rows (engine.replace_days); see `write_days`."""
    frame = run_model(spark, model, params)
    table = into or table_of(model)
    write_days(spark, frame, table, params["start_date"], params["end_date"], warehouse, day_column)


def write_days(
    spark: SparkSession,
    frame: DataFrame,
    table: str,
    start: dt.date,
    end: dt.date,
    warehouse: Path | str = DEFAULT_WAREHOUSE,
    day_column: str = DAY_COLUMN,
    then_register: bool = True,
) -> None:
    """The days start..end of `<warehouse>/<table>/`, partitioned by `day_column`, replaced by
    `frame`'s rows: a dynamic partition overwrite (only the days the rows hold are rewritten), then
    the range's days the rows do not hold are removed (local warehouse), then registered (unless
    the caller registers it: a table left without rows needs its declared schema to be read)."""
    target = table_path(warehouse, table)
    frame = frame.localCheckpoint(eager=True)
    frame.write.mode("overwrite").option("partitionOverwriteMode", "dynamic").partitionBy(
        day_column
    ).parquet(target)
    local = _local(target)
    if local is not None:
        written = {str(r[0]) for r in frame.select(day_column).distinct().collect()}
        for folder in local.glob(f"{day_column}=*"):
            day = folder.name.split("=", 1)[1]
            if str(start) <= day <= str(end) and day not in written:
                shutil.rmtree(folder)
    if then_register:
        register(spark, table, warehouse)


def apply_changes(
    spark: SparkSession,
    table: str,
    changes: str,
    key: Sequence[str],
    warehouse: Path | str = DEFAULT_WAREHOUSE,
) -> tuple[int, int]:
    """A table stored by change (engine.apply_changes): its rows whose `key` is among the rows of
    the view `changes` with op 'delete' removed, the rows with op 'insert' added (their columns:
    the key columns, plus the struct `attrs` unpacked; a column they lack is NULL). Parquet has no
    delete: the table is written anew beside the old one and swapped (write_table). Returns
    (deleted, inserted)."""
    from pyspark.sql import functions as F

    source = spark.table(changes)
    counts = {r["op"]: r["count"] for r in source.groupBy("op").count().collect()}
    deleted, inserted = counts.get("delete", 0), counts.get("insert", 0)
    if not deleted and not inserted:
        return 0, 0
    current = spark.table(table)
    kept = current.join(
        source.where(F.col("op") == "delete").select(*key).distinct(), list(key), "left_anti"
    )
    rows = source.where(F.col("op") == "insert")
    rows = rows.select(*[c for c in rows.columns if c not in ("op", "attrs")], "attrs.*")
    fields = {f.name: f.dataType for f in current.schema.fields}
    aligned = rows.select(
        *[
            F.col(name).cast(kind) if name in rows.columns else F.lit(None).cast(kind).alias(name)
            for name, kind in fields.items()
        ]
    )
    # computed before writing: on a remote warehouse the table is overwritten where it is read
    fresh = kept.unionByName(aligned).localCheckpoint(eager=True)
    write_table(spark, fresh, table, warehouse)
    return deleted, inserted


# ------------------------------------------------------------------------------------------------
# steps of a model built in several files


class Intermediate:
    """The temp views of a model built in steps, each named after its file. Each is checkpointed
    (computed once, kept by the executors, its lineage cut) and carries DuckDB's `rowid` as a
    column, which the translation keeps out of `*`."""

    def __init__(self, spark: SparkSession):
        self.spark = spark
        self.frames: dict[str, DataFrame] = {}

    def create(
        self, model: str, params: Mapping[str, Any] | None = None, name: str | None = None
    ) -> DataFrame:
        return self.create_sql(name or table_of(model), model_select(model), params)

    def create_sql(self, view: str, sql: str, params: Mapping[str, Any] | None = None) -> DataFrame:
        """A step from the text of a DuckDB query (what `create` does with a model's file)."""
        from pyspark.sql import functions as F

        frame = run_sql(self.spark, sql, params)
        frame = frame.withColumn(ROWID, F.monotonically_increasing_id()).localCheckpoint(eager=True)
        catalog.view(frame, view)
        self.frames[view] = frame
        return frame

    def rows(self, name: str) -> DataFrame:
        """A step's rows without the rowid column."""
        return self.frames[name].drop(ROWID)

    def drop(self) -> None:
        for view in reversed(list(self.frames)):
            catalog.drop_view(self.spark, view)
        self.frames.clear()


@contextmanager
def intermediate(spark: SparkSession) -> Iterator[Intermediate]:
    """Steps' temp views, dropped when the block ends (success or not: nothing to roll back)."""
    steps = Intermediate(spark)
    try:
        yield steps
    finally:
        steps.drop()
