"""Loading every new file of one kind of export, in one transaction."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import duckdb

from loyalty import engine, validation
from loyalty.contracts import CONTRACTS
from loyalty.ingest.discovery import discover, known_files
from loyalty.ingest.failures import is_spill_full, spill_full
from loyalty.ingest.results import SourceResult
from loyalty.settings import Settings
from loyalty.sqlsafe import checked_tz, quote_ident


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The tables ingest writes (sql/ingest/tables.sql), created if missing."""
    if spark := _spark(conn):
        from loyalty.spark import ingest as spark_ingest

        spark_ingest.ensure_tables(spark.spark, spark.warehouse)
        # the other tables of the file (the Spark ingest numbers its loads without a sequence)
        for stmt in engine.split_statements(engine.sql_text("ingest/tables.sql")):
            if engine.strip_comments(stmt).lstrip().lower().startswith("create table"):
                spark.execute(stmt)
        return
    engine.execute_file(conn, "ingest/tables.sql")


def ingest_source(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    kind: str,
    run_id: str | None = None,
) -> SourceResult:
    """Load every new file of one kind, in one transaction: a crash leaves every table as it was.

    `settings` are the step's (parsed once by the caller); nothing here reads the settings file.
    On the Spark engine, loyalty.spark.ingest loads them (the same steps and accounting)."""
    if spark := _spark(conn):
        from loyalty.spark import ingest as spark_ingest

        return spark_ingest.ingest_source(spark.spark, settings, kind, spark.warehouse, run_id)
    contract = CONTRACTS[kind]
    mapping = settings.sources.get(kind)
    result = SourceResult(kind)
    ensure_tables(conn)
    if mapping is None or not mapping.enabled:
        result.table_rows = _table_rows(conn, kind)
        return result
    units = discover(settings, mapping, known_files(conn, kind))
    if units:
        validation.warm_up()
    # looked up on the package at call time: tests/test_orchestration_crash.py replaces
    # loyalty.ingest._load_unit to stop a load at a known point inside the open transaction
    load_unit = sys.modules[__package__]._load_unit
    source_tz = mapping.reader.timezone or settings.timezone
    conn.execute("begin transaction")
    try:
        _set_time_zone(conn, source_tz)
        for unit in units:
            fr = load_unit(conn, settings, contract, mapping, unit, run_id)
            if fr is not None:
                result.files.append(fr)
        _set_time_zone(conn, settings.timezone)
        conn.execute("commit")
    except BaseException as e:
        # a failed commit has already ended the transaction; anything else is rolled back here
        with contextlib.suppress(duckdb.TransactionException):
            conn.execute("rollback")
        _set_time_zone(conn, settings.timezone)
        if is_spill_full(e):
            raise spill_full(e, settings.temp_path) from None
        raise
    result.table_rows = _table_rows(conn, kind)
    return result


def _spark(conn: duckdb.DuckDBPyConnection) -> Any:
    """The Spark engine's connection (loyalty.spark.connection), None for DuckDB's."""
    return None if isinstance(conn, duckdb.DuckDBPyConnection) else conn


def _set_time_zone(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    # naive timestamps of a source are read in the session zone
    conn.execute(f"set TimeZone = '{checked_tz(name)}'")


def _table_rows(conn: duckdb.DuckDBPyConnection, kind: str) -> int:
    return int(engine.scalar(conn, f"select count(*) from {quote_ident(kind)}"))
