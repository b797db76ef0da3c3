"""Field-level rules applied to the typed rows of a unit before they are validated.

- too long: a text value longer than `ingest.max_field_chars` characters quarantines its record
  with reason `too_long` (the column named; the record is stored with every value cut to the
  limit), instead of a multi-megabyte value stopping or bloating the load;
- optional scores out of range (a survey's CSAT or CES, `ContractColumn.out_of_range_to_null`):
  the value becomes NULL and the response keeps its other scores; the count, per column, with the
  first lines, goes to ingest_log.note. The record itself is not quarantined.
"""

from __future__ import annotations

from typing import Any

import duckdb

from loyalty.contracts import Contract, ContractColumn
from loyalty.ingest.textfiles import NOTE_LINES
from loyalty.ingest.worktables import BAD, TYPED
from loyalty.sqlsafe import quote_ident

# the reason of a too_long row, over the columns of too_long_select
TOO_LONG_REASON = (
    "column_name || ' is ' || chars || ' characters long, more than ' "
    "|| 'ingest.max_field_chars (' || $max || ')'"
)


def too_long_select(contract: Contract) -> str | None:
    """The rows of TYPED with a text value over `$max` characters: `_row`, the first such column
    (`column_name`) and the longest text value's length (`chars`); None without text columns."""
    texts = [c.name for c in contract.columns if c.sql_type == "VARCHAR"]
    if not texts:
        return None
    first_long = (
        "coalesce("
        + ", ".join(f"case when length({quote_ident(c)}) > $max then '{c}' end" for c in texts)
        + ")"
    )
    longest = "greatest(" + ", ".join(f"coalesce(length({quote_ident(c)}), 0)" for c in texts) + ")"
    return (
        f"select _row, {first_long} as column_name, {longest} as chars "
        f"from {TYPED} where {first_long} is not null"
    )


def mark_too_long(conn: duckdb.DuckDBPyConnection, contract: Contract, max_chars: int) -> None:
    """Rows with a text value over the limit become BAD with reason too_long (replacing any other
    reason found for them: the value is too long to be judged)."""
    select = too_long_select(contract)
    if select is None:
        return
    conn.execute(f"create or replace temp table ingest_too_long as {select}", {"max": max_chars})
    conn.execute(f"delete from {BAD} where _row in (select _row from ingest_too_long)")
    conn.execute(
        f"""insert into {BAD}
            select _row, 'too_long', column_name, {TOO_LONG_REASON}
            from ingest_too_long""",
        {"max": max_chars},
    )
    conn.execute("drop table ingest_too_long")


def null_optional_scores(conn: duckdb.DuckDBPyConnection, contract: Contract) -> list[str]:
    """Optional scores out of their range become NULL; returns the notes (one per column)."""
    notes = []
    for c in contract.columns:
        if not c.out_of_range_to_null:
            continue
        col = quote_ident(c.name)
        params: dict[str, Any] = {"lo": c.min_value, "hi": c.max_value}
        outside = f"{col} is not null and ({col} < $lo or {col} > $hi)"
        n, lines = conn.execute(
            f"select count(*), list(_line order by _line)[1:{NOTE_LINES}] "
            f"from {TYPED} where {outside}",
            params,
        ).fetchall()[0]
        if not n:
            continue
        conn.execute(f"update {TYPED} set {col} = null where {outside}", params)
        notes.append(out_of_range_note(c, n, lines))
    return notes


def out_of_range_note(c: ContractColumn, n: int, lines: list[int]) -> str:
    """The ingest_log note of an optional score set to NULL on `n` rows (`lines`: the first ones)."""
    more = ", …" if n > len(lines) else ""
    return (
        f"{c.name} outside {c.min_value:g}–{c.max_value:g} on {n} row(s), set to NULL, the rest "
        f"of the row kept (line {', '.join(map(str, lines))}{more})"
    )
