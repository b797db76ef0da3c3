"""The generator's optional returns (`--returns SHARE`): off by default (the shipped sample has no
return rows and no link column, tests/test_generate.py holds it byte for byte); on, a share of the
completed orders comes back later as a return row linked to its order, which the real ingest loads
with every link kept."""

from __future__ import annotations

import csv
import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty.engine import connect
from loyalty.generate import generate
from loyalty.ingest import ingest_source
from loyalty.marts.staging import STAGING, build_staging
from loyalty.settings import load_settings
from tests.conftest import write_settings

END = dt.date(2026, 11, 15)
SHARE = 0.1


def _orders(folder: Path) -> tuple[list[str], list[dict]]:
    rows: list[dict] = []
    header: list[str] = []
    for path in sorted(folder.glob("orders*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows.extend(reader)
    return header, rows


@pytest.fixture(scope="module")
def with_returns(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen_returns") / "landing"
    generate(out, customers=400, days=240, seed=11, end=END, returns=SHARE)
    return out


def test_returns_are_off_by_default(tmp_path):
    generate(tmp_path, customers=50, days=30, seed=11, end=END)
    header, rows = _orders(tmp_path)
    assert "original_order_id" not in header
    assert not [r for r in rows if r["status"] == "returned"]


def test_a_share_of_completed_orders_comes_back_later_linked_to_its_order(with_returns):
    header, rows = _orders(with_returns)
    assert header[-1] == "original_order_id"
    by_id = {r["order_id"]: r for r in rows}
    returns = [r for r in rows if r["status"] == "returned"]
    completed = [r for r in rows if r["status"] == "completed"]
    for r in returns:
        o = by_id[r["original_order_id"]]
        assert o["status"] == "completed" and o["original_order_id"] == ""
        assert (o["customer_id"], o["channel"]) == (r["customer_id"], r["channel"])
        lag = dt.datetime.fromisoformat(r["ordered_at"]) - dt.datetime.fromisoformat(
            o["ordered_at"]
        )
        assert dt.timedelta(days=1) <= lag <= dt.timedelta(days=30)
        assert dt.datetime.fromisoformat(r["ordered_at"]).date() <= END
        assert Decimal(0) < -Decimal(r["amount"]) <= Decimal(o["amount"])
    assert len({r["original_order_id"] for r in returns}) == len(returns)  # one return per order
    # about SHARE of the completed orders whose 30 days end inside the range, at most SHARE of all
    cutoff = dt.datetime.combine(END - dt.timedelta(days=30), dt.time.max)
    early = sum(dt.datetime.fromisoformat(o["ordered_at"]) <= cutoff for o in completed)
    low = early * SHARE - 4 * math.sqrt(early * SHARE * (1 - SHARE))
    high = len(completed) * SHARE + 4 * math.sqrt(len(completed) * SHARE * (1 - SHARE))
    assert low <= len(returns) <= high, (len(returns), low, high)


def test_the_ingest_keeps_every_link_and_each_return_lowers_spend(with_returns):
    _, rows = _orders(with_returns)
    settings = load_settings(
        write_settings(with_returns.parent, {"paths": {"landing": str(with_returns)}})
    )
    with connect(settings) as conn:
        files = ingest_source(conn, settings, "orders").files
        for name in STAGING:
            build_staging(conn, settings, name)
        links = dict(
            conn.execute(
                "select order_id, original_order_id from orders where status = 'returned'"
            ).fetchall()
        )
        returned_value = conn.execute(
            "select sum(value) from stg_orders where status = 'returned'"
        ).fetchone()[0]
    assert not [f.note for f in files if "return_unlinked" in (f.note or "")]
    assert links == {
        r["order_id"]: r["original_order_id"] for r in rows if r["status"] == "returned"
    }
    assert returned_value == sum(Decimal(r["amount"]) for r in rows if r["status"] == "returned")
