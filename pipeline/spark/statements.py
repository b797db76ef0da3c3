"""The statements of DuckDB's dialect the Spark connection runs (loyalty.spark.connection), and the
warehouse's tables, schemas and views they write.

A query is translated and run (loyalty.spark.engine.run_sql). The writes are the few kinds the
bookkeeping files and the marts use, each done on Parquet folders, which have no `delete` nor
`update`: a delete or an update writes the table anew (computed and checkpointed first, then
swapped in: loyalty.spark.engine.write_table), an insert appends files. Bookkeeping tables are
small; the large tables are written by the engine's materialisations, never row by row.

    create table if not exists t (...)        the folder and its schema (<warehouse>/_schemas/)
    create [or replace] view v as <select>    the view's SQL kept (<warehouse>/_views/), made a
                                              temporary view of this and every later session
    create or replace [temp] table t as ...    the query's rows as the table (temp: a view)
    alter table t add column if not exists    the column added to the schema (old files: NULL)
    insert into t [by name] select|values     rows appended (by name, or by position)
    delete from t [where c]                   the rows where c is not true kept, written anew
    drop table|view [if exists] t
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from loyalty.spark import catalog
from loyalty.spark import engine as spark_engine
from loyalty.spark.translate import drop_trailing_cte_comma

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from loyalty.spark.connection import Result, SparkConnection

SCHEMAS = "_schemas"
VIEWS = "_views"
DAY_COLUMN = spark_engine.DAY_COLUMN


class NotOnSpark(Exception):
    """A statement the Spark engine does not run (the message names its kind)."""


# ------------------------------------------------------------------------------------------------
# parameters

_MARKER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?")


def named_params(sql: str, params: Any) -> tuple[str, dict[str, Any] | None]:
    """DuckDB's positional `?` markers as named `$_pN` ones (outside strings and comments), with
    their values: the translation binds named parameters only."""
    if params is None or isinstance(params, dict):
        return sql, params
    values = list(params)
    count = 0

    def name(match: re.Match) -> str:
        nonlocal count
        if match.group(0) != "?":
            return match.group(0)
        count += 1
        return f"$_p{count}"

    text = _MARKER.sub(name, sql)
    if count != len(values):
        raise ValueError(f"{count} parameter marker(s), {len(values)} value(s)")
    return text, {f"_p{i + 1}": v for i, v in enumerate(values)}


# ------------------------------------------------------------------------------------------------
# one statement


def run(conn: SparkConnection, stmt: str, params: Any = None) -> Result:
    from loyalty.spark.connection import Result

    text, named = named_params(stmt, params)
    tree = sqlglot.parse_one(drop_trailing_cte_comma(text), read="duckdb")
    if isinstance(tree, exp.Query):
        from loyalty.spark.connection import duck_type
        from loyalty.spark.read import plain

        frame = conn.frame(text, named)
        kinds = [(f.name, duck_type(f.dataType)) for f in frame.schema.fields]
        return Result(kinds, [tuple(plain(v) for v in r) for r in frame.collect()])
    done = _write(conn, tree, named or {})
    return Result([("Count", "BIGINT")], [(done,)])


def _write(conn: SparkConnection, tree: exp.Expr, params: dict[str, Any]) -> int:
    if isinstance(tree, exp.Create):
        return _create(conn, tree, params)
    if isinstance(tree, exp.Insert):
        return _insert(conn, tree, params)
    if isinstance(tree, exp.Delete):
        return _delete(conn, tree, params)
    if isinstance(tree, exp.Drop):
        return _drop(conn, tree)
    if isinstance(tree, exp.Alter):
        return _alter(conn, tree)
    raise NotOnSpark(f"the Spark engine does not run this statement: {tree.sql('duckdb')[:80]}")


def _name(node: exp.Expr) -> str:
    table = node.find(exp.Table)
    if table is None:
        raise NotOnSpark(f"no table named in: {node.sql('duckdb')[:80]}")
    return table.name


def _create(conn: SparkConnection, tree: exp.Create, params: dict[str, Any]) -> int:
    kind = (tree.args.get("kind") or "").upper()
    name = _name(tree.this)
    query = tree.expression
    if kind == "VIEW":
        if query is None:
            raise NotOnSpark(f"view {name} without a query")
        define_view(conn, name, query.sql("duckdb"))
        return 0
    if kind != "TABLE":
        raise NotOnSpark(f"the Spark engine does not create a {kind.lower()}: {name}")
    if query is not None:
        temp = bool(tree.args.get("properties") and tree.find(exp.TemporaryProperty))
        conn.store(name, conn.frame(query.sql("duckdb"), params), temp=temp)
        return 0
    if conn.table_exists(name) and not tree.args.get("exists"):
        raise NotOnSpark(f"table {name} exists")
    if not conn.table_exists(name):
        declare(conn, name, _ddl(tree.this))
    return 0


def _ddl(schema: exp.Expr) -> str:
    """A `create table` statement's columns as Spark DDL ("a STRING, b DATE"), constraints left."""
    cols = [c for c in schema.expressions if isinstance(c, exp.ColumnDef)]
    return ", ".join(f"`{c.name}` {c.args['kind'].sql('spark')}" for c in cols)


