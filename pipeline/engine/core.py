"""Connections, transactions, SQL files and queries: see loyalty.engine."""

from __future__ import annotations

import importlib.resources
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from loyalty import malloc
from loyalty.settings import Settings
from loyalty.sqlsafe import checked_tz, quote_ident

SQL_DIR = Path(str(importlib.resources.files("loyalty.sql")))

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _other(conn: Any) -> Any | None:
    """The connection of another engine (`engine: spark`: loyalty.spark.connection), or None for
    DuckDB's. Each function below hands its work to that connection's method of the same name:
    the callers never ask which engine runs them."""
    return None if isinstance(conn, duckdb.DuckDBPyConnection) else conn


@contextmanager
def connect(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The settings' engine: the DuckDB file (the default), or with `engine: spark` the Spark
    session and warehouse (typed as DuckDB's connection: every function here takes either)."""
    if settings.engine == "spark":
        from loyalty.spark.connection import SparkConnection

        spark_conn = SparkConnection.open(settings)
        try:
            yield spark_conn  # type: ignore[misc]
        finally:
            spark_conn.close()
        return
    held = _HELD.get(str(settings.database_path))
    # inside `held_open` (one `loyalty run`): a new connection to the database already open in
    # this process (read-write: its only opener is this process); otherwise the file itself
    conn = held.cursor() if held is not None else _open(settings, read_only)
    try:
        # the business time zone is the session zone, so casts and date parts agree with "day D"
        # (set after connecting: ICU is loaded lazily and cannot be configured at open time)
        conn.execute(f"set TimeZone = '{checked_tz(settings.timezone)}'")
        # temporary macros: part of the connection, nothing stored in the file (read-only too)
        execute_file(conn, "macros.sql")
        yield conn
    finally:
        conn.close()


# the databases `held_open` keeps open in this process, by file
_HELD: dict[str, duckdb.DuckDBPyConnection] = {}


@contextmanager
def held_open(settings: Settings) -> Iterator[None]:
    """Keep the DuckDB file open in this process for the duration: every `connect` inside it is a
    new connection to the open database instead of opening the file again (12 ms), replaying its
    log and checkpointing it on close. For one process that runs steps one after another (`loyalty
    run`: Dagster's in-process executor). Another process waits for the file until the block ends,
    as it waits for any step; the block closes the file in `finally`. Nothing for Spark."""
    if settings.engine == "spark" or str(settings.database_path) in _HELD:
        yield
        return
    key = str(settings.database_path)
    _HELD[key] = _open(settings, read_only=False)
    try:
        yield
    finally:
        _HELD.pop(key).close()


# DuckDB lets one process open the file read-write; another process (a `loyalty run` from cron next
# to a daemon run, say) gets "Could not set lock". Wait for it, bounded, instead of failing at once.
LOCK_WAIT_SECONDS = float(os.environ.get("LOYALTY_DB_LOCK_WAIT_SECONDS", "600"))


def _open(settings: Settings, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The DuckDB file with the settings' memory limit, spill directory and threads."""
    malloc.keep_freed_memory()  # once per process, before DuckDB's first allocation
    db_path = settings.database_path
    db_path.parent.mkdir(parents=True, exist_ok=True)
    temp = settings.temp_path
    temp.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "memory_limit": settings.duckdb.memory_limit,
        "temp_directory": str(temp),
    }
    if settings.duckdb.threads:
        config["threads"] = settings.duckdb.threads
    return _open_waiting_for_lock(str(db_path), read_only, config)


def _open_waiting_for_lock(path: str, read_only: bool, config: dict) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.2
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def memory_limit_bytes(settings: Settings) -> int:
    """`duckdb.memory_limit` in bytes (DuckDB's reading: GB = 10^9, GiB = 2^30)."""
    return settings.duckdb.memory_limit_bytes


@contextmanager
def memory_lent(
    conn: duckdb.DuckDBPyConnection, settings: Settings, share: float
) -> Iterator[None]:
    """Lower DuckDB's memory limit by `share` for the duration (DuckDB evicts cached pages to the
    spill directory to fit), then restore the configured limit: while Python holds data of its own
    (validation batches), the process as a whole stays near the configured limit."""
    if _other(conn):
        yield
        return
    lowered = int(memory_limit_bytes(settings) * (1 - share))
    conn.execute(f"set memory_limit = '{lowered}B'")
    try:
        yield
    finally:
        conn.execute(f"set memory_limit = '{memory_limit_bytes(settings)}B'")


# connections inside a `transaction` block: an inner block joins the outer one (DuckDB has no
# nested transactions), so a materialisation that is atomic on its own can also be one part of a
# larger unit (a snapshot's days and the thresholds stored with them)
_IN_TRANSACTION: set[int] = set()


def in_transaction(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether a `transaction` block is open on this connection."""
    if other := _other(conn):
        return other.in_transaction()
    return id(conn) in _IN_TRANSACTION


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block: committed at its end, rolled back on any error, so that
    readers see everything the block wrote or nothing of it. Inside another `transaction` block on
    the same connection it is part of that one."""
    if other := _other(conn):
        with other.transaction():
            yield
        return
    if id(conn) in _IN_TRANSACTION:
        yield
        return
    conn.execute("begin transaction")
    _IN_TRANSACTION.add(id(conn))
    try:
        yield
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        _IN_TRANSACTION.discard(id(conn))


# ------------------------------------------------------------------------------------------------
# SQL files and bound parameters


def sql_text(name: str) -> str:
    """The text of `sql/<name>` (name like 'marts/report_periods.sql')."""
    path = SQL_DIR / name
    return path.read_text(encoding="utf-8")


def split_statements(text: str) -> list[str]:
    """Split a SQL file on semicolons that end a line (our files never put two on one line)."""
    parts = re.split(r";\s*(?:\n|$)", text)
    return [p.strip() for p in parts if p.strip() and not _only_comments(p)]


def _only_comments(stmt: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("--") for ln in stmt.splitlines())


def strip_comments(stmt: str) -> str:
    return "\n".join(ln.split("--", 1)[0] for ln in stmt.splitlines())


def _used(stmt: str) -> set[str]:
    return set(_PARAM.findall(strip_comments(stmt)))


def _bound(stmt: str, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The `$name` parameters `stmt` uses, taken from `params` (extra keys are ignored, a missing
    one is an error): values are always bound, never formatted into SQL."""
    used = _used(stmt)
    given = params or {}
    missing = used - set(given)
    if missing:
        raise KeyError(f"SQL parameter(s) {sorted(missing)} not given")
    return {k: given[k] for k in used} if used else None


def execute_sql(
    conn: duckdb.DuckDBPyConnection, text: str, params: Mapping[str, Any] | None = None
) -> None:
    """Run every statement of `text`, binding `$name` parameters (never formatting values in)."""
    if other := _other(conn):
        other.execute_sql(text, params)
        return
    for stmt in split_statements(text):
        conn.execute(stmt, _bound(stmt, params))


def execute_file(
    conn: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> None:
    execute_sql(conn, sql_text(name), params)


def query_file(
    conn: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows of the one `select` in `sql/<name>`, as dicts, binding only the `$name` parameters
    the query uses (a report query names what it needs; extra keys are ignored)."""
    return query_sql(conn, sql_text(name), params)


def query_sql(
    conn: duckdb.DuckDBPyConnection, text: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    if other := _other(conn):
        return other.query_sql(text, params)
    stmts = split_statements(text)
    if len(stmts) != 1:
        raise ValueError(f"a query file holds one statement, not {len(stmts)}")
    cur = conn.execute(stmts[0], _bound(stmts[0], params))
    cols = [d[0] for d in cur.description or ()]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def table_exists(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    if other := _other(conn):
        return other.table_exists(name)
    return table_kind(conn, name) is not None


def copy_csv(
    conn: duckdb.DuckDBPyConnection,
    query: str,
    params: Mapping[str, Any] | None,
    path: Path | str,
    quoted: tuple[str, ...] = ("customer_id",),
) -> None:
    """Every row of `query` written to `path` as CSV with a header, the `quoted` columns always in
    quotes (an identifier stays text in a spreadsheet). The path is not a bindable parameter of
    COPY: it is quoted as a SQL string literal."""
    if other := _other(conn):
        other.copy_csv(query, params, path, quoted)
        return
    target = "'" + str(path).replace("'", "''") + "'"
    force = ", ".join(quote_ident(c) for c in quoted)
    conn.execute(
        f"copy (\n{query}\n) to {target} (format csv, header, force_quote ({force}))",
        _bound(query, params),
    )


def copy_csv_parts(
    conn: duckdb.DuckDBPyConnection,
    query: str,
    params: Mapping[str, Any] | None,
    column: str,
    parts: Sequence[tuple[Path | str, Sequence[Any]]],
    quoted: tuple[str, ...] = ("customer_id",),
) -> None:
    """For each (path, values) of `parts`: the rows of `query` whose `column` is one of `values`,
    in the query's order, written as `copy_csv` writes them; the query runs once. DuckDB keeps its
    rows in a temporary table (in their order: a table is read in the order it was written) and
    writes each file from it; a segment's file and the whole base's then cost one sort of the
    base, not one each."""
    if not parts:
        return
    if other := _other(conn):
        other.copy_csv_parts(query, params, column, parts, quoted)
        return
    table = "_csv_parts"
    conn.execute(
        f"create or replace temp table {table} as select * from (\n{query}\n)",
        _bound(query, params),
    )
    try:
        for path, values in parts:
            copy_csv(
                conn,
                f"select * from {table} where list_contains($part_values, {quote_ident(column)})",
                {"part_values": list(values)},
                path,
                quoted,
            )
    finally:
        conn.execute(f"drop table if exists {table}")


def table_kind(conn: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """'table' or 'view' (None: neither), in any schema, temporary ones included, a registered
    Arrow table or data frame a view (as duckdb_views() lists them). The catalog functions cost
    about 1.3 ms a call whatever the name (they size every table), and a first run at CDNOW size
    asks some 300 times, a night at 10 M orders about 100: a plain name that resolves as a query
    would resolve it (`_resolved`, about 0.15 ms) is answered from that; anything else (a missing
    name, a view whose tables are gone, a quoted or dotted name) from the catalog functions."""
    if other := _other(conn):
        return other.table_kind(name)
    if _PLAIN.fullmatch(name):
        try:
            kind = _resolved(conn, name)
        except (duckdb.CatalogException, duckdb.InvalidInputException):
            pass
        else:
            return "table" if kind == "TABLE_RELATION" else "view"
    return scalar(conn, _KIND, [name])


def _resolved(conn: duckdb.DuckDBPyConnection, name: str) -> str:
    """The relation type of `name` as a query resolves it. A name missing from the catalog is
    looked for among the calling frame's Python variables (DuckDB's replacement scans): this
    frame holds only `conn` and `name`, which DuckDB refuses (InvalidInputException)."""
    return conn.table(name).type


_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
_KIND = (
    "select 'table' from duckdb_tables() where table_name = $1 union all "
    "select 'view' from duckdb_views() where view_name = $1 and not internal"
)


def columns(conn: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The columns of a table or view, in order ([] when there is none)."""
    if other := _other(conn):
        return other.columns(name)
    rows = conn.execute(
        "select column_name from information_schema.columns where table_name = ? "
        "order by ordinal_position",
        [name],
    ).fetchall()
    return [r[0] for r in rows]


def column_types(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(column, DuckDB's type name) of a table or view, in order."""
    if other := _other(conn):
        return other.column_types(table)
    return [(r[0], r[1]) for r in conn.execute(f"describe select * from {table}").fetchall()]


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """The single value of a query. (DuckDB 2 refuses further work on a connection while a result
    is only partly fetched, so never use fetchone() on a result you do not drain.)"""
    rows = conn.execute(sql, params).fetchall()
    return rows[0][0] if rows else None
