"""The mapped select: the contract columns computed from an export by its source mapping.

In glob mode the mapping's column expressions (or same-named columns of the header) are applied
to one file's rows; in query mode the mapping's query joins read_csv calls over its tables. Either
way the result has `_line` (where a record came from) and `_line_count` (input records behind a
row: lines of an order for line-level sources).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from loyalty import engine
from loyalty.contracts import Contract
from loyalty.ingest.blanklines import blank_lines
from loyalty.ingest.discovery import Unit
from loyalty.ingest.errors import IngestError
from loyalty.ingest.reader import check_header, name_blank_columns, read_csv_call, read_header
from loyalty.ingest.worktables import RAW, RAW_LINES
from loyalty.settings import ReaderOptions, SourceMapping
from loyalty.sqlsafe import quote_ident

_MISSING_COL = re.compile(r'Referenced column "([^"]+)" not found', re.I)


def line_numbered_source(
    conn: duckdb.DuckDBPyConnection,
    first_data_line: int,
    path: Path,
    reader: ReaderOptions,
    columns: int,
) -> str:
    """Give every accepted record of the file at `path` (as DuckDB read it: UTF-8; `columns`
    columns) its line number: the CSV record number with the header as line 1 (the physical line,
    unless a quoted value spans lines), as DuckDB numbers rejected lines, a blank line counting one.
    Returns the accepted rows with `_line`, as a subquery.

    DuckDB keeps file order in the temp table (rowid) but does not report line numbers of accepted
    rows; we step over the lines the reader rejected, whose numbers it does report, and over the
    blank lines it skipped, which blanklines.blank_lines finds. Without either (the usual case)
    the number follows from the rowid alone; otherwise an ASOF join
    (sql/ingest/line_numbers.sql) adds, to each row, how many such lines came before it."""
    blank = pa.table({"line": blank_lines(path, reader, first_data_line, columns)})
    conn.register("blank_line_numbers", blank)
    try:
        engine.execute_file(conn, "ingest/blank_lines.sql")
    finally:
        conn.unregister("blank_line_numbers")
    if not engine.query_file(conn, "ingest/rejects_count.sql")[0]["rejects"] and not blank.num_rows:
        base = f"{int(first_data_line)} + r.rowid - (select min(rowid) from {RAW})"
        return f"(select r.*, {base} as _line from {RAW} r) as src"
    engine.execute_file(conn, "ingest/line_numbers.sql", {"first_data_line": first_data_line})
    return f"(select r.*, l._line from {RAW} r join {RAW_LINES} l on l._rid = r.rowid) as src"


def _source_expr(mapping: SourceMapping, header: list[str], col: str) -> str | None:
    if col in mapping.columns:
        return mapping.columns[col]
    by_lower = {h.lower(): h for h in header}
    if col.lower() in by_lower:
        return quote_ident(by_lower[col.lower()])
    return None


def column_exprs(contract: Contract, mapping: SourceMapping, header: list[str]) -> dict[str, str]:
    """The source expression of every contract column the file gives."""
    exprs = {c.name: _source_expr(mapping, header, c.name) for c in contract.columns}
    return {k: v for k, v in exprs.items() if v is not None}


def failure_probes(
    contract: Contract, mapping: SourceMapping, header: list[str], src: str
) -> dict[str, str]:
    """Per contract column, the query that finds where its mapping fails on a value (only run
    after the mapping failed; see failures.mapping_failure): line by line, the first line whose
    value the expression fails on under try() (NULL: none); aggregated, try() cannot hold an
    aggregate, so the column's expression evaluated alone, which raises when it fails."""
    where = f"where ({mapping.filter})" if mapping.filter else ""
    group = f"group by ({mapping.aggregate_by})" if mapping.aggregate_by else ""
    probes = {}
    for col, expr in column_exprs(contract, mapping, header).items():
        if group:
            probes[col] = (
                f"select count(_v) from (select ({expr}) as _v from {src} {where} {group})"
            )
        else:
            probes[col] = (
                f"select min(_line) from {src} {where} "
                f"{'and' if where else 'where'} try(({expr}) is null) is null"
            )
    return probes


