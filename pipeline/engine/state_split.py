"""A table stored by change, kept on DuckDB as two tables (docs/architecture.md, "The engine").

`customer_state` holds one row per customer and interval of days; a row whose `valid_to` is null
is current. A night closes a few rows and opens a few, so the current rows of a table written
night after night (and the runs of a first range) end up spread over every row group: reading one
recent day's 2.5 M current rows then decompresses most of a year's 30 M rows, although the scan
skips rows by constant bounds on the two date columns. On DuckDB the table is therefore kept as

- `<table>_closed`: the rows with `valid_to` set, appended in `valid_to` order (a night closes
  rows the day before it: the table grows in that order, and its zone maps on `valid_to` let a
  read of recent days skip the older row groups);
- `<table>_current`: the rows with `valid_to` null (one per customer; a night deletes the rows it
  closes and inserts the ones it opens, and DuckDB's checkpoint merges row groups thinned by
  deletions: at 1 M rows, ten nights of 5 % replaced kept 9-10 row groups);
- `<table>`: a view of their union, with the table's columns and rows, which every query reads.

`engine.apply_changes` and `engine.insert_by_name` write through the view into the two tables.
The Spark engine keeps one table (it writes a table anew each time: no zone maps to keep).

DuckDB vacuums the row groups thinned by deletions at every checkpoint (a large transaction
checkpoints at its commit), of every table with deleted rows, whichever table the transaction
wrote. At 10 M orders a night deletes 73 k of the 3 M current rows, and the vacuum rewrote them
at every night's snapshot commit (0.7-0.9 s of a 2.3-2.9 s step), while after a year of nights
15 % of the stored current rows were deleted ones all the same. The pipeline's read-write
connections therefore never vacuum (`max_vacuum_tasks` 0, loyalty.engine.core._open); as
PostgreSQL's autovacuum does (its scale factor 0.2), the snapshot's write of `customer_state`
vacuums (`vacuum_when_due`: every table, in one checkpoint) once the deleted rows still stored
reach VACUUM_DEAD_SHARE of the current rows stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb

from loyalty.engine.core import _bound, in_transaction, scalar, table_exists, table_kind
from loyalty.sqlsafe import quote_ident

OPEN = "valid_to"  # null: the row is current
_TYPE = re.compile(r"[A-Z][A-Z0-9_]*(\(\d+(, ?\d+)?\))?")  # a column's type, as DuckDB names it
SPLIT_TABLES = ("customer_state",)


VACUUM_DEAD_SHARE = 0.2  # of the current rows stored, deleted ones: the next write vacuums


def dead_share(conn: duckdb.DuckDBPyConnection, table: str) -> float:
    """The share of `table`'s stored rows that are deleted ones (committed; DuckDB's estimated
    size counts every row its row groups hold)."""
    stored = scalar(
        conn,
        "select estimated_size from duckdb_tables() where table_name = ? "
        "and schema_name = 'main' and database_name = current_database()",
        [table],
    )
    if not stored:
        return 0.0
    live = scalar(conn, f"select count(*) from {quote_ident(table)}")
    return (stored - live) / stored


DUCKDB_VACUUM_TASKS = 100  # DuckDB's default `max_vacuum_tasks`


@contextmanager
def vacuum_when_due(conn: object, table: str) -> Iterator[None]:
    """Around the transaction that writes `table` (kept split; else nothing is done: Spark, a
    plain table): once the deleted rows its current rows hold have reached VACUUM_DEAD_SHARE, the
    block's checkpoints vacuum (DuckDB's `max_vacuum_tasks`, a global setting, restored after the
    block), and the block ends with a checkpoint (a commit below DuckDB's
    `auto_checkpoint_skip_wal_threshold` writes the log instead). The decision is taken on what is
    committed before the block: a night's own deletions count from the next night on."""
    if not isinstance(conn, duckdb.DuckDBPyConnection) or (split := parts(conn, table)) is None:
        yield
        return
    previous = int(scalar(conn, "select current_setting('max_vacuum_tasks')"))
    if previous >= DUCKDB_VACUUM_TASKS or dead_share(conn, split[1]) < VACUUM_DEAD_SHARE:
        yield  # a connection that vacuums anyway (not the pipeline's), or not due
        return
    conn.execute(f"set max_vacuum_tasks = {DUCKDB_VACUUM_TASKS}")
    try:
        yield
        if not in_transaction(conn):  # (inside a caller's transaction its commit decides)
            conn.execute("checkpoint")
    finally:
        conn.execute(f"set max_vacuum_tasks = {previous}")


