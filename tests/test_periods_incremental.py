"""The per-period marts are built incrementally (loyalty.marts.periods): after new snapshot days, a
late order and new tickets, an incremental build must equal a build from scratch, row for row."""

from __future__ import annotations

import datetime as dt
import math

from loyalty import engine
from loyalty.ingest import ingest_source
from loyalty.marts.periods import INCREMENTAL, compute_period_table, compute_periods
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import build_staging
from tests.test_snapshot_scale import END, _loaded


def _tables(conn) -> dict[str, list[tuple]]:
    # NaN (nps_moe95 of a period without responses) compared as a value, not as "never equal"
    def same(v):
        return "NaN" if isinstance(v, float) and math.isnan(v) else v

    return {
        name: [
            tuple(same(v) for v in row)
            for row in conn.execute(f"select * from {name} order by all").fetchall()
        ]
        for name in INCREMENTAL
    }


def test_an_incremental_build_equals_a_build_from_scratch(tmp_path):
    settings = _loaded(tmp_path, None)
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "surveys")
        build_staging(conn, settings, "stg_surveys")
    first = END - dt.timedelta(days=70)
    middle = END - dt.timedelta(days=10)
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, first, middle)
        compute_periods(conn, settings)
        assert {compute_period_table(conn, settings, n) for n in INCREMENTAL} == {"unchanged"}
        # ten more nights, then a late order dated in an earlier, complete month
        day = middle + dt.timedelta(days=1)
        while day <= END:
            compute_snapshot(conn, settings, day, day)
            day += dt.timedelta(days=1)
    customer = "C000001"
    late = first + dt.timedelta(days=20)
    (settings.landing_path / "orders_late.csv").write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
        f"LATE-1,{customer},{late} 12:00:00,50.00,completed,,web\n",
        encoding="utf-8",
    )
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "orders")
        compute_period_table(conn, settings, "report_periods")
        built = {n: compute_period_table(conn, settings, n) for n in INCREMENTAL}
        assert built == {n: f"from {late}" for n in INCREMENTAL}
        incremental = _tables(conn)
        conn.execute("delete from period_build_state")
        assert {compute_period_table(conn, settings, n) for n in INCREMENTAL} == {"full"}
        from_scratch = _tables(conn)
        periods = engine.scalar(conn, "select count(*) from report_periods")
    assert periods > 10
    assert all(incremental[n] for n in INCREMENTAL)
    assert incremental == from_scratch
