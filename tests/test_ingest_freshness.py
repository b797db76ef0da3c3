"""The ingest's freshness measure (loyalty.ingest.checks.latest_event) reads the table from the
newest load's latest event on, not the whole history: it still finds the table's latest event when
a later file brings only older ones (a late or corrected export), when the newest load holds the
latest event itself, and with no load at all. Beside it, the key check of an export that brought
nothing new since its last pass passes without looking (and checks no row)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.ingest.checks import check_keys, latest_event
from loyalty.settings import Settings, load_settings
from tests.conftest import write_settings

HEADER = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"


def _orders(rows: list[tuple[str, str]]) -> str:
    return HEADER + "".join(f"{i},C1,{at},10.00,completed,0,web\n" for i, at in rows)


def _full_max(conn) -> dt.date:
    return conn.execute("select max(ordered_at)::date from orders").fetchall()[0][0]


def _first_file(tmp_path: Path) -> Settings:
    """Settings in `tmp_path` whose landing holds one orders file of two orders (latest 2026-03-09)."""
    settings = load_settings(write_settings(tmp_path))
    (tmp_path / "landing" / "orders_1.csv").write_text(
        _orders([("O1", "2026-03-01 10:00:00"), ("O2", "2026-03-09 18:30:00")]), "utf-8"
    )
    return settings


def test_a_late_file_of_older_orders_keeps_the_latest_day_of_an_earlier_load(
    tmp_path: Path,
) -> None:
    settings = _first_file(tmp_path)
    landing = tmp_path / "landing"
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        assert latest_event(conn, "orders")[0] == dt.date(2026, 3, 9) == _full_max(conn)
        # the newest load's orders are all older than the first load's latest
        (landing / "orders_2.csv").write_text(
            _orders([("O3", "2026-02-10 09:00:00"), ("O4", "2026-01-05 09:00:00")]), "utf-8"
        )
        ingest_source(conn, settings, "orders")
        latest, age = latest_event(conn, "orders")
        assert latest == dt.date(2026, 3, 9) == _full_max(conn)
        today = conn.execute("select current_date").fetchall()[0][0]
        assert age == (today - latest).days
        # the newest load holds the latest order itself (the bound is the value it finds)
        (landing / "orders_3.csv").write_text(_orders([("O5", "2026-03-20 23:59:59")]), "utf-8")
        ingest_source(conn, settings, "orders")
        assert latest_event(conn, "orders")[0] == dt.date(2026, 3, 20) == _full_max(conn)


def test_no_load_has_no_latest_event(tmp_path: Path) -> None:
    settings = load_settings(write_settings(tmp_path))
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")  # no file: an empty table
        assert latest_event(conn, "orders") == (None, None)


def test_a_key_check_with_nothing_new_passes_without_rows(tmp_path: Path) -> None:
    settings = _first_file(tmp_path)
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        first = check_keys(conn, "orders")
        assert first.passed and first.rows_checked == 2
        ingest_source(conn, settings, "orders")  # the same file: nothing new
        again = check_keys(conn, "orders")
    assert again.passed and again.rows_checked == 0 and again.verified_before > 0