def _insert(conn: SparkConnection, tree: exp.Insert, params: dict[str, Any]) -> int:
    if tree.args.get("alternative") or tree.args.get("conflict"):
        raise NotOnSpark("insert or replace / on conflict: delete the keys, then insert")
    target = tree.this
    name = _name(target)
    columns = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else None
    source = tree.expression.sql("duckdb")
    if isinstance(tree.expression, exp.Values):
        source = f"select * from ({source}) as v"
    frame = conn.frame(source, params)
    by_name = bool(tree.args.get("by_name"))
    if not by_name:
        names = columns or [c for c in conn.columns(name)][: len(frame.columns)]
        frame = frame.toDF(*names)
    rows = frame.localCheckpoint(eager=True)
    append(conn, name, rows)
    return rows.count()


def _delete(conn: SparkConnection, tree: exp.Delete, params: dict[str, Any]) -> int:
    """The rows where the condition holds removed: counted first, and the table written anew
    only when there are any."""
    name = _name(tree.this)
    where = tree.args.get("where")
    cond = "true" if where is None else f"coalesce(({where.this.sql('duckdb')}), false)"
    gone = conn.frame(f"select count(*) from {name} where {cond}", params).first()
    if not gone or not gone[0]:
        return 0
    kept = conn.frame(f"select * from {name} where not {cond}", params)
    write(conn, name, kept.localCheckpoint(eager=True))
    return int(gone[0])


def _drop(conn: SparkConnection, tree: exp.Drop) -> int:
    named = tree.args.get("tables") or [tree.this]
    if len(named) != 1 or named[0] is None:
        raise NotOnSpark(f"drop one table at a time: {tree.sql('duckdb')[:80]}")
    name = named[0].name
    kind = (tree.args.get("kind") or "").upper()
    root = spark_engine._local(conn.warehouse)
    if kind == "VIEW":
        if root is not None:
            (root / VIEWS / f"{name}.sql").unlink(missing_ok=True)
    elif root is not None and name not in conn._temps:
        shutil.rmtree(root / name, ignore_errors=True)
        (root / SCHEMAS / f"{name}.ddl").unlink(missing_ok=True)
    if not conn.table_exists(name) and not tree.args.get("exists") and kind != "VIEW":
        raise NotOnSpark(f"no table {name}")
    catalog.drop_view(conn.spark, name)
    return 0


