"""What every asset reports about the table it wrote: row count and a per-column profile.

Dagster keeps metadata in its run and event storage, which is neither access-controlled like the
database nor deleted with it. So a preview never holds a row: it holds one line per column with
aggregates only (type, filled and distinct counts, and for numbers and dates their range). Text
columns show no value at all (no customer id, no email, no survey comment), and no `*_id` column
shows its range.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb

from loyalty import engine
from loyalty.sqlsafe import quote_ident

RANGED_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "REAL")
RANGED_PREFIXES = ("DECIMAL", "DATE", "TIMESTAMP", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT")


def _ranged(name: str, type_: str) -> bool:
    """Whether a column's min and max may be shown: numbers and dates, never an identifier."""
    if name.lower().endswith("_id") or name.lower() == "id":
        return False
    return type_ in RANGED_TYPES or type_.startswith(RANGED_PREFIXES) or type_ == "BOOLEAN"


def _profile(
    conn: duckdb.DuckDBPyConnection, table: str, where: str, params: Any
) -> tuple[int, str]:
    """The row count and the column profile of the rows of `table` selected by `where`, in one
    query (on Spark each query is a job: the count alone cost 0.2 s an asset)."""
    columns = engine.column_types(conn, table)
    parts = ["count(*)"]
    for name, type_, *_ in columns:
        col = quote_ident(name)
        parts.append(f"count({col})")
        parts.append(f"approx_count_distinct({col})")
        if _ranged(name, type_):
            parts.append(f"min({col})::varchar")
            parts.append(f"max({col})::varchar")
        else:
            parts.append("null")
            parts.append("null")
    rows = conn.execute(f"select {', '.join(parts)} from {table} where {where}", params).fetchall()
    count, *values = rows[0]
    if not columns:
        return int(count), "no columns"
    lines = [
        "| column | type | filled | distinct (approx.) | min | max |",
        "|---|---|---:|---:|---|---|",
    ]
    for i, (name, type_, *_) in enumerate(columns):
        filled, distinct, lo, hi = values[4 * i : 4 * i + 4]
        lines.append(
            f"| {name} | {type_} | {filled} | {distinct} | {'' if lo is None else lo} | "
            f"{'' if hi is None else hi} |"
        )
    return int(count), "\n".join(lines)


def column_profile(
    conn: duckdb.DuckDBPyConnection, table: str, where: str = "true", params: Any = None
) -> str:
    """A markdown table, one line per column of `table`: aggregates only, never a value of a text
    column (table names and filters are ours, never input; values are bound)."""
    return _profile(conn, table, where, params)[1]


def preview_metadata(
    conn: duckdb.DuckDBPyConnection, table: str, where: str = "true", params: Any = None
) -> dict[str, Any]:
    """Row count and the column profile of `table` (rows selected by `where`)."""
    count, profile = _profile(conn, table, where, params)
    return {
        "dagster/row_count": dg.MetadataValue.int(count),
        "preview": dg.MetadataValue.md(profile),
    }


def loaded_since_metadata(
    context: dg.AssetExecutionContext, conn: duckdb.DuckDBPyConnection, table: str
) -> dict[str, Any]:
    """Row count of `table` (a contract table or a staging view: both carry `_load_id`) and the
    column profile of the rows loaded since the asset's previous materialisation, not of every
    row: a night describes what it brought, at the cost of that night's rows. The first
    materialisation (or one whose predecessor did not record `loads_through`) profiles them all."""
    before = context.instance.get_latest_materialization_event(context.asset_key)
    previous = before.asset_materialization.metadata.get("loads_through") if before else None
    since = int(getattr(previous, "value", previous) or 0)
    count, newest, new_rows = conn.execute(
        f"select count(*), coalesce(max(_load_id), 0), count(*) filter (where _load_id > $since) "
        f"from {table}",
        {"since": since},
    ).fetchall()[0]
    loads = f"loads {since + 1} to {newest}" if since else f"every load up to {newest}"
    return {
        "dagster/row_count": dg.MetadataValue.int(int(count)),
        "loads_through": dg.MetadataValue.int(int(newest)),
        "preview_of": dg.MetadataValue.text(
            f"the {new_rows:,} row{'s' if new_rows != 1 else ''} loaded since the previous "
            f"build ({loads})"
            if new_rows
            else "no rows loaded since the previous build"
        ),
        "preview": dg.MetadataValue.md(
            column_profile(conn, table, "_load_id > $since", {"since": since})
        ),
    }


# DuckDB's errors about data quote the value ("Could not convert string 'x@example.com' to
# INT32", "Duplicate key \"customer_id: C1\""), and Dagster stores a step's error in its run
# storage: these classes are re-raised without their message, naming the step instead.
DATA_ERRORS = (duckdb.ConversionException, duckdb.ConstraintException, duckdb.InvalidInputException)


def _spark_data_errors() -> tuple[type[Exception], ...]:
    """Spark's errors about a value (a cast, a number, a date): they quote it, as DuckDB's do.
    Only when pyspark is loaded (engine: spark): nothing imports it for DuckDB."""
    if "pyspark" not in sys.modules:
        return ()
    from pyspark import errors

    return (
        errors.NumberFormatException,
        errors.ArithmeticException,
        errors.DateTimeException,
        errors.SparkRuntimeException,
    )


@contextmanager
def data_errors_hidden(what: str) -> Iterator[None]:
    """Re-raise a DuckDB error about a value as a `dagster.Failure` that names `what` and the kind
    of error, not the value; other errors (a lock, a missing table) pass unchanged."""
    hidden: tuple[type[Exception], ...] = (*DATA_ERRORS, *_spark_data_errors())
    try:
        yield
    except hidden as e:
        raise dg.Failure(
            description=f"{what}: {type(e).__name__} on a value of the data (the message is not "
            "kept: it quotes the value, which may be personal data; re-run the step with the "
            "database at hand to see it)",
            allow_retries=False,
        ) from None


def own_check(
    context: dg.AssetExecutionContext, table: str, check: str, run: Callable[[], Any]
) -> list[dg.AssetCheckResult]:
    """An asset's own blocking check, run in the asset's step on its open connection right after
    the write (a check step of its own opened a second connection and cost a Dagster step: 0.2-0.3
    s a night at 10 M orders). `run` returns a verdict with `passed` and `metadata` (counts only);
    nothing when the run did not select the check. A failed blocking check fails the step after the
    materialisation is recorded, and Dagster skips what is downstream, as with a check step."""
    if dg.AssetCheckKey(dg.AssetKey(table), check) not in context.selected_asset_check_keys:
        return []
    started = time.perf_counter()
    outcome = run()
    seconds = round(time.perf_counter() - started, 3)
    return [
        dg.AssetCheckResult(
            asset_key=table,
            check_name=check,
            passed=outcome.passed,
            metadata={**outcome.metadata, "check_seconds": seconds},
        )
    ]
