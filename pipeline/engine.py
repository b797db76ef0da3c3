"""Opening the DuckDB file, and running the SQL files under `sql/`.

Every connection gets the memory limit and spill directory from the settings and is closed in
`finally`: DuckDB allows one read-write process per file, so a connection left open blocks the next
step (and, through the concurrency pool, the whole queue).
"""

from __future__ import annotations

import importlib.resources
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from loyalty.settings import Settings
from loyalty.sqlsafe import checked_tz

SQL_DIR = Path(str(importlib.resources.files("loyalty.sql")))

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@contextmanager
def connect(settings: Settings, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
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
    conn = _open_waiting_for_lock(str(db_path), read_only, config)
    try:
        # the business time zone is the session zone, so casts and date parts agree with "day D"
        # (set after connecting: ICU is loaded lazily and cannot be configured at open time)
        conn.execute(f"set TimeZone = '{checked_tz(settings.timezone)}'")
        yield conn
    finally:
        conn.close()


# DuckDB lets one process open the file read-write; another process (a `loyalty run` from cron next
# to a daemon run, say) gets "Could not set lock". Wait for it, bounded, instead of failing at once.
LOCK_WAIT_SECONDS = float(os.environ.get("LOYALTY_DB_LOCK_WAIT_SECONDS", "600"))


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


_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def memory_limit_bytes(settings: Settings) -> int:
    """`duckdb.memory_limit` in bytes (DuckDB's reading: GB = 10^9, GiB = 2^30)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", settings.duckdb.memory_limit)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"unusable memory limit {settings.duckdb.memory_limit!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@contextmanager
def memory_lent(
    conn: duckdb.DuckDBPyConnection, settings: Settings, share: float
) -> Iterator[None]:
    """Lower DuckDB's memory limit by `share` for the duration (DuckDB evicts cached pages to the
    spill directory to fit), then restore the configured limit: while Python holds data of its own
    (validation batches), the process as a whole stays near the configured limit."""
    lowered = int(memory_limit_bytes(settings) * (1 - share))
    conn.execute(f"set memory_limit = '{lowered}B'")
    try:
        yield
    finally:
        conn.execute(f"set memory_limit = '{memory_limit_bytes(settings)}B'")


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block: committed at its end, rolled back on any error, so that
    readers see everything the block wrote or nothing of it."""
    conn.execute("begin transaction")
    try:
        yield
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise



def sql_text(name: str) -> str:
    """The text of `sql/<name>` (name like 'marts/customer_snapshot.sql')."""
    path = SQL_DIR / name
    return path.read_text(encoding="utf-8")


def split_statements(text: str) -> list[str]:
    """Split a SQL file on semicolons that end a line (our files never put two on one line)."""
    parts = re.split(r";\s*(?:\n|$)", text)
    return [p.strip() for p in parts if p.strip() and not _only_comments(p)]


def _only_comments(stmt: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("--") for ln in stmt.splitlines())


def execute_sql(
    conn: duckdb.DuckDBPyConnection, text: str, params: Mapping[str, Any] | None = None
) -> None:
    """Run every statement of `text`, binding `$name` parameters (never string-formatting values)."""
    params = dict(params or {})
    for stmt in split_statements(text):
        used = set(_PARAM.findall(_strip_comments(stmt)))
        missing = used - set(params)
        if missing:
            raise KeyError(f"SQL parameter(s) {sorted(missing)} not given")
        conn.execute(stmt, {k: params[k] for k in used} if used else None)


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
    stmts = split_statements(text)
    if len(stmts) != 1:
        raise ValueError(f"a query file holds one statement, not {len(stmts)}")
    params = dict(params or {})
    used = set(_PARAM.findall(_strip_comments(stmts[0])))
    missing = used - set(params)
    if missing:
        raise KeyError(f"SQL parameter(s) {sorted(missing)} not given")
    cur = conn.execute(stmts[0], {k: params[k] for k in used} if used else None)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def _strip_comments(stmt: str) -> str:
    return "\n".join(ln.split("--", 1)[0] for ln in stmt.splitlines())


def table_exists(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        scalar(conn, "select count(*) from information_schema.tables where table_name = ?", [name])
    )


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """The single value of a query. (DuckDB 2 refuses further work on a connection while a result
    is only partly fetched, so never use fetchone() on a result you do not drain.)"""
    rows = conn.execute(sql, params).fetchall()
    return rows[0][0] if rows else None
