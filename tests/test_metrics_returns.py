"""Returns (credit notes, status `returned`) on a tiny hand-computed fixture: a return lowers what
the customer spent (monetary, lifetime value, the model's spend) on the day it happens, but is no
order (frequency, lifetime orders, recency and the population do not move). docs/metrics.md,
"Returns"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from loyalty import engine
from loyalty.engine import connect
from loyalty.marts.snapshot import compute_snapshot
from tests.fixtures_metrics import (
    add_order,
    build_snapshots,
    create_tables,
    day,
    make_settings,
    rows,
    snapshot_on,
)

D = "2024-03-31"


def _fixture(conn) -> None:
    # x: orders of £100 (03-01) and £50 (03-10), a return of £30 (03-20), written negative as the
    #    UCI credit notes are                     -> frequency 2, monetary 100 + 50 - 30 = 120
    # y: an order of £40 (03-05) and a return of £60 (03-15), written positive: a return larger
    #    than what was bought                      -> frequency 1, monetary 40 - 60 = -20
    # z: only a return                             -> not a customer of the population
    # w: one order of £10 today                    -> frequency 1, monetary 10 (untouched)
    add_order(conn, "x", "2024-03-01", 100)
    add_order(conn, "x", "2024-03-10", 50)
    add_order(conn, "x", "2024-03-20", -30, status="returned")
    add_order(conn, "y", "2024-03-05", 40)
    add_order(conn, "y", "2024-03-15", 60, status="returned")
    add_order(conn, "z", "2024-03-12", -25, status="returned")
    add_order(conn, "w", D, 10)


@pytest.fixture
def settings(tmp_path):
    settings = make_settings(tmp_path)
    create_tables(settings)
    with connect(settings) as conn:
        _fixture(conn)
    return settings


def test_a_return_lowers_monetary_but_is_not_an_order(settings):
    build_snapshots(settings, D)
    snap = snapshot_on(settings, D)
    x = snap["x"]
    assert x["frequency"] == 2  # the two orders; the return is not counted
    assert x["lifetime_orders"] == 2
    assert x["monetary"] == Decimal("120.00")  # 100 + 50 - 30
    assert x["lifetime_value"] == Decimal("120.00")
    # recency from the last order (03-10), not from the return (03-20): 31 - 10 = 21 days
    assert x["last_order_at"].date() == dt.date(2024, 3, 10)
    assert x["recency_days"] == 21


def test_a_return_larger_than_the_spend_leaves_a_negative_net_spend_scored_lowest(settings):
    build_snapshots(settings, D)
    snap = snapshot_on(settings, D)
    # not clipped at zero (docs/metrics.md, "Returns"): 40 - 60 = -20, the lowest monetary of the
    # day, so m = 1; still one counted order and a member of the population
    assert snap["y"]["monetary"] == Decimal("-20.00")
    assert snap["y"]["lifetime_value"] == Decimal("-20.00")
    assert snap["y"]["frequency"] == 1
    assert snap["y"]["m"] == 1
    # monetary, ascending: y -20 (pr 0 -> 1), w 10 (pr .5 -> 3), x 120 (pr 1 -> 5)
    assert {c: s["m"] for c, s in snap.items()} == {"y": 1, "w": 3, "x": 5}


def test_a_customer_with_only_returns_is_not_in_the_population(settings):
    build_snapshots(settings, D)
    assert set(snapshot_on(settings, D)) == {"x", "y", "w"}


@pytest.mark.parametrize("rfm_window_days", [365, 20])
def test_returns_are_counted_alike_by_a_range_and_by_days_one_at_a_time(tmp_path, rfm_window_days):
    # a range computed in one run (range path) equals the same days computed one by one (the first
    # by the day path, every later one carried forward from the day before); with a 20-day RFM
    # window the orders and returns also leave the window inside the range
    settings = make_settings(tmp_path, {"metrics": {"rfm_window_days": rfm_window_days}})
    create_tables(settings)
    with connect(settings) as conn:
        _fixture(conn)
    start, end = day("2024-03-01"), day("2024-04-20")
    build_snapshots(settings, str(start), str(end))
    query = "select * from customer_snapshot order by as_of, customer_id"
    in_one_run = rows(settings, query)
    with connect(settings) as conn:
        conn.execute("delete from customer_state_closed")
        conn.execute("delete from customer_state_current")
        conn.execute("delete from snapshot_params")
        # a load older than every order, so that a stored day may be carried forward
        conn.execute(
            "insert into ingest_log values (1, 'orders', 'orders.csv', 'h', 0, 'loaded', null, "
            "0, 0, 0, 0, 0, 0, now()::timestamp, null, null)"
        )
        paths = []
        d = start
        while d <= end:
            paths.append(compute_snapshot(conn, settings, d, d))
            d += dt.timedelta(days=1)
    assert paths[0] == "day" and set(paths[1:]) == {"carry"}
    assert rows(settings, query) == in_one_run
    by_day = {(r["as_of"], r["customer_id"]): r["monetary"] for r in in_one_run}
    if rfm_window_days == 365:
        # x on 04-20: every order and the return still in the window: 100 + 50 - 30
        assert by_day[(day("2024-04-20"), "x")] == Decimal("120.00")
    else:
        # (03-21, 04-10]: x's orders (03-01, 03-10) and return (03-20) have all left: 0;
        # on 03-25 (03-05, 03-25]: the £50 order and the return: 50 - 30 = 20
        assert by_day[(day("2024-04-10"), "x")] == Decimal("0.00")
        assert by_day[(day("2024-03-25"), "x")] == Decimal("20.00")


def test_the_models_spend_is_net_of_returns(settings):
    build_snapshots(settings, D)
    params = {"as_of": day(D), "calibration_end": day("2024-03-12")}
    with connect(settings) as conn, engine.intermediate(conn) as steps:
        steps.create("marts/customer_value/value_customers", params)
        steps.view("marts/customer_value/value_customer_day", params, "value_customer_days")
        summary = engine.query_model(conn, "marts/customer_value/value_summary", params)
    by_id = {r["customer_id"]: r for r in summary}
    assert set(by_id) == {"x", "y", "w"}  # z bought nothing
    x = by_id["x"]
    # purchase days 03-01 and 03-10 (the return's day is no purchase day): one repeat day, whose
    # £50 less the £30 return is the repeat spend: (100 + 50 - 30 - 100) / 1 = 20
    assert x["frequency"] == 1
    assert x["monetary_repeat"] == Decimal("20.00")
    # at C = 03-12: both purchase days, before the return: (150 - 100) / 1 = 50; what came after C
    # is the return alone: no order, -30
    assert x["cal_monetary_repeat"] == Decimal("50.00")
    assert x["holdout_orders"] == 0
    assert x["holdout_value"] == Decimal("-30.00")


def test_the_benchmarks_reference_rfm_treats_returns_the_same_way(settings, tmp_path):
    # bench/rfm_reference.py re-implements the RFM three ways (DuckDB, Polars, pandas) over the
    # orders as Parquet; on this fixture each must equal the pipeline's snapshot, returns included
    import pyarrow.parquet as pq

    from bench.rfm_reference import (
        RfmParams,
        compare_with_pipeline,
        rfm_duckdb,
        rfm_pandas,
        rfm_polars,
    )

    build_snapshots(settings, D)
    path = tmp_path / "orders.parquet"
    with connect(settings) as conn:
        conn.execute(f"copy (select * from orders) to '{path}' (format parquet)")
    params = RfmParams.from_settings(settings, day(D))
    results = {}
    for name, table in (
        ("duckdb", rfm_duckdb(path, params)),
        ("polars", rfm_polars(path, params).to_arrow()),
        ("pandas", rfm_pandas(path, params)),
    ):
        out = tmp_path / f"{name}.parquet"
        if name == "pandas":
            table.to_parquet(out)
        else:
            pq.write_table(table, out)
        results[name] = out
    report = compare_with_pipeline(settings.database_path, day(D), results)
    assert report["pipeline"]["rows"] == 3  # x, y, w; z only returned
    for name in results:
        assert report[name]["agrees"], (name, report[name])
