"""Staging: the counted-order rule, SLA targets and survey scales applied once (docs/metrics.md).

All three are views (always current, free to rebuild). A view holds no bound parameters, so the
settings `stg_tickets` needs (SLA hours, the complaint category) are the one-row table
`ticket_settings` that its view reads.
"""

from __future__ import annotations

import duckdb

from loyalty import engine
from loyalty.metric_params import metric_params
from loyalty.settings import Settings
from loyalty.sqlsafe import quote_ident

STAGING = ("stg_orders", "stg_tickets", "stg_surveys")

# view -> the settings table it reads, written first
_SETTINGS_TABLE = {"stg_tickets": "staging/ticket_settings"}


def build_staging(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> None:
    # databases written before every staging model became a view may hold it as a table
    if engine.table_kind(conn, name) == "table":
        conn.execute(f"drop table {quote_ident(name)}")
    if name in _SETTINGS_TABLE:
        engine.create_table(conn, _SETTINGS_TABLE[name], metric_params(settings))
    engine.create_view(conn, f"staging/{name}")
