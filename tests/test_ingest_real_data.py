"""The real public exports load through their mappings alone (examples/*.yaml)."""

from __future__ import annotations

import shutil
from decimal import Decimal

import polars as pl
import pytest
import yaml

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.settings import load_settings
from tests.conftest import REPO, real_data

pytestmark = pytest.mark.realdata


def _settings_for(example: str, landing, tmp_path):
    data = yaml.safe_load((REPO / "examples" / example).read_text())
    data["paths"] = {
        "landing": str(landing),
        "database": str(tmp_path / "db.duckdb"),
        "output": str(tmp_path / "reports"),
        "temp": str(tmp_path / "tmp"),
    }
    path = tmp_path / example
    path.write_text(yaml.safe_dump(data))
    return load_settings(path)


def test_online_retail_accounts_for_every_invoice(tmp_path):
    landing = real_data("online_retail")
    settings = _settings_for("online_retail.yaml", landing, tmp_path)
    with connect(settings) as conn:
        result = ingest_source(conn, settings, "orders")
        f = result.files[0]
        assert f.rows_read == 541_909  # every line read ...
        assert (
            f.rows_loaded + f.rows_quarantined + f.rows_filtered == f.rows_read
        )  # ... accounted for
        orders, completed, returned, customers, buyers = conn.execute(
            """select count(*), count(*) filter (where status = 'completed'),
                      count(*) filter (where status = 'returned'), count(distinct customer_id),
                      count(distinct customer_id) filter (where status = 'completed')
               from orders"""
        ).fetchall()[0]
        # the cancellation invoices (C...) are returns: credit notes that lower the spend
        assert (orders, completed, returned) == (22_190, 18_536, 3_654)
        assert (customers, buyers) == (4_372, 4_339)
        returns = conn.execute(
            "select sum(amount) from orders where status = 'returned'"
        ).fetchall()[0][0]
        # the invoices without a customer are in quarantine with that reason, not dropped
        assert conn.execute(
            "select reason_code, column_name, count(*), sum(line_count) from quarantine group by all"
        ).fetchall() == [("missing_value", "customer_id", 3_710, 135_080)]
        assert orders + 3_710 == 25_900
    # independently, from the raw lines: the C invoices with a customer, each summed to the cent
    raw = pl.read_csv(next(landing.glob("*.csv.gz")), infer_schema=False)
    credit_notes = (
        raw.filter(pl.col("CustomerID").is_not_null() & pl.col("InvoiceNo").str.starts_with("C"))
        .group_by("InvoiceNo")
        .agg(
            (pl.col("Quantity").cast(pl.Int64) * pl.col("UnitPrice").cast(pl.Decimal(18, 3))).sum()
        )
    )
    assert credit_notes.height == 3_654
    expected = sum(
        Decimal(str(v)).quantize(Decimal("0.01")) for v in credit_notes["Quantity"].to_list()
    )
    assert returns == expected
    assert round(returns / 1_000_000, 2) == Decimal("-0.61")  # the "£0.61 M of returns"


def test_olist_keys_orders_by_the_person_not_the_order_customer(tmp_path):
    landing = real_data("olist")
    settings = _settings_for("olist.yaml", landing, tmp_path)
    with connect(settings) as conn:
        for kind in ("orders", "surveys", "customers"):
            ingest_source(conn, settings, kind)
        n_orders, persons = conn.execute(
            "select count(*), count(distinct customer_id) from orders"
        ).fetchall()[0]
        assert (n_orders, persons) == (8_135, 8_016)
        repeaters = conn.execute(
            "select count(*) from (select customer_id from orders group by 1 having count(*) > 1)"
        ).fetchall()[0][0]
        assert repeaters == 73
        # every order's customer is a customer_unique_id of the customers file
        assert (
            conn.execute(
                "select count(*) from orders o anti join customers c using (customer_id)"
            ).fetchall()[0][0]
            == 0
        )
        # reviews are CSAT (1-5), never NPS; duplicated review ids are quarantined, not double counted
        assert (
            conn.execute("select count(*) from surveys where nps is not null").fetchall()[0][0] == 0
        )
        loaded, dups = conn.execute(
            "select (select count(*) from surveys), "
            "(select count(*) from quarantine where source = 'surveys' and reason_code = 'duplicate_key')"
        ).fetchall()[0]
        assert (
            loaded + dups
            == conn.execute("select rows_read from ingest_log where source = 'surveys'").fetchall()[
                0
            ][0]
        )


def test_a_landing_folder_copy_with_a_new_name_is_skipped(tmp_path):
    landing = real_data("online_retail")
    copy = tmp_path / "landing"
    copy.mkdir()
    src = next(landing.glob("*.csv.gz"))
    shutil.copy(src, copy / src.name)
    settings = _settings_for("online_retail.yaml", copy, tmp_path)
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
    shutil.copy(src, copy / ("online_retail_resent" + src.name.removeprefix("online_retail")))
    with connect(settings) as conn:
        result = ingest_source(conn, settings, "orders")
        assert [f.status for f in result.files] == ["skipped"]
        assert conn.execute("select count(*) from orders").fetchall()[0][0] == 22_190