def mapped_select_glob(
    contract: Contract, mapping: SourceMapping, header: list[str], src: str, file_name: str
) -> str:
    """Glob mode: the mapping's expressions over one file's line-numbered rows `src`."""
    exprs = []
    missing_required = []
    for c in contract.columns:
        e = _source_expr(mapping, header, c.name)
        if e is None:
            if c.required:
                missing_required.append(c.name)
            e = "null"
        exprs.append(f"({e}) as {quote_ident(c.name)}")
    if missing_required:
        col = missing_required[0]
        raise IngestError(
            f"{file_name}: required column {col!r} is missing: the header has {header} and the "
            f"{contract.kind} mapping gives no expression for it (add sources.{contract.kind}.columns.{col})"
        )
    where = f"where ({mapping.filter})" if mapping.filter else ""
    if mapping.aggregate_by:
        return (
            f"select min(_line) as _line, count(*) as _line_count, {', '.join(exprs)} "
            f"from {src} {where} group by ({mapping.aggregate_by})"
        )
    return f"select _line, 1 as _line_count, {', '.join(exprs)} from {src} {where}"


def mapped_select_query(
    contract: Contract,
    mapping: SourceMapping,
    unit: Unit,
    readable: Callable[[Path], Path] = lambda p: p,
) -> tuple[str, dict[str, Any]]:
    """Query mode: `{alias}` in the query becomes a read_csv over that alias's files (each as
    `readable` gives it: transcoded to UTF-8 when needed)."""
    reader = mapping.reader
    params: dict[str, Any] = {}
    query = mapping.query or ""
    for i, (alias, paths) in enumerate(sorted(unit.paths.items())):
        headers = [_named(read_header(p, reader)) for p in paths]
        header = next((h for h in headers if h), None)
        if header is None:
            raise IngestError(f"{', '.join(map(str, paths))}: empty file(s) for table {alias!r}")
        for p, h in zip(paths, headers, strict=True):
            check_header(str(p.name), h or [])
            if h != header:
                raise IngestError(
                    f"{p.name}: header {h} differs from {paths[0].name}'s {header} (table {alias!r})"
                )
        call, p_params = read_csv_call(reader, header, f"t{i}", None)
        p_params[f"t{i}"] = [str(readable(p)) for p in paths]
        params.update(p_params)
        query = query.replace("{" + alias + "}", call)
    leftover = re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", query)
    if leftover:
        raise IngestError(f"the {contract.kind} query names unknown table(s) {leftover}")
    return query, params


def _named(header: list[str] | None) -> list[str] | None:
    return None if header is None else name_blank_columns(header)[0]


def mapped_select_query_result(
    conn: duckdb.DuckDBPyConnection, contract: Contract, mapping: SourceMapping, file_name: str
) -> str:
    """Query mode, second step: the contract columns over the query's result, stored in RAW."""
    have = [r[0] for r in conn.execute(f"select column_name from (describe {RAW})").fetchall()]
    missing = [c.name for c in contract.columns if c.required and c.name not in have]
    if missing:
        raise IngestError(
            f"{file_name}: the {contract.kind} query does not select required column(s) {missing}"
        )
    exprs = [
        f"{quote_ident(c.name) if c.name in have else 'null'} as {quote_ident(c.name)}"
        for c in contract.columns
    ]
    where = f"where ({mapping.filter})" if mapping.filter else ""
    return f"select _line, 1 as _line_count, {', '.join(exprs)} from {RAW} {where}"


def first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0]


def binder_to_ingest_error(
    e: duckdb.Error, file_name: str, header: list[str] | None, mapping: SourceMapping
) -> IngestError:
    """A mapping that names a column the file does not have, said in the user's words."""
    m = _MISSING_COL.search(str(e))
    if m:
        col = m.group(1)
        uses = [c for c, expr in mapping.columns.items() if col.lower() in expr.lower()]
        used_by = f" (used by the mapping of {', '.join(uses)})" if uses else ""
        have = f"; the header has {header}" if header else ""
        return IngestError(f"{file_name}: column {col!r} not found{used_by}{have}")
    return IngestError(f"{file_name}: the mapping does not fit this file: {first_line(e)}")
