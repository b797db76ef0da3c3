"""Query mode: a source query that fails, said with the file, the column and the line, never the
value.

A query (`sources.<kind>.query`) is the user's SQL over several files, so a failing cast inside it
(`cast(review_score as integer)` meeting a word) stops it with a DuckDB message that quotes the
value and names neither column nor line. After such a failure (the load is failing: it is rolled
back anyway) the query is probed outside the load's transaction:
- the column: the query's result columns one at a time (`count(<column>)` over the query; DuckDB
  evaluates only that column's expression), the first that fails is named; when counting rows
  alone fails too, the value fails in a join or a filter and no column is named;
- the line: the value DuckDB quoted is looked up, by equality as text, in every column of every file
  the query reads (each file numbered as the loader numbers lines, the header as line 1); the
  first line holding it is named with its file. A value the query changed before casting it is not
  found: then the column is named without a line.
The value itself is only bound as a parameter of those look-ups, never shown or stored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from loyalty.ingest.errors import IngestError
from loyalty.ingest.failures import load_failure
from loyalty.ingest.reader import name_blank_columns, read_csv_call, read_header
from loyalty.sqlsafe import quote_ident

if TYPE_CHECKING:
    from loyalty.ingest.load import Load

_LITERALS = re.compile(r"'((?:[^']|'')*)'|\"((?:[^\"]|\"\")*)\"")
PROBE = "ingest_query_probe"


def query_failure(load: Load, e: duckdb.Error, query: str, params: dict[str, Any]) -> IngestError:
    files = [(_shown(load, p), p) for _, paths in sorted(load.unit.paths.items()) for p in paths]
    plain = load_failure(
        e, load.unit.name, load.settings.temp_path, f"the {load.kind} query", files
    )
    if not isinstance(
        e, duckdb.ConversionException | duckdb.InvalidInputException | duckdb.OutOfRangeException
    ) or "invalid state" in str(e):
        return plain
    conn = load.conn
    conn.execute("rollback")  # the failed statement aborted the load's transaction
    try:
        column = _failing_column(conn, query, params)
        at = _first_line_with(conn, load, params, _quoted(e)) if column else None
    finally:
        conn.execute("begin transaction")  # the caller rolls back the load
    if column is None:
        return plain
    kind = type(e).__name__.removesuffix("Exception").lower()
    where = f"{at[0]}: line {at[1]}: " if at else f"{load.unit.name}: "
    unknown = "" if at else " (its line is not known: the query changes the value before it fails)"
    return IngestError(
        f"{where}the {load.kind} query's column {column!r} fails on a value of the file{unknown} "
        f"({kind} error; the value is not shown, it may be personal data); use try_cast(...) in "
        "the query to quarantine such values instead"
    )


def _shown(load: Load, path: Path) -> str:
    try:
        return str(path.relative_to(load.settings.landing_path))
    except ValueError:
        return path.name


def _fails(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> bool:
    try:
        conn.execute(sql, params).fetchall()
    except duckdb.Error:
        return True
    return False


def _failing_column(
    conn: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]
) -> str | None:
    try:
        columns = [
            d[0] for d in conn.execute(f"select * from ({query}) limit 0", params).description
        ]
    except duckdb.Error:
        return None
    if _fails(conn, f"select count(*) from ({query})", params):
        return None  # the failure is not in a result column (a join or a filter)
    for c in columns:
        if _fails(conn, f"select count({quote_ident(c)}) from ({query})", params):
            return c
    return None


def _quoted(e: duckdb.Error) -> list[str]:
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return [
        single.replace("''", "'") if single or not double else double.replace('""', '"')
        for single, double in _LITERALS.findall(first)
    ]


def _first_line_with(
    conn: duckdb.DuckDBPyConnection, load: Load, params: dict[str, Any], values: list[str]
) -> tuple[str, int] | None:
    """The first (file, line) of the query's files that holds one of `values` in a column."""
    if not values:
        return None
    reader = load.mapping.reader
    first_data_line = reader.skip + (2 if reader.header else 1)
    for i, (_, paths) in enumerate(sorted(load.unit.paths.items())):
        readable = params.get(f"t{i}") or [str(p) for p in paths]
        for original, path in zip(paths, readable, strict=False):
            header = read_header(original, reader)
            if not header:
                continue
            header = name_blank_columns(header)[0]
            call, p = read_csv_call(reader, header, "probe", None)
            p["probe"] = str(path)
            conn.execute(f"create or replace temp table {PROBE} as select * from {call}", p)
            cells = ", ".join(f"trim(cast({quote_ident(h)} as varchar))" for h in header)
            row = conn.execute(
                f"select min(rowid) from {PROBE} where list_has_any([{cells}], $values)",
                {"values": [v.strip() for v in values]},
            ).fetchall()[0][0]
            conn.execute(f"drop table {PROBE}")
            if row is not None:
                return _shown(load, original), first_data_line + int(row)
    return None