def _alter(conn: SparkConnection, tree: exp.Alter) -> int:
    name = _name(tree.this)
    for action in tree.args.get("actions") or []:
        if not isinstance(action, exp.ColumnDef):
            raise NotOnSpark(f"the Spark engine only adds columns: {tree.sql('duckdb')[:80]}")
        if action.name in conn.columns(name):
            continue
        ddl = schema_of(conn, name)
        if ddl is None:
            raise NotOnSpark(f"add a column to {name}: it has no declared schema")
        _save_schema(conn, name, f"{ddl}, `{action.name}` {action.args['kind'].sql('spark')}")
        registered(conn, name)
    return 0


# ------------------------------------------------------------------------------------------------
# tables, schemas, views


def _root(conn: SparkConnection):
    root = spark_engine._local(conn.warehouse)
    if root is None:
        raise NotOnSpark(f"a remote warehouse ({conn.warehouse}) keeps no schemas or views here")
    return root


def schema_of(conn: SparkConnection, table: str) -> str | None:
    path = _root(conn) / SCHEMAS / f"{table}.ddl"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _save_schema(conn: SparkConnection, table: str, ddl: str) -> None:
    folder = _root(conn) / SCHEMAS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{table}.ddl").write_text(ddl, encoding="utf-8")


def declare(conn: SparkConnection, table: str, ddl: str) -> None:
    """An empty table with these columns: its folder and its schema."""
    _save_schema(conn, table, ddl)
    (_root(conn) / table).mkdir(parents=True, exist_ok=True)
    registered(conn, table)


def registered(conn: SparkConnection, table: str) -> DataFrame:
    """`<warehouse>/<table>/` as the temporary view `table`: read with its declared schema when it
    has one (an empty table, a column added later), its partition column back in its place."""
    path = spark_engine.table_path(conn.warehouse, table)
    ddl = schema_of(conn, table)
    reader = conn.spark.read
    if ddl is not None:
        from pyspark.sql.types import StructType

        schema = StructType.fromDDL(ddl)
        assert isinstance(schema, StructType)
        frame = reader.schema(schema).parquet(path).select(*schema.fieldNames())
    else:
        frame = spark_engine.register(conn.spark, table, conn.warehouse)
    catalog.view(frame, table)
    local = spark_engine._local(path)
    if local is not None and local.is_dir():
        _SEEN[(id(conn.spark), table)] = _registration(conn, local)
    return frame


