"""`engine: spark`: the connection loyalty.engine's functions work on, for the Spark engine.

`loyalty.engine.connect(settings)` yields a DuckDB connection, or with `engine: spark` one of
these: the session (loyalty.spark.session) and the warehouse (`paths.warehouse`, one Parquet folder
per table). Every engine function (`create_table`, `replace_days`, `replace_keys`,
`apply_changes`, `intermediate`, `transaction`, `query_file`, `scalar`, `table_exists`, ...)
hands its work to the method of the same name here, so the marts, the reports and the assets run
unchanged on either engine, and the sql/ models stay one copy (translated by loyalty.spark).

`execute(sql, params)` runs one statement of DuckDB's dialect:
- a query (`select`, `with`, ...): translated and run, its rows collected (the read seam: the
  callers ask for aggregates and bounded lists, never a whole table);
- the writes the bookkeeping files and the marts use (loyalty.spark.statements): `create table if
  not exists` with columns, `create [or replace] view`, `create or replace [temp] table .. as`,
  `alter table .. add column if not exists`, `insert into .. [by name] select|values`,
  `delete from .. where`, `drop table|view [if exists]`. Anything else is refused by name.

Where things live: tables in `<warehouse>/<table>/`; a declared table's Spark schema in
`<warehouse>/_schemas/<table>.ddl` (an empty table is read with it); a view's DuckDB SQL in
`<warehouse>/_views/<view>.sql`, made a temporary view of every session that opens the warehouse.
Temp tables of a step are checkpointed temporary views, gone with the session.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loyalty.engine import model_select, split_statements, table_of
from loyalty.spark import catalog, statements
from loyalty.spark import engine as spark_engine
from loyalty.spark.read import rows_of
from loyalty.spark.row_rewrites import ROWID
from loyalty.sqlsafe import quote_ident

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from loyalty.settings import Settings


class Result:
    """A query's collected rows, read the way DuckDB's client is: fetchall, fetchone, description."""

    def __init__(self, columns: list[tuple[str, str]], rows: list[tuple]):
        # (name, DuckDB's type name, ...): what DuckDB's description holds
        self.description = [(c, t, None, None, None, None, None) for c, t in columns]
        self._rows = rows
        self._next = 0

    def fetchall(self) -> list[tuple]:
        rows, self._next = self._rows[self._next :], len(self._rows)
        return rows

    def fetchone(self) -> tuple | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]


class SparkConnection:
    """The Spark engine's connection: a session and a warehouse (see the module docstring)."""

    engine_name = "spark"

    def __init__(self, spark: SparkSession, warehouse: str):
        self.spark = spark
        self.warehouse = warehouse.rstrip("/")
        self._transaction_depth = 0
        self._temps: list[str] = []
        statements.open_warehouse(self)

    @classmethod
    def open(cls, settings: Settings) -> SparkConnection:
        from loyalty.spark.session import REMOTE_ENV, get_session

        conf = {
            "spark.driver.memory": settings.spark.driver_memory,
            "spark.sql.shuffle.partitions": str(settings.spark.shuffle_partitions),
            "spark.default.parallelism": str(settings.spark.shuffle_partitions),
            "spark.sql.session.timeZone": "UTC",
            **settings.spark.conf_strings(),
        }
        spark = get_session(cores=settings.spark.cores, conf=conf)
        # the errors reach the caller as exceptions; Spark's own log would repeat each one with
        # its query plan (which can quote values) on the console
        if not os.environ.get(REMOTE_ENV):  # a Spark Connect client has no SparkContext
            spark.sparkContext.setLogLevel("FATAL")
        logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
        return cls(spark, settings.warehouse_path)

    def close(self) -> None:
        """The step's temp tables go; the session stays (the next step of the process reuses it;
        a local session ends with the process)."""
        for name in reversed(self._temps):
            catalog.drop_view(self.spark, name)
        self._temps.clear()

    # --------------------------------------------------------------------------------------------
    # statements and queries

    def execute(self, sql: str, params: Any = None) -> Result:
        stmts = split_statements(sql)
        if len(stmts) != 1:
            raise ValueError(f"execute runs one statement, not {len(stmts)}")
        return statements.run(self, stmts[0], params)

    def frame(self, sql: str, params: Any = None) -> DataFrame:
        """A query's rows as a DataFrame (not collected)."""
        text, named = statements.named_params(sql, params)
        return spark_engine.run_sql(self.spark, text, named)

    def query_sql(self, text: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        stmts = split_statements(text)
        if len(stmts) != 1:
            raise ValueError(f"a query file holds one statement, not {len(stmts)}")
        return rows_of(self.frame(stmts[0], params))

    def execute_sql(self, text: str, params: Mapping[str, Any] | None = None) -> None:
        for stmt in split_statements(text):
            statements.run(self, stmt, params)

    def copy_csv(self, query: str, params: Any, path: Path | str, quoted: tuple[str, ...]) -> None:
        """loyalty.engine.copy_csv: the executors write the rows (one part, in the query's
        order), the part is moved to `path`. Values are written as DuckDB writes them (ISO days
        and instants); every text field is quoted (Spark has no per-column quoting)."""
        statements.copy_csv(self, query, params, Path(path))

    def copy_csv_parts(
        self,
        query: str,
        params: Any,
        column: str,
        parts: Sequence[tuple[Path | str, Sequence[Any]]],
        quoted: tuple[str, ...],
    ) -> None:
        """loyalty.engine.copy_csv_parts: each part as its own query (the query filtered by
        `column`), each written as copy_csv writes it."""
        for path, values in parts:
            filtered = (
                f"select * from (\n{query}\n) as rows_of_parts "
                f"where list_contains($part_values, {quote_ident(column)})"
            )
            self.copy_csv(filtered, {**(params or {}), "part_values": list(values)}, path, quoted)

    def table_exists(self, name: str) -> bool:
        return catalog.exists(self.spark, bare(name))

    def table_kind(self, name: str) -> str | None:
        """'table', 'view' or None, as information_schema's table_type tells DuckDB's."""
        if name in statements.stored_views(self):
            return "view"
        return "table" if self.table_exists(name) else None

    def column_types(self, name: str) -> list[tuple[str, str]]:
        """(column, DuckDB's name of its type) of a table or view (loyalty.engine.column_types)."""
        found = catalog.schema(self.spark, bare(name))
        if found is None:
            raise ValueError(f"no table or view {name}")
        return [(f.name, duck_type(f.dataType)) for f in found.fields]

    def columns(self, name: str) -> list[str]:
        return catalog.columns(self.spark, bare(name))

    # --------------------------------------------------------------------------------------------
    # materialisations (loyalty.engine's, same names and meaning)

    def create_view(self, model: str, name: str | None = None) -> None:
        statements.define_view(self, name or table_of(model), model_select(model))

    def create_table(
        self,
        model: str,
        params: Mapping[str, Any] | None = None,
        name: str | None = None,
        temp: bool = False,
    ) -> None:
        target = name or table_of(model)
        frame = spark_engine.run_model(self.spark, model, params)
        self.store(target, frame, temp)

    def store(self, table: str, frame: DataFrame, temp: bool = False) -> None:
        """`frame` as the table (a Parquet folder) or, `temp`, a checkpointed temporary view."""
        if temp:
            catalog.view(frame.localCheckpoint(eager=True), table)
            if table not in self._temps:
                self._temps.append(table)
        else:
            statements.write(self, table, frame)

    def insert_by_name(
        self, model: str, params: Mapping[str, Any] | None = None, into: str | None = None
    ) -> None:
        frame = spark_engine.run_model(self.spark, model, params)
        statements.append(self, into or table_of(model), frame)

    def replace_days(
        self,
        model: str,
        params: Mapping[str, Any],
        into: str | None = None,
        day_column: str = "as_of",
    ) -> None:
        table = into or table_of(model)
        frame = spark_engine.run_model(self.spark, model, params)
        frame = statements.aligned(self, table, frame)
        start, end = params["start_date"], params["end_date"]
        spark_engine.write_days(
            self.spark, frame, table, start, end, self.warehouse, day_column, then_register=False
        )
        statements.registered(self, table)

    def replace_keys(
        self,
        model: str,
        params: Mapping[str, Any],
        key: Sequence[str],
        keep: str,
        into: str | None = None,
    ) -> None:
        """The rows whose key the query `keep` returns stay, the model's rows replace the rest:
        the new table is computed (checkpointed) and written anew."""
        table = into or table_of(model)
        kept_keys = spark_engine.run_sql(self.spark, model_select(keep), params)
        kept = self.spark.table(table).join(kept_keys.select(*key).distinct(), list(key), "semi")
        fresh = spark_engine.run_model(self.spark, model, params)
        frame = kept.unionByName(statements.aligned(self, table, fresh))
        statements.write(self, table, frame.localCheckpoint(eager=True))

    def apply_changes(self, table: str, changes: str, key: Sequence[str]) -> tuple[int, int]:
        done = spark_engine.apply_changes(self.spark, table, changes, key, self.warehouse)
        statements.registered(self, table)
        return done

    @contextmanager
    def intermediate(self) -> Iterator[SparkIntermediate]:
        steps = SparkIntermediate(self)
        try:
            yield steps
        finally:
            steps.drop()

    # --------------------------------------------------------------------------------------------
    # transactions: none on Spark (docs/scale-out.md, "What atomicity each engine gives")

    def in_transaction(self) -> bool:
        return self._transaction_depth > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """No multi-statement transaction: each write is as atomic as loyalty.spark.engine makes
        it, and a failed block is repaired by running it again (every step is idempotent)."""
        self._transaction_depth += 1
        try:
            yield
        finally:
            self._transaction_depth -= 1


class SparkIntermediate:
    """loyalty.engine.Intermediate on Spark: a model's steps as checkpointed temporary views."""

    def __init__(self, conn: SparkConnection):
        self.conn = conn
        self.names: list[str] = []

    def create(
        self, model: str, params: Mapping[str, Any] | None = None, name: str | None = None
    ) -> None:
        """The step's rows, with DuckDB's `rowid` as a column (the translation keeps it out of
        `*`), as the temporary view named after its file (or `name`)."""
        from pyspark.sql import functions as F

        view = name or table_of(model)
        frame = spark_engine.run_model(self.conn.spark, model, params)
        self.conn.store(view, frame.withColumn(ROWID, F.monotonically_increasing_id()), temp=True)
        self.names.append(view)

    def view(
        self,
        model: str,
        params: Mapping[str, Any],
        name: str | None = None,
        inline: bool = False,
    ) -> None:
        """loyalty.engine.Intermediate.view: on Spark a step as any other (checkpointed), unless
        `inline`: then a temporary view of the query, which the steps that read it plan into
        their own (for a projection of another step: nothing computed or kept twice)."""
        if not inline:
            self.create(model, params, name)
            return
        view = name or table_of(model)
        catalog.view(spark_engine.run_model(self.conn.spark, model, params), view)
        self.names.append(view)

    def drop(self) -> None:
        for name in dict.fromkeys(reversed(self.names)):
            catalog.drop_view(self.conn.spark, name)
            if name in self.conn._temps:
                self.conn._temps.remove(name)
        self.names.clear()


def bare(name: str) -> str:
    """A table name as DuckDB's SQL may quote it ('"orders"') -> orders."""
    return name[1:-1].replace('""', '"') if name.startswith('"') and name.endswith('"') else name


_DUCK_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
}


def duck_type(kind: Any) -> str:
    """A Spark type by the name DuckDB gives the same type (decimal(38,2) -> DECIMAL(38,2))."""
    name = kind.simpleString()
    return _DUCK_TYPES.get(name, name.upper())


def warehouse_root(conn: SparkConnection) -> Path | None:
    """The warehouse's local folder (None for s3a://, hdfs://, ...)."""
    return spark_engine._local(conn.warehouse)
