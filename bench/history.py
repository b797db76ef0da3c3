"""History stored by change (docs/benchmark.md, issue 15): the nights before the nightly step, and
what they add on disk, extrapolated to a year of nights."""

from __future__ import annotations

import datetime as dt
from typing import Any


def nights_before(p: Any, s: Any, day: dt.date) -> dict:
    """The 30 nights before `day` as one-day snapshot runs (those not stored yet), then the board
    of day - 7 and the period marts. Returns what the nights stored: the database file's growth
    over them and the customer_state rows each night wrote."""
    from loyalty import engine
    from loyalty.marts.snapshot import compute_snapshot

    size_before = s.database_path.stat().st_size
    nights: list[dict[str, int]] = []
    with engine.connect(s) as conn:
        stored = {r[0] for r in conn.execute("select as_of from snapshot_params").fetchall()}
        for k in range(s.metrics.kpi_window_days, 0, -1):
            night = day - dt.timedelta(days=k)
            if night not in stored:
                written: dict[str, int] = {}
                compute_snapshot(conn, s, night, night, written=written)
                nights.append(written)
        conn.execute("checkpoint")
    size_after = s.database_path.stat().st_size
    with engine.connect(s, read_only=True) as conn:
        state_rows = engine.scalar(conn, "select count(*) from customer_state")
        stored_days = engine.scalar(conn, "select count(*) from snapshot_params")
        population = engine.scalar(
            conn,
            "select count(*) from customer_snapshot where as_of = "
            "(select max(as_of) from snapshot_params)",
        )
    week_before = (day - dt.timedelta(days=7)).isoformat()
    p.materialize([p.key("kpi_daily")], f"kpi board {week_before}", partition_key=week_before)
    p.materialize(
        p.keys(lambda n: n.group_name == "marts" and n.partitions_def is None),
        "period marts, the night before",
    )
    return {
        "nights_stored": len(nights),
        "db_bytes_before_nights": size_before,
        "db_bytes_after_nights": size_after,
        "state_rows": state_rows,
        "stored_days": stored_days,
        "population": population,
        "rows_written_per_night": (
            sum(n["deleted"] + n["inserted"] for n in nights) / len(nights) if nights else None
        ),
    }


def print_storage(r: dict) -> None:
    """History stored by change (issue 15): what a night adds on disk, extrapolated to a year."""
    if not r.get("nights_stored"):
        return
    growth = (r["db_bytes_after_nights"] - r["db_bytes_before_nights"]) / r["nights_stored"]
    year = growth * 365 + r["db_bytes_before_nights"]
    mb = 2**20
    print(
        f"history: {r['stored_days']} stored days in {r['state_rows']:,} customer_state rows "
        f"({r['state_rows'] / max(r['population'] or 1, 1):.2f} per customer of the last day; "
        f"{r['stored_days'] * (r['population'] or 0):,} rows stored by day); database "
        f"{r['db_bytes'] / mb:,.0f} MB, {r['db_bytes'] / mb / r['stored_days']:,.1f} MB per stored "
        f"day\n  {r['nights_stored']} nights: {growth / mb:,.1f} MB and "
        f"{r['rows_written_per_night']:,.0f} customer_state rows written per night; a year of "
        f"nights: {year / 2**30:,.2f} GB on disk -> target < 2 GB at 10 M orders: "
        f"{'met' if year < 2 * 2**30 else 'MISSED'}"
    )
