"""The tables the Spark ingest writes, in the warehouse: their columns from sql/ingest/tables.sql.

The one copy of the ingest tables' columns is DuckDB's DDL (`sql/ingest/tables.sql`: `ingest_log`,
`quarantine`, the contract tables `orders`, `tickets`, `surveys`, `customers`); sqlglot reads it and
gives each column its Spark type (DuckDB's naive TIMESTAMP is Spark's TIMESTAMP_NTZ). Each table is a
Parquet folder `<warehouse>/<table>/`, registered as a temp view with exactly these columns, in this
order (an empty table too: it is read with its explicit schema).

`ingest_log` and `quarantine` grow by appended Parquet files; a contract table is written anew and
swapped (loyalty.spark.engine.write_table). The bookkeeping reads are aggregates or the few rows of
`ingest_log` that name a file (DuckDB's known_files and loads_of_content): never a data row.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from loyalty.engine import sql_text
from loyalty.ingest.discovery import KnownFile, Unit
from loyalty.spark import catalog
from loyalty.spark.engine import table_path, write_table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

LOG = "ingest_log"
QUARANTINE = "quarantine"


@functools.cache
def table_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """Table -> ((column, Spark type), ...) of every table sql/ingest/tables.sql creates."""
    tables: dict[str, tuple[tuple[str, str], ...]] = {}
    for statement in sqlglot.parse(sql_text("ingest/tables.sql"), read="duckdb"):
        if not isinstance(statement, exp.Create) or statement.kind != "TABLE":
            continue
        schema = statement.this
        assert isinstance(schema, exp.Schema)
        tables[schema.this.name] = tuple(
            (c.name, c.args["kind"].sql("spark"))
            for c in schema.expressions
            if isinstance(c, exp.ColumnDef)
        )
    return tables


def ddl(table: str) -> str:
    """The table's schema as Spark DDL (`a STRING, b BIGINT, ...`)."""
    return ", ".join(f"`{name}` {kind}" for name, kind in table_columns()[table])


def spark_types(table: str) -> dict[str, str]:
    return dict(table_columns()[table])


def _local_missing(path: str) -> bool:
    """A local table folder that does not exist (a remote one, s3a:// or hdfs://, is tried)."""
    if "://" in path and not path.startswith("file://"):
        return False
    return not Path(path.removeprefix("file://")).is_dir()


def register(spark: SparkSession, table: str, warehouse: Path | str) -> DataFrame:
    """`<warehouse>/<table>/` read with its declared schema, as the temp view `table` (no folder
    yet: an empty table with those columns)."""
    from pyspark.errors import AnalysisException

    path = table_path(warehouse, table)
    frame = None
    if not _local_missing(path):
        try:
            frame = spark.read.schema(ddl(table)).parquet(path)
        except AnalysisException:  # a remote folder not written yet
            frame = None
    if frame is None:
        frame = spark.createDataFrame([], ddl(table))
    catalog.view(frame, table)
    return frame


def aligned(frame: DataFrame, table: str) -> DataFrame:
    """`frame`'s columns of the table, in its order, cast to its types."""
    from pyspark.sql import functions as F

    return frame.select(*[F.col(n).cast(t).alias(n) for n, t in table_columns()[table]])


def append(spark: SparkSession, frame: DataFrame, table: str, warehouse: Path | str) -> None:
    """Rows added to a bookkeeping table (appended Parquet files), then registered again."""
    aligned(frame, table).write.mode("append").parquet(table_path(warehouse, table))
    register(spark, table, warehouse)


def replace(spark: SparkSession, frame: DataFrame, table: str, warehouse: Path | str) -> None:
    """A contract table written anew (beside the old one, then swapped), registered with its
    declared schema."""
    write_table(spark, aligned(frame, table), table, warehouse)
    register(spark, table, warehouse)


def ntz(value: dt.datetime | None) -> Any:
    """A naive timestamp as a Spark TIMESTAMP_NTZ literal (from its ISO text: no time zone can
    shift it, whatever the session's)."""
    from pyspark.sql import functions as F

    if value is None:
        return F.lit(None).cast("timestamp_ntz")
    return F.lit(value.isoformat(sep=" ")).cast("timestamp_ntz")


# ------------------------------------------------------------------------------------------------
# bookkeeping: DuckDB's sql/ingest/known_files.sql, loads_of_content.sql and next_load_id.sql over
# the rows of `ingest_log` (one per file ever seen, never a data row), read once per source


class Bookkeeping:
    """`ingest_log` as the driver needs it for one source's run: the files seen, the content
    hashes loaded, the next load id; and the run's new rows, written in one append."""

    COLUMNS = ("load_id", "source", "file_name", "size_bytes", "modified_at", "content_hash")

    def __init__(self, spark: SparkSession, warehouse: Path | str):
        self.spark, self.warehouse = spark, warehouse
        rows = spark.table(LOG).select(*self.COLUMNS, "status").collect()
        self.seen: list[tuple[Any, ...]] = [tuple(r) for r in rows]
        self.new: list[tuple[Any, ...]] = []

    def known_files(self, kind: str) -> set[KnownFile]:
        """Every file of this kind logged, as (name, size, modification time)."""
        return {(r[2], r[3], r[4]) for r in self.seen if r[1] == kind}

    def already_loaded(self, kind: str, unit: Unit) -> tuple[bool, str | None]:
        """(seen, original), as loyalty.ingest.discovery.already_loaded: this content logged
        before, and the name it was first loaded under when that is another name."""
        rows = sorted(r for r in self.seen if r[1] == kind and r[5] == unit.content_hash)
        if not rows:
            return False, None
        if unit.name in {r[2] for r in rows}:
            return True, None
        return True, next((r[2] for r in rows if r[6] in ("loaded", "empty")), rows[0][2])

    def next_load_id(self) -> int:
        """One more than the largest load id logged (the first is 1, as DuckDB's sequence)."""
        return max((int(r[0]) for r in self.seen), default=0) + 1

    def log(self, row: tuple[Any, ...]) -> None:
        """A unit's ingest_log row (in the table's column order), kept until `write`."""
        self.new.append(row)
        names = [n for n, _ in table_columns()[LOG]]
        values = dict(zip(names, row, strict=True))
        self.seen.append((*[values[c] for c in self.COLUMNS], values["status"]))

    def write(self) -> None:
        """The new rows appended to `ingest_log`."""
        if self.new:
            append(self.spark, self.spark.createDataFrame(self.new, ddl(LOG)), LOG, self.warehouse)
            self.new = []
