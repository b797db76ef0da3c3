"""A tiny database with the SPEC §10 mart columns, for the report and email tests.

The marts are filled with small, internally consistent data (churn_risk = any reason, is_active from
recency, rates from their counts) for four weeks ending 2026-W46 (Sunday 2026-11-15). One customer
carries seeded PII and one has a formula-like id, so tests can prove neither leaks nor executes.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
from loyalty import engine
from loyalty.settings import load_settings

WEEK_KEY = "2026-11-09"  # Monday of 2026-W46
WEEK_LABEL = "2026-W46"
DAY = dt.date(2026, 11, 15)
WEEK_ENDS = [DAY - dt.timedelta(weeks=i) for i in range(3, -1, -1)]
PII_NAME = "Zebulon Quixote"
PII_EMAIL = "zebulon.quixote@pii-example.org"
PII_PHONE = "+44 7700 900123"
PII_CUSTOMER = "C001"
FORMULA_ID = '=HYPERLINK("http://evil.example/x","click")'
CUSTOMER_IDS = [f"C{i:03d}" for i in range(1, 40)] + [FORMULA_ID]
TIERS = ("A", "B", "C", "D")
KPIS = {
    # kpi: (target, direction, flag-maker)
    "churn_rate": (0.05, "lower"),
    "tier_a_kept_rate": (0.95, "higher"),
    "complaint_timeliness": (0.90, "higher"),
    "tier_d_activation": (0.20, "higher"),
    "nps": (40.0, "higher"),
    "repurchase_rate": (None, "higher"),
}


def write_settings(tmp_path: Path, **email: object) -> Path:
    email_yaml = "\n".join(f"  {k}: {v}" for k, v in email.items())
    text = f"""
timezone: UTC
locale: en
paths:
  landing: landing
  database: db/loyalty.duckdb
  output: out
  temp: tmp
sources:
  orders: {{files: "orders*.csv"}}
  tickets: {{files: "tickets*.csv"}}
  surveys: {{files: "surveys*.csv"}}
reports:
  trend_weeks: 4
  at_risk_top_n: 50
email:
{email_yaml or "  enabled: true"}
"""
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def settings_for(tmp_path: Path, locale: str = "en", **email: object):
    path = write_settings(tmp_path, **email)
    return load_settings(path, {"locale": locale})


def _flag(value: float, target: float | None, direction: str) -> str:
    if target is None:
        return "no_target"
    ok = value <= target if direction == "lower" else value >= target
    return "ok" if ok else "off_target"


def build(settings) -> Path:
    """Create the fixture tables in the settings' database file."""
    rnd = random.Random(46)
    with engine.connect(settings) as conn:
        engine.execute_file(conn, "ingest/tables.sql")
        _marts(conn, rnd)
        _inputs(conn, rnd)
    return settings.database_path


