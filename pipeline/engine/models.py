"""Models and their materialisation: see loyalty.engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

import duckdb

from loyalty.engine import core, state_split
from loyalty.engine.core import (
    _bound,
    _other,
    _used,
    execute_file,
    query_file,
    split_statements,
    sql_text,
    transaction,
)
from loyalty.sqlsafe import quote_ident

# ------------------------------------------------------------------------------------------------
# models and their materialisation


def model_file(model: str) -> str:
    """`sql/<model>.sql`, or `sql/<model>/<table>.sql` for a model in a folder of its own."""
    direct = f"{model}.sql"
    if (core.SQL_DIR / direct).is_file():
        return direct
    in_folder = f"{model}/{table_of(model)}.sql"
    if (core.SQL_DIR / in_folder).is_file():
        return in_folder
    raise FileNotFoundError(f"no model {model!r}: neither sql/{direct} nor sql/{in_folder}")


def table_of(model: str) -> str:
    """The table a model writes: its file (or folder) name."""
    return PurePosixPath(model).name


def model_select(model: str) -> str:
    """The one `select` of a model (materialised by the functions below, never run as written)."""
    stmts = split_statements(sql_text(model_file(model)))
    if len(stmts) != 1:
        raise ValueError(f"model {model!r} holds one select, not {len(stmts)} statements")
    return stmts[0]


def query_model(
    conn: duckdb.DuckDBPyConnection, model: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows of a model's select, as dicts (a check's verdict, a summary)."""
    return query_file(conn, model_file(model), params)


def _run(
    conn: duckdb.DuckDBPyConnection, head: str, model: str, params: Mapping[str, Any] | None
) -> None:
    select = model_select(model)
    conn.execute(f"{head}\n{select}\n", _bound(select, params))


def create_view(conn: duckdb.DuckDBPyConnection, model: str, name: str | None = None) -> None:
    """`create or replace view`: always current, nothing stored. A view keeps no bound values, so
    a view model takes no parameters (settings it needs are a one-row table it reads)."""
    if _used(model_select(model)):
        raise ValueError(f"view model {model!r} uses parameters")
    if other := _other(conn):
        other.create_view(model, name)
        return
    _run(conn, f"create or replace view {quote_ident(name or table_of(model))} as", model, None)


def create_table(
    conn: duckdb.DuckDBPyConnection,
    model: str,
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
    temp: bool = False,
) -> None:
    """`create or replace [temp] table ... as select`: the new table replaces the old one
    atomically, readers never see a half-built table."""
    if other := _other(conn):
        other.create_table(model, params, name, temp)
        return
    kind = "temp table" if temp else "table"
    target = quote_ident(name or table_of(model))
    _run(conn, f"create or replace {kind} {target} as", model, params)


def create_declared(conn: duckdb.DuckDBPyConnection, model: str) -> None:
    """Create the model's table with its declared column types and order, if it does not exist
    (`sql/<model>/schema.sql`; also adds columns that older databases lack)."""
    execute_file(conn, f"{model}/schema.sql")


def insert_by_name(
    conn: duckdb.DuckDBPyConnection,
    model: str,
    params: Mapping[str, Any] | None = None,
    into: str | None = None,
) -> None:
    if other := _other(conn):
        other.insert_by_name(model, params, into)
        return
    table = into or table_of(model)
    if split_parts := state_split.parts(conn, table):
        with transaction(conn):
            state_split.insert(conn, split_parts, model_select(model), params)
        return
    _run(conn, f"insert into {quote_ident(table)} by name", model, params)


def replace_days(
    conn: duckdb.DuckDBPyConnection,
    model: str,
    params: Mapping[str, Any],
    into: str | None = None,
    day_column: str = "as_of",
) -> None:
    """Replace the days `$start_date..$end_date` of a day-partitioned table by the model's rows,
    in one transaction: readers see the old days or the new ones; a re-run replaces exactly them."""
    if other := _other(conn):
        other.replace_days(model, params, into, day_column)
        return
    table = quote_ident(into or table_of(model))
    days = {"start_date": params["start_date"], "end_date": params["end_date"]}
    with transaction(conn):
        day = quote_ident(day_column)
        conn.execute(f"delete from {table} where {day} between $start_date and $end_date", days)
        insert_by_name(conn, model, params, into)


