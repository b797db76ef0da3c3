"""The SQL metrics agree with an independent polars implementation of SPEC §4 on the whole shipped
sample, and with figures computed straight from the raw UCI Online Retail file."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import polars as pl
import pytest

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.settings import load_settings
from tests.conftest import REPO, real_data, write_settings
from tests.fixtures_metrics import build_snapshots

D = dt.date(2026, 11, 15)


def _score(col: str, descending: bool) -> pl.Expr:
    """min(5, 1 + floor(5 * percent_rank)); percent_rank = (rank_min - 1) / (n - 1); ties share."""
    rank = pl.col(col).rank(method="min", descending=descending)
    n = pl.len()
    pr = pl.when(n > 1).then((rank - 1) / (n - 1)).otherwise(0.0)
    return pl.min_horizontal(pl.lit(5), (1 + (5 * pr).floor())).cast(pl.Int64)


def reference_snapshot(
    orders: pl.DataFrame, tickets: pl.DataFrame, settings, as_of: dt.date
) -> pl.DataFrame:
    m = settings.metrics
    ch = m.churn
    counted = orders.filter(
        (pl.col("status") == "completed") & (pl.col("ordered_at").dt.date() <= as_of)
    ).with_columns(
        day=pl.col("ordered_at").dt.date(),
        value_cents=((pl.col("amount") - pl.col("refund_amount")) * 100).round(0).cast(pl.Int64),
    )

    def days_ago(n: int) -> dt.date:
        return as_of - dt.timedelta(days=n)

    per = counted.group_by("customer_id").agg(
        first_day=pl.col("day").min(),
        last_day=pl.col("day").max(),
        frequency=(pl.col("day") > days_ago(m.rfm_window_days)).sum(),
        monetary_cents=pl.col("value_cents")
        .filter(pl.col("day") > days_ago(m.rfm_window_days))
        .sum(),
        orders_recent=(pl.col("day") > days_ago(ch.drop_window_days)).sum(),
        is_active=(pl.col("day") > days_ago(m.active_days)).any(),
        history_orders=(
            (pl.col("day") <= days_ago(ch.drop_window_days))
            & (pl.col("day") > days_ago(ch.drop_lookback_days))
        ).sum(),
    )
    complaints = (
        tickets.filter(
            (pl.col("category") == ch.complaint_category)
            & (pl.col("opened_at").dt.date() > days_ago(ch.complaint_window_days))
            & (pl.col("opened_at").dt.date() <= as_of)
        )
        .group_by("customer_id")
        .agg(complaint_count=pl.len())
    )
    w = m.rfm_weights
    t = m.tiers
    df = (
        per.join(complaints, on="customer_id", how="left")
        .with_columns(
            pl.col("complaint_count").fill_null(0),
            recency_days=(pl.lit(as_of) - pl.col("last_day")).dt.total_days(),
            tenure_days=(pl.lit(as_of) - pl.col("first_day")).dt.total_days(),
        )
        .with_columns(
            r=_score("recency_days", descending=True),
            f=_score("frequency", descending=False),
            m=_score("monetary_cents", descending=False),
        )
        .with_columns(
            rfm_score=(
                100
                * (w.r * pl.col("r") + w.f * pl.col("f") + w.m * pl.col("m"))
                / (5 * (w.r + w.f + w.m))
            ).round(4),
            fm=(pl.col("f") + pl.col("m") + 1) // 2,
        )
        .with_columns(
            tier=pl.when(pl.col("rfm_score") >= t.A)
            .then(pl.lit("A"))
            .when(pl.col("rfm_score") >= t.B)
            .then(pl.lit("B"))
            .when(pl.col("rfm_score") > t.C)
            .then(pl.lit("C"))
            .otherwise(pl.lit("D")),
            # activity_drop history: (max(D - lookback, first order day - 1), D - window]
            history_days=(
                pl.lit(days_ago(ch.drop_window_days))
                - pl.max_horizontal(
                    pl.lit(days_ago(ch.drop_lookback_days)),
                    pl.col("first_day") - dt.timedelta(days=1),
                )
            ).dt.total_days(),
        )
    )
    df = df.with_columns(
        inactive=pl.col("recency_days") > ch.inactive_days,
        complaints=pl.col("complaint_count") > ch.complaint_max,
        activity_drop=(
            (pl.col("history_days") >= ch.drop_min_history_days)
            & (pl.col("history_orders") >= ch.drop_min_orders)
            & (
                pl.col("orders_recent")
                < ch.drop_ratio
                * pl.col("history_orders")
                * ch.drop_window_days
                / pl.col("history_days")
            )
        ),
    )
    seg = pl.DataFrame(
        [(r, fm, rule.segment) for rule in m.segment_map for r in rule.r for fm in rule.fm],
        schema={"r": pl.Int64, "fm": pl.Int64, "segment": pl.Utf8},
        orient="row",
    )
    return df.with_columns(pl.col("fm").cast(pl.Int64)).join(seg, on=["r", "fm"], how="left")


def test_sql_snapshot_equals_independent_polars_on_the_whole_sample(tmp_path):
    shutil.copytree(REPO / "data" / "sample", tmp_path / "landing", dirs_exist_ok=True)
    settings = load_settings(write_settings(tmp_path, {"timezone": "Europe/London"}))
    with connect(settings) as conn:
        for kind in ("orders", "tickets", "surveys", "customers"):
            ingest_source(conn, settings, kind)
        orders = conn.sql("select * from orders").pl()
        tickets = conn.sql("select * from tickets").pl()
    build_snapshots(settings, D.isoformat())
    with connect(settings) as conn:
        sql = conn.sql("select * from customer_snapshot where as_of = $d", params={"d": D}).pl()
    ref = reference_snapshot(orders, tickets, settings, D)

    assert sql.height == ref.height > 2000  # the population
    both = sql.join(ref, on="customer_id", how="full", suffix="_ref", coalesce=True)
    assert both.height == ref.height  # same customers on both sides
    for col in [
        "recency_days",
        "frequency",
        "r",
        "f",
        "m",
        "tier",
        "segment",
        "is_active",
        "inactive",
        "complaints",
        "activity_drop",
    ]:
        diff = both.filter(pl.col(col) != pl.col(f"{col}_ref"))
        assert diff.height == 0, (col, diff.select("customer_id", col, f"{col}_ref").head(5))
    # money to the cent
    sql_cents = both.select((pl.col("monetary").cast(pl.Float64) * 100).round(0).cast(pl.Int64))
    assert sql_cents.to_series().to_list() == both["monetary_cents"].to_list()
    assert (both["rfm_score"] - both["rfm_score_ref"]).abs().max() < 1e-9
    # the sample exercises every tier and the flags
    assert set(sql["tier"]) == {"A", "B", "C", "D"}
    assert sql["activity_drop"].sum() > 0 and sql["inactive"].sum() > 0


@pytest.mark.realdata
def test_online_retail_population_and_repeat_buyers_on_2011_12_09(tmp_path):
    landing = real_data("online_retail")
    import yaml

    data = yaml.safe_load((REPO / "examples" / "online_retail.yaml").read_text())
    data["paths"] = {
        "landing": str(landing),
        "database": str(tmp_path / "db.duckdb"),
        "output": str(tmp_path / "r"),
        "temp": str(tmp_path / "tmp"),
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    settings = load_settings(tmp_path / "s.yaml")
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
    build_snapshots(settings, "2011-12-09")
    with connect(settings) as conn:
        population, repeaters, revenue = conn.execute(
            """select count(*), count(*) filter (where lifetime_orders >= 2), sum(lifetime_value)
               from customer_snapshot where as_of = date '2011-12-09'"""
        ).fetchall()[0]
        net = dict(
            conn.execute(
                """select customer_id, lifetime_value from customer_snapshot
                   where as_of = date '2011-12-09'"""
            ).fetchall()
        )
        c12346 = conn.execute(
            """select frequency, lifetime_orders, monetary, lifetime_value from customer_snapshot
               where as_of = date '2011-12-09' and customer_id = '12346'"""
        ).fetchall()[0]

    # independently, from the raw lines: invoices with a customer; cancellations (C...) are
    # returns (credit notes, negative): they lower the customer's spend but are no orders
    raw = pl.read_csv(next(landing.glob("*.csv.gz")), infer_schema=False)
    invoices = (
        raw.filter(pl.col("CustomerID").is_not_null())
        .group_by("InvoiceNo")
        .agg(
            customer=pl.col("CustomerID").first(),
            value=(
                pl.col("Quantity").cast(pl.Int64) * pl.col("UnitPrice").cast(pl.Decimal(18, 3))
            ).sum(),
        )
        .with_columns(is_return=pl.col("InvoiceNo").str.starts_with("C"))
    )
    orders = invoices.filter(~pl.col("is_return"))
    per_customer = orders.group_by("customer").agg(n=pl.len())
    assert population == per_customer.height == 4_339
    assert repeaters == per_customer.filter(pl.col("n") >= 2).height == 2_845
    # each invoice to the cent (as loaded), then summed per buying customer, returns included
    cents = {}
    for customer, value in (
        invoices.filter(pl.col("customer").is_in(per_customer["customer"].implode()))
        .select("customer", "value")
        .iter_rows()
    ):
        cents[customer] = cents.get(customer, Decimal(0)) + Decimal(str(value)).quantize(
            Decimal("0.01")
        )
    assert net == cents
    assert revenue == sum(cents.values())
    # the customer: £77,183.60 bought and credited the same day: one order, net spend £0
    assert c12346 == (1, 1, Decimal("0.00"), Decimal("0.00"))
    returned = sum(
        Decimal(str(v)).quantize(Decimal("0.01"))
        for v in invoices.filter(
            pl.col("is_return") & pl.col("customer").is_in(per_customer["customer"].implode())
        )["value"].to_list()
    )
    assert round(returned / 1_000_000, 2) == Decimal("-0.60")  # returns of buying customers
    assert revenue - returned == sum(
        Decimal(str(v)).quantize(Decimal("0.01")) for v in orders["value"].to_list()
    )
