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
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from loyalty.engine.core import _bound, scalar, table_exists, table_kind
from loyalty.sqlsafe import quote_ident

OPEN = "valid_to"  # null: the row is current
_TYPE = re.compile(r"[A-Z][A-Z0-9_]*(\(\d+(, ?\d+)?\))?")  # a column's type, as DuckDB names it
SPLIT_TABLES = ("customer_state",)


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
