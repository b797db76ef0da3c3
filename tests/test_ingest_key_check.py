"""The ingest's key check (loyalty.ingest.checks.check_keys) verifies only the rows loaded after its
last pass, against every stored row: a key loaded again in a later load is found whether it is the
least, the greatest or in between the new keys (their range bounds the scan)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.ingest.checks import check_keys
from loyalty.settings import load_settings
from tests.conftest import write_settings

HEADER = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"


def _orders(ids: list[str]) -> str:
    return HEADER + "".join(f"{i},C1,2024-01-01 10:00:00,10.00,completed,0,web\n" for i in ids)


@pytest.mark.parametrize("again", ["O2", "O5", "O8"], ids=["least", "between", "greatest"])
def test_a_key_stored_twice_by_a_later_load_is_found(tmp_path: Path, again: str) -> None:
    settings = load_settings(write_settings(tmp_path))
    (tmp_path / "landing" / "orders_1.csv").write_text(_orders(["O1", "O5", "O9"]), "utf-8")
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        first = check_keys(conn, "orders")
        assert first.passed and first.verified_before == 0
        (tmp_path / "landing" / "orders_2.csv").write_text(_orders(["O2", "O3", "O8"]), "utf-8")
        ingest_source(conn, settings, "orders")
        # a key stored twice, written behind the ingest's back (the ingest itself replaces a key's
        # old row): the least or greatest of the night's keys also stored by the first load, or a
        # key of the first load (between them) stored again by the night's load
        if again == "O5":
            sql = "select * replace ('O5' as order_id) from orders where order_id = 'O3'"
        else:
            sql = (
                f"select * replace ('{again}' as order_id, 1 as _load_id) from orders "
                "where order_id = 'O1'"
            )
        conn.execute(f"insert into orders by name {sql}")
        second = check_keys(conn, "orders")
    assert second.verified_before > 0
    assert second.duplicate_keys == 1 and not second.passed


def test_new_keys_that_repeat_no_stored_key_pass(tmp_path: Path) -> None:
    settings = load_settings(write_settings(tmp_path))
    (tmp_path / "landing" / "orders_1.csv").write_text(_orders(["O1", "O5", "O9"]), "utf-8")
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        assert check_keys(conn, "orders").passed
        (tmp_path / "landing" / "orders_2.csv").write_text(_orders(["O2", "O3", "O8"]), "utf-8")
        ingest_source(conn, settings, "orders")
        second = check_keys(conn, "orders")
    assert second.passed and second.rows_checked == 3
