"""The ingest tables (sql/ingest/tables.sql) have exactly the contract columns and types."""

from __future__ import annotations

from loyalty import vocab
from loyalty.contracts import CONTRACTS, ORDERS, TICKETS
from loyalty.engine import connect
from loyalty.ingest import ensure_tables
from loyalty.settings import load_settings
from tests.conftest import write_settings


def test_ingest_tables_follow_the_contracts(tmp_path):
    settings = load_settings(write_settings(tmp_path))
    with connect(settings) as conn:
        ensure_tables(conn)
        for kind, contract in CONTRACTS.items():
            cols = conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = ? order by ordinal_position",
                [kind],
            ).fetchall()
            assert [(n, t.upper()) for n, t in cols] == [
                *((c.name, c.sql_type) for c in contract.columns),
                ("_load_id", "BIGINT"),
                ("_line", "BIGINT"),
            ], kind


def test_allowed_statuses_and_priorities_are_the_vocabulary():
    assert ORDERS.column("status").allowed == vocab.ORDER_STATUSES
    assert TICKETS.column("priority").allowed == vocab.PRIORITIES
    assert ORDERS.column("status").default_sql == f"'{vocab.COUNTED_STATUS}'"