def _marts(conn: duckdb.DuckDBPyConnection, rnd: random.Random) -> None:
    conn.execute(
        """create table customer_snapshot (
            as_of date, customer_id varchar, first_order_at timestamp, last_order_at timestamp,
            recency_days integer, frequency integer, monetary decimal(18,2), r integer, f integer,
            m integer, rfm_score double, tier varchar, segment varchar, lifecycle_stage varchar,
            is_active boolean, inactive boolean, complaints boolean, activity_drop boolean,
            churn_risk boolean, flagged_since date)"""
    )
    segments = ["Champions", "Loyal", "At risk", "Lost", "New", "Hibernating"]
    first = {c: dt.datetime(2026, 1, 5) + dt.timedelta(days=rnd.randint(0, 250)) for c in CUSTOMER_IDS}
    risk_since: dict[str, dt.date] = {}
    # snapshots for every day the reports read: each week end and 7 days before it
    days = sorted({d for e in WEEK_ENDS for d in (e, e - dt.timedelta(days=7))})
    for day in days:
        for i, c in enumerate(CUSTOMER_IDS):
            if first[c].date() > day or (i % 13 == 12 and day < DAY):  # a few arrive in W46
                continue
            recency = rnd.randint(0, 120)
            last = dt.datetime.combine(day, dt.time(12)) - dt.timedelta(days=recency)
            last = max(last, first[c])
            r, f, m = (rnd.randint(1, 5) for _ in range(3))
            score = round(100 * (r + f + m) / 15, 1)
            tier = "A" if score >= 80 else "B" if score >= 65 else "C" if score > 50 else "D"
            inactive = recency > 30
            complaints = i % 7 == 3 or c in (FORMULA_ID, PII_CUSTOMER)
            drop = i % 5 == 1 and not inactive
            risk = inactive or complaints or drop
            if risk:
                risk_since.setdefault(c, day)
            else:
                risk_since.pop(c, None)
            conn.execute(
                "insert into customer_snapshot values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [day, c, first[c], last, recency, rnd.randint(1, 12),
                 round(rnd.uniform(20, 2500), 2), r, f, m, score, tier, rnd.choice(segments),
                 rnd.choice(["new", "growing", "mature"]), recency <= 90, inactive, complaints,
                 drop, risk, risk_since.get(c)],
            )

    conn.execute(
        """create table kpi_daily (as_of date, kpi varchar, value double, target double,
           direction varchar, change_7d double, flag varchar, n bigint, owner varchar,
           alert double, window_start date, window_end date)"""
    )
    prev: dict[str, float] = {}
    for day in days:
        for k, (target, direction) in KPIS.items():
            value = round(rnd.uniform(-20, 60), 1) if k == "nps" else round(rnd.uniform(0.02, 0.98), 4)
            n = rnd.choice([12, 45, 180]) if k == "nps" else rnd.randint(20, 400)
            change = None if k not in prev else round(value - prev[k], 4)
            conn.execute(
                "insert into kpi_daily values (?,?,?,?,?,?,?,?,?,null,?,?)",
                [day, k, value, target, direction, change, _flag(value, target, direction), n,
                 "Owner " + k, day - dt.timedelta(days=30), day],
            )
            prev[k] = value

    conn.execute(
        """create table retention_period (period_type varchar, period_start date, tier varchar,
           start_count bigint, end_count bigint, new_count bigint, kept_count bigint,
           retention_rate double, kept_rate double, churn_rate double, activation_rate double)"""
    )
    conn.execute(
        """create table repurchase_period (period_type varchar, period_start date, tier varchar,
           buyers bigint, repeat_buyers bigint, repurchase_rate double)"""
    )
    conn.execute(
        """create table nps_period (period_type varchar, period_start date, tier varchar,
           responses bigint, promoters bigint, passives bigint, detractors bigint, nps double,
           nps_moe95 double, low_sample boolean, csat double, csat_n bigint, ces_mean double,
           ces_n bigint)"""
    )
    conn.execute(
        """create table service_period (period_type varchar, period_start date, priority varchar,
           tickets bigint, met bigint, breached bigint, sla_rate double, complaint_sla_rate double,
           median_first_response_hours double, median_resolution_hours double,
           satisfaction_mean double)"""
    )
    periods = [("week", e - dt.timedelta(days=6)) for e in WEEK_ENDS] + [("month", dt.date(2026, 11, 1))]
    for ptype, start in periods:
        for tier in ("all", *TIERS):
            s = rnd.randint(8, 60)
            kept = rnd.randint(s // 2, s)
            new = rnd.randint(0, 5)
            e = kept + new + rnd.randint(0, 4)
            conn.execute(
                "insert into retention_period values (?,?,?,?,?,?,?,?,?,?,?)",
                [ptype, start, tier, s, e, new, kept, (e - new) / s, kept / s, 1 - kept / s,
                 round(rnd.uniform(0.05, 0.4), 4)],
            )
            b = rnd.randint(5, 50)
            rb = rnd.randint(0, b)
            conn.execute(
                "insert into repurchase_period values (?,?,?,?,?,?)", [ptype, start, tier, b, rb, rb / b]
            )
            n = rnd.randint(10, 80)
            p = rnd.randint(0, n)
            d = rnd.randint(0, n - p)
            ps, ds = p / n, d / n
            nps = 100 * (p - d) / n
            moe = 1.96 * 100 * ((ps + ds - (ps - ds) ** 2) / n) ** 0.5
            conn.execute(
                "insert into nps_period values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [ptype, start, tier, n, p, n - p - d, d, nps, moe, n < 30, rnd.uniform(0.5, 0.95),
                 n, rnd.uniform(2, 5), n],
            )
        for prio in ("urgent", "important", "general", "all"):
            met, br = rnd.randint(1, 30), rnd.randint(0, 8)
            conn.execute(
                "insert into service_period values (?,?,?,?,?,?,?,?,?,?,?)",
                [ptype, start, prio, met + br + 2, met, br, met / (met + br), rnd.uniform(0.6, 1),
                 rnd.uniform(1, 20), rnd.uniform(5, 90), rnd.uniform(2.5, 4.8)],
            )

    conn.execute(
        """create table cohort_retention (row_type varchar, cohort_month date, k integer,
           activity_month date, size bigint, active_count bigint, share double,
           is_complete boolean)"""
    )
    for mo in range(1, 12):
        cohort = dt.date(2026, mo, 1)
        size = rnd.randint(3, 12)
        for k in range(0, 12 - mo):
            active = size if k == 0 else rnd.randint(0, size)
            conn.execute(
                "insert into cohort_retention values ('cohort',?,?,?,?,?,?,?)",
                [cohort, k, dt.date(2026, mo + k, 1), size, active, active / size, mo + k < 11],
            )
    conn.execute(
        """insert into cohort_retention
           select 'average', null, k, null, sum(size), sum(active_count),
                  sum(active_count) / sum(size), true
           from cohort_retention where is_complete group by k"""
    )
    conn.execute(
        """create table snapshot_params (as_of date, params_json varchar, computed_at timestamp,
           run_id varchar)"""
    )
    params = '{"tiers": {"A": 80, "B": 65, "C": 50}, "active_days": 90, "inactive_days": 30}'
    for day in days:
        conn.execute(
            "insert into snapshot_params values (?, ?, '2026-11-16 02:00', 'run-1')", [day, params]
        )