def aligned(conn: SparkConnection, table: str, frame: DataFrame) -> DataFrame:
    """`frame`'s columns matched by name to the table's (its order and types; a column it lacks
    is NULL), as `insert .. by name` does; the frame as it is for a table not there yet."""
    from pyspark.sql import functions as F

    found = catalog.schema(conn.spark, table)
    if found is None:
        return frame
    fields = found.fields
    have = set(frame.columns)
    extra = have - {f.name for f in fields}
    if extra:
        raise NotOnSpark(f"{table} has no column(s) {sorted(extra)}")
    return frame.select(
        *[
            (F.col(f.name) if f.name in have else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in fields
        ]
    )


def write(conn: SparkConnection, table: str, frame: DataFrame) -> None:
    """The table written anew with `frame`'s rows (a declared table keeps its schema)."""
    spark_engine.write_table(conn.spark, aligned(conn, table, frame), table, conn.warehouse)
    registered(conn, table)


def append(conn: SparkConnection, table: str, frame: DataFrame) -> None:
    """`frame`'s rows added to the table (files appended; into the day partitions of a table
    partitioned by as_of)."""
    if not conn.table_exists(table):
        write(conn, table, frame)
        return
    rows = aligned(conn, table, frame)
    path = spark_engine.table_path(conn.warehouse, table)
    local = spark_engine._local(path)
    writer = rows.write.mode("append")
    if local is not None and any(local.glob(f"{DAY_COLUMN}=*")):
        writer = writer.partitionBy(DAY_COLUMN)
    writer.parquet(path)
    registered(conn, table)


def stored_views(conn: SparkConnection) -> dict[str, str]:
    root = spark_engine._local(conn.warehouse)
    folder = None if root is None else root / VIEWS
    if folder is None or not folder.is_dir():
        return {}
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.sql"))}


def define_view(conn: SparkConnection, name: str, select: str) -> None:
    """The view kept in the warehouse and made a temporary view of the session. Its SQL is
    Spark's (translated now), run again each time it is read, so it sees the tables as they are
    then."""
    folder = _root(conn) / VIEWS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.sql").write_text(select, encoding="utf-8")
    _temp_view(conn, name, select)


def _temp_view(conn: SparkConnection, name: str, select: str) -> None:
    """The stored view as the session's temporary view (defined again only when its translation
    or the columns of the tables it reads differ from the session's: every step opens the
    warehouse, and defining a view is a round trip to Spark and an analysis of its query)."""
    text, _ = spark_engine.spark_sql(conn.spark, select, {})
    reads = spark_engine.catalog_schema(conn.spark, spark_engine.tables_read(select))
    columns = tuple((t, tuple(c.items())) for t, c in sorted(reads.items()))
    catalog.sql_view(conn.spark, name, text, columns)


# the tables a session has registered, each with its folder's signature when it did: a step of
# the same process (`loyalty run` runs in one) opens the warehouse again without reading every
# table's footers again; a folder written since (by this process or another) is registered anew
_SEEN: dict[tuple[int, str], tuple[float, ...]] = {}


def _signature(folder: Path) -> tuple[float, ...]:
    """The modification times of a table folder and its day folders (a file added, removed or
    renamed in either changes one)."""
    times = [folder.stat().st_mtime_ns]
    with os.scandir(folder) as entries:
        times.extend(e.stat().st_mtime_ns for e in entries if e.is_dir())
    return tuple(float(t) for t in times)


def _registration(conn: SparkConnection, folder: Path) -> tuple[float, ...]:
    return (*_signature(folder), float(schema_of(conn, folder.name) is not None))


def open_warehouse(conn: SparkConnection) -> None:
    """Every table of a local warehouse as a temporary view, then every stored view."""
    root = spark_engine._local(conn.warehouse)
    if root is None:
        return
    root.mkdir(parents=True, exist_ok=True)
    session = id(conn.spark)
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.name.startswith("_") and "__" not in folder.name:
            key = (session, folder.name)
            if _SEEN.get(key) != _registration(conn, folder) or not conn.table_exists(folder.name):
                registered(conn, folder.name)
    for name, select in stored_views(conn).items():
        _temp_view(conn, name, select)


def copy_csv(conn: SparkConnection, query: str, params: Any, path: Path) -> None:
    """A query's rows as one CSV file with a header (see SparkConnection.copy_csv)."""
    from pyspark.sql import functions as F

    frame = conn.frame(query, params)
    texts = [f.name for f in frame.schema.fields if f.dataType.simpleString() == "string"]
    # Spark writes "" for an empty text and nothing for NULL, as DuckDB does
    frame = frame.select(*[F.col(c) for c in frame.columns])
    folder = path.with_name(path.name + ".parts")
    shutil.rmtree(folder, ignore_errors=True)
    (
        frame.coalesce(1)
        .write.option("header", "true")
        .option("quoteAll", "true" if texts else "false")
        .option("escape", '"')
        .option("emptyValue", '""')
        .option("nullValue", "")
        .option("dateFormat", "yyyy-MM-dd")
        .option("timestampNTZFormat", "yyyy-MM-dd HH:mm:ss")
        .option("timestampFormat", "yyyy-MM-dd HH:mm:ss")
        .csv(str(folder))
    )
    parts = sorted(folder.glob("part-*.csv"))
    if len(parts) != 1:
        raise RuntimeError(f"expected one CSV part in {folder}, found {len(parts)}")
    parts[0].replace(path)
    shutil.rmtree(folder, ignore_errors=True)
