"""Casting the mapped values to the contract types, in SQL.

A value that does not cast becomes NULL and its column is named in `_parse_error`, which the
pandera schema reports as `bad_type`. Timestamps are read in the source's zone (the session zone
while ingest runs) and stored as wall-clock time in the business zone.
"""

from __future__ import annotations

from typing import Any

from loyalty.contracts import Contract, ContractColumn
from loyalty.ingest.worktables import MAPPED, TYPED
from loyalty.sqlsafe import quote_ident


def create_typed_sql(
    contract: Contract,
    mapped_types: dict[str, str],
    timestamp_format: str | None,
    business_tz: str,
) -> tuple[str, dict[str, Any]]:
    """The statement that creates TYPED from MAPPED, and its parameters. `mapped_types` are the
    DuckDB types of the mapped columns: text is parsed, typed values are cast."""
    typed_exprs = []
    bad_exprs = []
    for c in contract.columns:
        t = _typed_expr(c, mapped_types.get(c.name), timestamp_format)
        bad_exprs.append(_bad_type_expr(c.name, t))
        if c.default_sql is not None:
            t = f"coalesce({t}, case when {_text(c.name)} is null then {c.default_sql} end)"
        typed_exprs.append(f"{t} as {quote_ident(c.name)}")
    params: dict[str, Any] = {"business_tz": business_tz}
    if timestamp_format:
        params["ts_format"] = timestamp_format
    sql = f"""create temp table {TYPED} as
            select m._line as _row, m._line, m._line_count,
                   {", ".join(typed_exprs)},
                   nullif(concat_ws('; ', {", ".join(bad_exprs)}), '') as _parse_error
            from {MAPPED} m"""
    used = {k: v for k, v in params.items() if f"${k}" in " ".join(typed_exprs)}
    return sql, used


def _mapped(col_name: str) -> str:
    return f"m.{quote_ident(col_name)}"


def _text(col_name: str) -> str:
    """The mapped value as trimmed text; NULL when empty."""
    return f"nullif(trim(cast({_mapped(col_name)} as varchar)), '')"


def _typed_expr(c: ContractColumn, mapped_type: str | None, timestamp_format: str | None) -> str:
    """SQL that casts a mapped value (alias `m.<col>`) to its contract type; NULL when it fails."""
    m = _mapped(c.name)
    text = _text(c.name)
    if c.sql_type == "VARCHAR":
        # enums and ticket categories compare lower-cased
        return f"lower({text})" if c.allowed or c.name == "category" else text
    if c.sql_type == "TIMESTAMP":
        if mapped_type == "VARCHAR":
            parsed = (
                f"try_strptime({text}, $ts_format)"
                if timestamp_format
                else f"try_cast({text} as timestamptz)"
            )
        else:
            parsed = m
        # naive values are read in the source's zone (the session zone during ingest), then
        # expressed as wall-clock time in the business zone
        return f"timezone($business_tz, try_cast({parsed} as timestamptz))"
    return f"try_cast({text if mapped_type == 'VARCHAR' else m} as {c.sql_type})"


def _bad_type_expr(col_name: str, typed: str) -> str:
    return (
        f"case when {_text(col_name)} is not null and ({typed}) is null "
        f"then 'bad_type:{col_name}' end"
    )