def _inputs(conn: duckdb.DuckDBPyConnection, rnd: random.Random) -> None:
    now = dt.datetime(2026, 11, 16, 2, 0)
    for load_id, (source, read, quarantined, replaced) in enumerate(
        [("orders", 520, 6, 4), ("tickets", 80, 2, 0), ("surveys", 60, 3, 1), ("customers", 40, 0, 0)],
        start=1,
    ):
        conn.execute(
            """insert into ingest_log (load_id, source, file_name, content_hash, size_bytes, status, note,
                   rows_read, rows_loaded, rows_quarantined, rows_filtered, keys_loaded, keys_replaced,
                   loaded_at, run_id)
                   values (?, ?, ?, 'h' || ?, 1000, 'loaded', null, ?, ?, ?, 0,
               ?, ?, ?, 'run-1')""",
            [load_id, source, f"{source}_2026-11-15.csv", load_id, read, read - quarantined,
             quarantined, read - quarantined, replaced, now],
        )
        for q in range(quarantined):
            conn.execute(
                """insert into quarantine values (?, ?, ?, ?, 1, ?, 'x', 'reason', '{}', ?)""",
                [load_id, source, f"{source}_2026-11-15.csv", q + 2,
                 ["missing_value", "bad_type", "duplicate_key"][q % 3], now],
            )
    for i, c in enumerate(CUSTOMER_IDS):
        is_pii = c == PII_CUSTOMER
        conn.execute(
            "insert into customers values (?, ?, ?, ?, ?, ?, ?, 4, ?)",
            [c, dt.datetime(2025, 12, 1), PII_NAME if is_pii else f"Person {i}",
             PII_EMAIL if is_pii else (None if i % 4 == 0 else f"p{i}@example.com"),
             PII_PHONE if is_pii else None, "North", "gold", i + 2],
        )
        for j in range(3):
            conn.execute(
                "insert into orders values (?, ?, ?, ?, 'completed', 0, ?, 1, ?)",
                [f"O{i}-{j}", c, dt.datetime(2026, 11, 14, 10) - dt.timedelta(days=9 * j + i),
                 round(rnd.uniform(10, 300), 2), None if j == 2 else "web", i],
            )
    conn.execute(
        """insert into surveys values ('S1', 'C001', '2026-11-12 09:00', 9, 5, 2,
           '=HYPERLINK("http://evil.example","x")', 3, 2)"""
    )


def test_fixture_snapshots_are_consistent(tmp_path):
    settings = settings_for(tmp_path)
    build(settings)
    with engine.connect(settings, read_only=True) as conn:
        bad = conn.execute(
            """select count(*) from customer_snapshot
               where churn_risk <> (inactive or complaints or activity_drop)
                  or is_active <> (recency_days <= 90)"""
        ).fetchone()[0]
        days = conn.execute("select count(distinct as_of) from customer_snapshot").fetchone()[0]
    assert bad == 0
    assert days == 5
