"""History stored by change (docs/benchmark.md, issue 15): the nights before the nightly step, and
what they add on disk, extrapolated to a year of nights."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any


def _used_bytes(conn: Any) -> int:
    """Bytes of the database's blocks in use (the file keeps freed blocks for reuse)."""
    conn.execute("checkpoint")
    size = conn.execute("select used_blocks * block_size from pragma_database_size()").fetchall()
    return int(size[0][0])


def previous_ingest(p: Any, s: Any) -> None:
    """What the night before's ingest and staging steps left in the Dagster instance: the newest
    load each described (`loads_through`). A nightly job's instance holds it; the benchmark's
    instance is new, so it is recorded here, before the night's file is loaded, and the night's
    steps then describe only the rows they load, as they do in production."""
    import dagster as dg

    from loyalty import engine

    with engine.connect(s, read_only=True) as conn:
        for key in p.group("ingest") + p.group("staging"):
            name = key.path[-1]
            if engine.table_exists(conn, name) and "_load_id" in engine.columns(conn, name):
                newest = engine.scalar(conn, f"select coalesce(max(_load_id), 0) from {name}")
                p.instance.report_runless_asset_event(
                    dg.AssetMaterialization(key, metadata={"loads_through": int(newest)})
                )


def nights_before(p: Any, s: Any, day: dt.date, history_days: int = 0) -> dict:
    """`history_days` before those nights stored as one snapshot range (a first run over a long
    history, as an installation that ran for that long has it; the nights' reads then scan that
    much stored state), then
    the 30 nights before `day` as one-day snapshot runs, oldest first (those not stored yet),
    then the board of day - 7 (the caller then runs the night before's model and period marts).
    Returns what the nights stored: the first night
    fills the gap up to `day` (it may rewrite most customers); every later night is an ordinary
    night, whose growth of the blocks in use and customer_state rows written are measured."""
    from loyalty import engine
    from loyalty.marts.snapshot import compute_snapshot, create_snapshot_tables

    nights: list[dict[str, int]] = []
    used: list[int] = []
    with engine.connect(s) as conn:
        create_snapshot_tables(conn)  # right after a fresh load nothing is stored yet
        stored = {r[0] for r in conn.execute("select as_of from snapshot_params").fetchall()}
        history: dict[str, Any] = {"history_days": history_days}
        if history_days:
            last = day - dt.timedelta(days=s.metrics.kpi_window_days + 1)
            first = last - dt.timedelta(days=history_days - 1)
            if first not in stored:
                started = time.perf_counter()
                written: dict[str, int] = {}
                compute_snapshot(conn, s, first, last, written=written)
                history.update(
                    history_seconds=time.perf_counter() - started,
                    history_rows_inserted=written["inserted"],
                )
        for k in range(s.metrics.kpi_window_days, 0, -1):
            night = day - dt.timedelta(days=k)
            if night not in stored:
                written: dict[str, int] = {}
                compute_snapshot(conn, s, night, night, written=written)
                nights.append(written)
                if len(nights) == 1:
                    used.append(_used_bytes(conn))
        used.append(_used_bytes(conn))
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
    later = nights[1:]
    return {
        **history,
        "nights_stored": len(nights),
        "used_bytes_after_first_night": used[0],
        "used_bytes_after_nights": used[-1],
        "state_rows": state_rows,
        "stored_days": stored_days,
        "population": population,
        "rows_written_first_night": (
            nights[0]["deleted"] + nights[0]["inserted"] if nights else None
        ),
        "rows_written_per_night": (
            sum(n["deleted"] + n["inserted"] for n in later) / len(later) if later else None
        ),
    }


def print_storage(r: dict, orders: int = 10_000_000) -> None:
    """History stored by change (issue 15): what a night adds on disk, extrapolated to a year,
    against the target of 2 GB for a year at 10 M orders (at another size, in proportion to its
    orders: a year's history grows with the customers, as the exports do)."""
    if not r.get("nights_stored") or r["nights_stored"] < 2:
        return
    later = r["nights_stored"] - 1
    growth = (r["used_bytes_after_nights"] - r["used_bytes_after_first_night"]) / later
    # with a year of stored days (--history-days) the year is measured, not extrapolated
    measured = r["stored_days"] >= 365
    year = r["used_bytes_after_nights"] if measured else growth * 365 + r["used_bytes_after_nights"]
    mb = 2**20
    budget = 2 * 2**30 * orders / 10_000_000
    at_size = (
        f" ({budget / 2**30:,.1f} GB at {orders / 1e6:,.1f} M, in proportion)"
        if abs(orders / 10_000_000 - 1) > 0.05
        else ""
    )
    if r.get("history_days"):
        print(
            f"history before the nights: {r['history_days']} days stored as one range"
            + (
                f" ({r['history_seconds']:.1f} s, {r['history_rows_inserted']:,} rows)"
                if "history_seconds" in r
                else " (already stored)"
            )
        )
    print(
        f"history: {r['stored_days']} stored days in {r['state_rows']:,} customer_state rows "
        f"({r['state_rows'] / max(r['population'] or 1, 1):.2f} per customer of the last day; "
        f"{r['stored_days'] * (r['population'] or 0):,} rows stored by day); database blocks in "
        f"use {r['used_bytes_after_nights'] / mb:,.0f} MB "
        f"({r['used_bytes_after_nights'] / mb / r['stored_days']:,.1f} MB per stored day)\n"
        f"  the first night (fills the gap up to D) wrote {r['rows_written_first_night']:,} rows; "
        f"the {later} nights after it: {growth / mb:,.1f} MB and "
        f"{r['rows_written_per_night']:,.0f} customer_state rows written per night; a year of "
        f"nights: {year / 2**30:,.2f} GB ({'measured: a year is stored' if measured else 'extrapolated'})"
        f" -> target < 2 GB at 10 M orders{at_size}: {'met' if year < budget else 'MISSED'}"
    )
