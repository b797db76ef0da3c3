"""Tiny hand-computable fixtures for the metric tests: a temporary DuckDB with the ingest tables,
and helpers that insert orders, tickets and surveys directly (ingest is tested elsewhere)."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import duckdb
import yaml

from loyalty.engine import connect, execute_file
from loyalty.settings import Settings, load_settings

_ids = itertools.count(1)


def write_settings(tmp_path: Path, overrides: dict | None = None) -> Path:
    """A settings file whose database and temp folder live under tmp_path."""
    raw = {
        "timezone": "UTC",
        "paths": {"database": "db/loyalty.duckdb", "temp": "tmp", "landing": "landing"},
        "sources": {k: {"files": f"{k}*.csv"} for k in ("orders", "tickets", "surveys")},
        "schedules": {"start_date": "2024-01-01"},
    }
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def make_settings(tmp_path: Path, overrides: dict | None = None) -> Settings:
    return load_settings(write_settings(tmp_path, overrides))


def create_tables(settings: Settings) -> None:
    with connect(settings) as conn:
        execute_file(conn, "ingest/tables.sql")


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def at(s: str, hour: int = 12) -> dt.datetime:
    """Noon of an ISO day, or an explicit ISO timestamp."""
    if "T" in s or " " in s:
        return dt.datetime.fromisoformat(s)
    return dt.datetime.combine(day(s), dt.time(hour))


def add_order(
    conn: duckdb.DuckDBPyConnection,
    customer_id: str,
    when: str,
    amount: float = 10,
    status: str = "completed",
    refund: float = 0,
) -> None:
    conn.execute(
        "insert into orders (order_id, customer_id, ordered_at, amount, status, refund_amount, "
        "channel, _load_id, _line) values (?, ?, ?, ?, ?, ?, 'web', 0, null)",
        [f"o{next(_ids)}", customer_id, at(when), amount, status, refund],
    )


def add_ticket(
    conn: duckdb.DuckDBPyConnection,
    customer_id: str,
    opened: str,
    category: str = "complaint",
    priority: str = "general",
    resolved: str | None = None,
    first_response: str | None = None,
    satisfaction: int | None = None,
) -> None:
    conn.execute(
        "insert into tickets values (?, ?, ?, ?, ?, ?, ?, 'email', ?, 0, null)",
        [
            f"t{next(_ids)}",
            customer_id,
            at(opened),
            at(first_response) if first_response else None,
            at(resolved) if resolved else None,
            category,
            priority,
            satisfaction,
        ],
    )


def add_survey(
    conn: duckdb.DuckDBPyConnection,
    customer_id: str,
    when: str,
    nps: int | None = None,
    csat: int | None = None,
    ces: int | None = None,
) -> None:
    conn.execute(
        "insert into surveys values (?, ?, ?, ?, ?, ?, null, 0, null)",
        [f"s{next(_ids)}", customer_id, at(when), nps, csat, ces],
    )


def build_snapshots(settings: Settings, start: str, end: str | None = None) -> str:
    """Staging, then customer_snapshot for start..end in one range (as a backfill does); returns
    how the days were computed (`carry`, `day` or `range`)."""
    from loyalty.marts.snapshot import compute_snapshot
    from loyalty.marts.staging import STAGING, build_staging

    with connect(settings) as conn:
        for name in STAGING:
            build_staging(conn, settings, name)
        return compute_snapshot(conn, settings, day(start), day(end or start))


def build_periods(settings: Settings) -> None:
    from loyalty.marts.periods import compute_periods

    with connect(settings) as conn:
        compute_periods(conn, settings)


def build_kpis(settings: Settings, start: str, end: str | None = None) -> None:
    from loyalty.marts.kpis import compute_kpis

    with connect(settings) as conn:
        compute_kpis(conn, settings, day(start), day(end or start))


def rows(settings: Settings, query: str, params: list | dict | None = None) -> list[dict]:
    with connect(settings) as conn:
        rel = conn.execute(query, params)
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def snapshot_on(settings: Settings, as_of: str) -> dict[str, dict]:
    """customer_id -> snapshot row of one day."""
    found = rows(settings, "select * from customer_snapshot where as_of = ?", [day(as_of)])
    return {r["customer_id"]: r for r in found}
