"""The model's per-customer sums kept from night to night (loyalty.marts.value_state): after each
move to a later day, value_customer_state holds exactly the rows value_customers.sql computes from
every order for that day; a late order, a replaced key or an earlier day builds it again."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from loyalty import engine
from loyalty.generate import generate
from loyalty.ingest import ingest_source
from loyalty.marts import value_state
from loyalty.marts.staging import build_staging
from loyalty.settings import load_settings
from tests.conftest import write_settings

END = dt.date(2026, 6, 30)
H = 90


@pytest.fixture()
def landing(tmp_path):
    write_settings(tmp_path)
    generate(tmp_path / "landing", customers=500, days=500, seed=23, end=END, returns=0.08)
    return tmp_path


def _settings(folder: Path):
    return load_settings(folder / "settings.yaml")


def _load(folder: Path) -> None:
    settings = _settings(folder)
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        build_staging(conn, settings, "stg_orders")


def _move(folder: Path, day: dt.date) -> tuple[str, list, list]:
    """Bring the state to `day`; its rows and value_customers.sql's rows from every order."""
    settings = _settings(folder)
    params = {"as_of": day, "calibration_end": day - dt.timedelta(days=H)}
    with engine.connect(settings) as conn:
        how = value_state.bring_to(conn, settings, day, params["calibration_end"])
        kept = conn.execute(
            f"select * exclude (k) from {value_state.STATE} order by customer_id"
        ).fetchall()
        # `k` numbers the customers (the summary's scores are joined back by it): one each, none
        # shared, whichever way the table was had; the numbers themselves depend on that way
        numbers = conn.execute(
            f"select count(*), count(distinct k), count(k), min(k) from {value_state.STATE}"
        ).fetchone()
        full = engine.query_model(conn, value_state.CUSTOMERS, params)
    assert numbers is not None
    rows, distinct, present, least = numbers
    assert rows == distinct == present and least >= 1, f"{day}: k {numbers}"
    columns = [c for c in full[0] if c != "k"]
    return how, kept, sorted(tuple(r[c] for c in columns) for r in full)


def _add_orders(folder: Path, name: str, rows: list[dict]) -> None:
    """A new export file in the landing folder, with the generated file's columns."""
    source = next((folder / "landing").glob("orders*.csv"))
    with source.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    with (folder / "landing" / name).open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for row in rows:
            w.writerow(row)


def _an_order(folder: Path) -> dict:
    source = next((folder / "landing").glob("orders*.csv"))
    with source.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["status"].lower() == "completed":
                return row
    raise AssertionError("no completed order generated")


def test_moving_the_sums_day_by_day_and_by_spans_equals_summing_every_order(landing):
    _load(landing)
    first = END - dt.timedelta(days=200)
    # a first build, single nights, a week, a span longer than H (days that are new and reach
    # the calibration at once), and the last day
    days = [first, first + dt.timedelta(days=1), first + dt.timedelta(days=2)]
    days += [days[-1] + dt.timedelta(days=7), days[-1] + dt.timedelta(days=7 + 120), END]
    hows = []
    for day in days:
        how, kept, full = _move(landing, day)
        hows.append(how)
        assert sorted(kept) == full, f"{day}: {how}"
        assert len(full) > 200
    assert hows[0] == "built from every order (none stored)"
    assert hows[1:] == [f"kept from {a}" for a in days[:-1]]


def test_a_late_order_a_replaced_key_or_an_earlier_day_builds_the_sums_again(landing):
    _load(landing)
    night = END - dt.timedelta(days=30)
    _move(landing, night)
    order = _an_order(landing)

    # an order of the next night: kept, and it counts
    nxt = {**order, "order_id": "LATE-1", "ordered_at": (night + dt.timedelta(days=1)).isoformat()}
    _add_orders(landing, "orders_next.csv", [nxt])
    _load(landing)
    how, kept, full = _move(landing, night + dt.timedelta(days=1))
    assert how == f"kept from {night}" and sorted(kept) == full

    # an order dated before the stored day, loaded after it: built again
    late = {
        **order,
        "order_id": "LATE-2",
        "ordered_at": (night - dt.timedelta(days=10)).isoformat(),
    }
    _add_orders(landing, "orders_late.csv", [late])
    _load(landing)
    how, kept, full = _move(landing, night + dt.timedelta(days=2))
    assert how.startswith("built from every order (orders dated on or before")
    assert sorted(kept) == full

    # a key loaded again with another amount: built again
    again = {**order, "amount": str(round(float(order["amount"]) + 7.5, 2))}
    _add_orders(landing, "orders_again.csv", [again])
    _load(landing)
    how, kept, full = _move(landing, night + dt.timedelta(days=3))
    assert how == "built from every order (order keys replaced since)"
    assert sorted(kept) == full

    # an earlier day (a backfill): built again for that day
    how, kept, full = _move(landing, night - dt.timedelta(days=5))
    assert how.startswith("built from every order (an earlier day")
    assert sorted(kept) == full