def replace_keys(
    conn: duckdb.DuckDBPyConnection,
    model: str,
    params: Mapping[str, Any],
    key: Sequence[str],
    keep: str,
    into: str | None = None,
) -> None:
    """Incremental build: the rows whose `key` is among the rows of the query model `keep` stay,
    every other row is replaced by the model's rows (which cover the keys not kept), in one
    transaction. The model computes only what changed (a bound parameter such as `$since`)."""
    if other := _other(conn):
        other.replace_keys(model, params, key, keep, into)
        return
    table = into or table_of(model)
    fresh = f"{table}__new"
    cols = ", ".join(quote_ident(k) for k in key)
    kept = model_select(keep)
    with transaction(conn):
        create_table(conn, model, params, name=fresh, temp=True)
        conn.execute(
            f"delete from {quote_ident(table)} where ({cols}) not in "
            f"(select {cols} from (\n{kept}\n))",
            _bound(kept, params),
        )
        conn.execute(f"insert into {quote_ident(table)} by name select * from {quote_ident(fresh)}")
        conn.execute(f"drop table {quote_ident(fresh)}")


def apply_changes(
    conn: duckdb.DuckDBPyConnection, table: str, changes: str, key: Sequence[str]
) -> tuple[int, int]:
    """Write a table stored by change: delete its rows whose `key` is among the rows of the table
    `changes` with op 'delete', then insert the rows with op 'insert' (their columns: the key
    columns, plus the struct `attrs` unpacked), in one transaction. Returns (deleted, inserted)."""
    if other := _other(conn):
        return other.apply_changes(table, changes, key)
    target, source = quote_ident(table), quote_ident(changes)
    cols = ", ".join(quote_ident(k) for k in key)
    counts = dict(conn.execute(f"select op, count(*) from {source} group by op").fetchall())
    if split_parts := state_split.parts(conn, table):
        with transaction(conn):
            state_split.apply(conn, split_parts, changes, key, counts)
        return counts.get("delete", 0), counts.get("insert", 0)
    with transaction(conn):
        if counts.get("delete"):
            conn.execute(
                f"delete from {target} where ({cols}) in "
                f"(select {cols} from {source} where op = 'delete')"
            )
        if counts.get("insert"):
            conn.execute(
                f"insert into {target} by name select * exclude (op, attrs), unnest(attrs) "
                f"from {source} where op = 'insert'"
            )
    return counts.get("delete", 0), counts.get("insert", 0)


class Intermediate:
    """The temp tables of a model built in steps, each named after its file."""

    def __init__(self, conn: duckdb.DuckDBPyConnection):
        self.conn = conn
        self.names: list[str] = []
        self.views: list[str] = []

    def create(
        self, model: str, params: Mapping[str, Any] | None = None, name: str | None = None
    ) -> None:
        """The step's temp table, named after its file (or `name`: one of two ways to make it)."""
        create_table(self.conn, model, params, name=name, temp=True)
        self.names.append(name or table_of(model))

    def view(
        self,
        model: str,
        params: Mapping[str, Any],
        name: str | None = None,
        inline: bool = False,
    ) -> None:
        """The step as a temp view instead of a table: for rows that several steps read a few
        columns of, where writing every column of every row once costs more than each step's
        scan, or a projection of another step. A view keeps no bound values, so its parameters
        are written into it as literals: dates only (`_date_literals`). `inline` is for the Spark
        engine (which otherwise computes a view step once, as a table): the view is left to the
        steps that read it, as here."""
        select = model_select(model)
        view = quote_ident(name or table_of(model))
        self.conn.execute(
            f"create or replace temp view {view} as\n{_date_literals(select, params)}\n"
        )
        self.views.append(name or table_of(model))


@contextmanager
def intermediate(conn: duckdb.DuckDBPyConnection) -> Iterator[Intermediate]:
    """Steps' temp tables, dropped when the block succeeds. On an error they are left to the
    enclosing transaction's rollback (an aborted transaction accepts no further statement)."""
    if other := _other(conn):
        with other.intermediate() as spark_steps:
            yield spark_steps
        return
    steps = Intermediate(conn)
    yield steps
    for name in dict.fromkeys(reversed(steps.names)):
        conn.execute(f"drop table if exists {quote_ident(name)}")
    for name in dict.fromkeys(reversed(steps.views)):
        conn.execute(f"drop view if exists {quote_ident(name)}")


def _date_literals(select: str, params: Mapping[str, Any]) -> str:
    """`select` with each `$name` it uses written as the date literal of its value (a view keeps
    no bound values). Only dates, whose ISO form cannot carry SQL: another type is an error."""
    given = _bound(select, params) or {}
    for name, value in given.items():
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise TypeError(
                f"a view's parameter ${name} must be a date, not {type(value).__name__}"
            )
    return core._PARAM.sub(
        lambda m: f"date '{given[m.group(1)].isoformat()}'" if m.group(1) in given else m.group(0),
        select,
    )