def parts(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[str, str] | None:
    """(closed, current) when `table` is kept split, else None."""
    closed, current = f"{table}_closed", f"{table}_current"
    if table_kind(conn, table) == "view" and table_exists(conn, current):
        return closed, current
    return None


def split(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Turn the table `table` into its two tables and the view (in the caller's transaction): the
    closed rows rewritten in `valid_to` order, the current ones apart, with the table's declared
    columns, types and NOT NULLs. The two tables are created by their columns, not by `create
    table .. as`: with DuckDB 2.0 the rows a later statement of the same transaction inserted
    into such a table, once they filled a row group, were not seen through the view on that
    connection, even after the commit (tests/test_state_split.py). Callers split in a
    transaction of its own (loyalty.marts.snapshot.create_snapshot_tables)."""
    name = quote_ident(table)
    closed, current = (quote_ident(p) for p in (f"{table}_closed", f"{table}_current"))
    columns = conn.execute(
        "select column_name, data_type, is_nullable from duckdb_columns() "
        "where table_name = ? and schema_name = 'main' and database_name = current_database() "
        "order by column_index",
        [table],
    ).fetchall()
    declared = []
    for column, data_type, nullable in columns:
        if not _TYPE.fullmatch(data_type):
            raise ValueError(f"{table}.{column}: unexpected type {data_type!r}")
        declared.append(f"{quote_ident(column)} {data_type}{'' if nullable else ' not null'}")
    for part in (closed, current):
        conn.execute(f"create table {part} ({', '.join(declared)})")
    # (an insert of no rows into them is left out: DuckDB 2.0 then also loses a later insert of
    # a row group or more in the same transaction, as read through the view)
    if scalar(conn, f"select count(*) from {name}"):
        conn.execute(
            f"insert into {closed} select * from {name} where {OPEN} is not null "
            f"order by {OPEN}, customer_id"
        )
        conn.execute(f"insert into {current} select * from {name} where {OPEN} is null")
    # views that read the table (customer_snapshot, anyone's own) read the view of the same name
    conn.execute(f"drop table {name}")
    conn.execute(f"create view {name} as select * from {closed} union all select * from {current}")


def apply(
    conn: duckdb.DuckDBPyConnection,
    split_parts: tuple[str, str],
    source: str,
    key: Sequence[str],
    counts: Mapping[str, int],
) -> None:
    """engine.apply_changes into the two tables (in the caller's transaction): a deleted key is
    looked for among the closed rows only when the current ones do not hold it (a night deletes
    current rows: those it closes), an inserted row goes to the table its `valid_to` says."""
    closed, current = (quote_ident(p) for p in split_parts)
    src = quote_ident(source)
    cols = ", ".join(quote_ident(k) for k in key)
    if deletes := counts.get("delete"):
        keys = f"select {cols} from {src} where op = 'delete'"
        gone = conn.execute(f"delete from {current} where ({cols}) in ({keys})").fetchone()
        # a key is one row of the union (a customer's intervals do not overlap): the keys the
        # current rows did not hold are closed rows
        if gone is None or gone[0] < deletes:
            conn.execute(f"delete from {closed} where ({cols}) in ({keys})")
    if counts.get("insert"):
        rows = f"select * exclude (op, attrs), unnest(attrs) from {src} where op = 'insert'"
        conn.execute(f"insert into {current} by name {rows} and {OPEN} is null")
        conn.execute(f"insert into {closed} by name {rows} and {OPEN} is not null order by {OPEN}")


def insert(
    conn: duckdb.DuckDBPyConnection,
    split_parts: tuple[str, str],
    select: str,
    params: Mapping[str, Any] | None,
) -> None:
    """engine.insert_by_name into the two tables (in the caller's transaction)."""
    closed, current = (quote_ident(p) for p in split_parts)
    conn.execute(f"create or replace temp table __rows as {select}", _bound(select, params))
    conn.execute(f"insert into {current} by name select * from __rows where {OPEN} is null")
    conn.execute(
        f"insert into {closed} by name select * from __rows where {OPEN} is not null "
        f"order by {OPEN}"
    )
    conn.execute("drop table __rows")
