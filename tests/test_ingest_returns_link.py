"""A return linked to the order it returns (orders.original_order_id), on a hand-made fixture.

The link is kept when it names a known order (loaded before, or in the same file); a return whose
original order is unknown, or that names none, is still loaded and still lowers its customer's
spend, and is counted as `return_unlinked` in the file's ingest_log note with its lines. A source
that does not give the column links nothing and notes nothing (UCI Online Retail's credit notes do
not name their invoice)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.marts.staging import STAGING, build_staging
from loyalty.settings import load_settings
from tests.conftest import write_settings

HEADER = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel,returns_invoice\n"
# line 1 is the header
FIRST = [
    "A1,x,2024-03-01 10:00:00,100.00,completed,0,web,",  # line 2
    "A2,x,2024-03-05 10:00:00,50.00,completed,0,web,",  # line 3
    "R1,x,2024-03-08 10:00:00,-30.00,returned,0,web,A1",  # 4: A1 is known (same file): linked
    "R2,y,2024-03-09 10:00:00,20.00,returned,0,web,ZZ9",  # 5: no order ZZ9: unlinked
    "R3,x,2024-03-10 10:00:00,-5.00,returned,0,web,",  # 6: names no order: unlinked
    "A3,y,2024-03-02 10:00:00,40.00,completed,0,web,A1",  # 7: not a return: link not kept
    "R4,y,2024-03-11 10:00:00,-10.00,returned,0,web,R1",  # 8: names a return: unlinked
]
SECOND = ["R5,y,2024-03-12 10:00:00,-15.00,returned,0,web,A3"]  # A3 loaded before: linked


def _settings(folder: Path, mapped: bool):
    orders = {"files": "orders*.csv"}
    if mapped:
        orders["columns"] = {"original_order_id": "returns_invoice"}
    return load_settings(write_settings(folder, {"sources": {"orders": orders}}))


def _write(folder: Path, name: str, lines: list[str], header: str = HEADER) -> None:
    (folder / "landing" / name).write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


def _query(settings, sql: str) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(sql).fetchall()


def test_known_originals_are_kept_and_unlinked_returns_are_loaded_and_noted(tmp_path):
    settings = _settings(tmp_path, mapped=True)
    _write(tmp_path, "orders_1.csv", FIRST)
    with connect(settings) as conn:
        first = ingest_source(conn, settings, "orders").files
    _write(tmp_path, "orders_2.csv", SECOND)
    with connect(settings) as conn:
        second = ingest_source(conn, settings, "orders").files
        for name in STAGING:
            build_staging(conn, settings, name)

    links = dict(_query(settings, "select order_id, original_order_id from orders"))
    assert links == {
        "A1": None,
        "A2": None,
        "R1": "A1",
        "R2": None,
        "R3": None,
        "A3": None,
        "R4": None,
        "R5": "A3",
    }
    # every row loaded, none quarantined: an unlinked return is a notice
    f1, f2 = first[-1], second[-1]
    assert (f1.rows_read, f1.rows_loaded, f1.rows_quarantined) == (7, 7, 0)
    assert (f2.rows_read, f2.rows_loaded, f2.rows_quarantined) == (1, 1, 0)
    assert "return_unlinked: 3 return(s)" in f1.note and "(line 5, 6, 8)" in f1.note
    assert "return_unlinked" not in (f2.note or "")
    assert _query(
        settings, "select count(*) from ingest_log where note like '%return_unlinked: 3%'"
    ) == [(1,)]

    # linked or not, every return lowers its customer's spend; only completed rows are orders
    spend = dict(
        _query(
            settings,
            "select customer_id, sum(value) from stg_orders where is_counted or status = "
            "'returned' group by 1",
        )
    )
    assert spend == {
        "x": Decimal("100") + Decimal("50") - Decimal("30") - Decimal("5"),
        "y": Decimal("40") - Decimal("20") - Decimal("10") - Decimal("15"),
    }
    counted = dict(
        _query(settings, "select customer_id, count(*) from stg_orders where is_counted group by 1")
    )
    assert counted == {"x": 2, "y": 1}


def test_a_source_without_the_column_links_nothing_and_notes_nothing(tmp_path):
    settings = _settings(tmp_path, mapped=False)
    plain = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
    _write(tmp_path, "orders_1.csv", [r.rsplit(",", 1)[0] for r in FIRST], header=plain)
    with connect(settings) as conn:
        (f,) = ingest_source(conn, settings, "orders").files
    assert f.rows_loaded == 7 and "return_unlinked" not in (f.note or "")
    assert _query(settings, "select count(original_order_id) from orders") == [(0,)]


def test_a_header_column_of_that_name_is_taken_without_a_mapping(tmp_path):
    settings = _settings(tmp_path, mapped=False)
    _write(
        tmp_path,
        "orders_1.csv",
        FIRST,
        header=HEADER.replace("returns_invoice", "original_order_id"),
    )
    with connect(settings) as conn:
        (f,) = ingest_source(conn, settings, "orders").files
    assert _query(settings, "select order_id from orders where original_order_id = 'A1'") == [
        ("R1",)
    ]
    assert "return_unlinked: 3 return(s)" in f.note


def test_unlinked_returns_still_lower_monetary_in_the_snapshot(tmp_path):
    from loyalty.marts.snapshot import compute_snapshot

    settings = _settings(tmp_path, mapped=True)
    _write(tmp_path, "orders_1.csv", FIRST + SECOND)
    day = dt.date(2024, 3, 12)
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        for name in STAGING:
            build_staging(conn, settings, name)
        compute_snapshot(conn, settings, day, day)
    monetary = dict(
        _query(
            settings, f"select customer_id, monetary from customer_snapshot where as_of = '{day}'"
        )
    )
    # x: 100 + 50 - 30 (linked) - 5 (unlinked); y: 40 - 20 - 10 (unlinked) - 15 (linked)
    assert monetary == {"x": Decimal("115.00"), "y": Decimal("-5.00")}
