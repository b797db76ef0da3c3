"""The restatement log: a late orders file dated in a closed week, loaded in a second run, records
exactly the figures it changes (the week, its month and its quarter; repurchase and activation, for
all customers and the customer's tier) with their old and new values as a plain Python count over
the raw export files gives them, and names the load as the cause; a run with nothing new records
nothing, and a changed setting is named as the cause."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from loyalty import engine
from loyalty.generate import generate
from loyalty.ingest import ingest_source
from loyalty.marts.periods import compute_periods
from loyalty.marts.restatements import changed_settings, compute_restatements
from loyalty.marts.snapshot import compute_snapshot
from loyalty.marts.staging import build_staging
from loyalty.settings import load_settings
from tests.conftest import write_settings

END = dt.date(2026, 6, 30)  # the quarter, May and the week of LATE are all closed on END
FIRST = dt.date(2026, 3, 31)  # the start snapshot of the quarter
LATE = dt.date(2026, 5, 13)  # a Wednesday
PERIODS = {  # the closed periods holding LATE: (start, end)
    "week": (dt.date(2026, 5, 11), dt.date(2026, 5, 17)),
    "month": (dt.date(2026, 5, 1), dt.date(2026, 5, 31)),
    "quarter": (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
}
KINDS = ("orders", "tickets", "surveys")


def _run(settings, run_id: str) -> int:
    """One run as the nightly job does it: ingest, staging, period marts, restatements."""
    with engine.connect(settings) as conn:
        for kind in KINDS:
            ingest_source(conn, settings, kind)
        for kind in KINDS:
            build_staging(conn, settings, f"stg_{kind}")
        compute_periods(conn, settings)
        return compute_restatements(conn, settings, run_id)


@pytest.fixture
def loaded(tmp_path):
    write_settings(tmp_path)
    generate(tmp_path / "landing", customers=300, days=200, seed=5, end=END)
    settings = load_settings(tmp_path / "settings.yaml")
    with engine.connect(settings) as conn:
        for kind in KINDS:
            ingest_source(conn, settings, kind)
        for kind in KINDS:
            build_staging(conn, settings, f"stg_{kind}")
        compute_snapshot(conn, settings, FIRST, END)
    return settings


def _counted_orders(landing: Path) -> dict[str, list[dt.date]]:
    """Completed orders per customer from the raw files, in name order (a later file's row wins)."""
    by_id: dict[str, tuple[str, dt.date]] = {}
    for path in sorted(landing.glob("orders*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["status"] == "completed":
                    day = dt.date.fromisoformat(row["ordered_at"][:10])
                    by_id[row["order_id"]] = (row["customer_id"], day)
                else:
                    by_id.pop(row["order_id"], None)
    out: dict[str, list[dt.date]] = defaultdict(list)
    for customer, day in by_id.values():
        out[customer].append(day)
    return out


def _figures(orders: dict[str, list[dt.date]], tiers: dict[dt.date, dict[str, str]]) -> dict:
    """(period_type, key, metric) -> value: repurchase and activation by hand, for each period of
    PERIODS, for all customers and per start tier (the tier on the day before the period)."""
    out = {}
    for ptype, (start, end) in PERIODS.items():
        start_tier = tiers[start - dt.timedelta(days=1)]
        counts = {c: sum(start <= d <= end for d in days) for c, days in orders.items()}
        for key in ("all", "A", "B", "C", "D"):
            buyers = [
                c for c, n in counts.items() if n and (key == "all" or start_tier.get(c) == key)
            ]
            repeat = [c for c in buyers if counts[c] >= 2]
            out[(ptype, key, "buyers")] = len(buyers)
            out[(ptype, key, "repeat_buyers")] = len(repeat)
            out[(ptype, key, "repurchase_rate")] = len(repeat) / len(buyers) if buyers else None
            population = [c for c, t in start_tier.items() if key == "all" or t == key]
            active = [c for c in population if counts.get(c)]
            out[(ptype, key, "activation_rate")] = len(active) / len(population)
    return out


def test_a_late_file_records_exactly_the_figures_it_changes(loaded):
    settings = loaded
    assert _run(settings, "run-1") == 0  # the first run records the figures, no restatement
    assert _run(settings, "run-2") == 0  # nothing new: nothing restated
    with engine.connect(settings, read_only=True) as conn:
        tiers = {
            start - dt.timedelta(days=1): dict(
                conn.execute(
                    "select customer_id, tier from customer_snapshot where as_of = ?",
                    [start - dt.timedelta(days=1)],
                ).fetchall()
            )
            for start, _ in PERIODS.values()
        }
    landing = settings.landing_path
    before = _figures(_counted_orders(landing), tiers)
    # a tier-B customer of the week's start orders twice on LATE: a late file of a closed week
    customer = sorted(
        c for c, t in tiers[PERIODS["week"][0] - dt.timedelta(days=1)].items() if t == "B"
    )[0]
    (landing / "orders_late.csv").write_text(
        "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
        f"LATE-1,{customer},{LATE} 10:00:00,40.00,completed,,web\n"
        f"LATE-2,{customer},{LATE} 16:00:00,25.00,completed,,web\n",
        encoding="utf-8",
    )
    after = _figures(_counted_orders(landing), tiers)
    expected = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert any(k[2] == "repurchase_rate" for k in expected)  # the case exercises repurchase

    written = _run(settings, "run-3")
    with engine.connect(settings, read_only=True) as conn:
        rows = conn.execute(
            "select run_id, period_type, period_start, key, metric, old_value, new_value, "
            "cause_kind, cause, load_id, table_name from restatements order by all"
        ).fetchall()
        load_id = engine.scalar(
            conn, "select load_id from ingest_log where file_name = 'orders_late.csv'"
        )
    assert written == len(rows) == len(expected)
    got = {}
    for run, ptype, start, key, metric, old, new, kind, cause, load, table in rows:
        assert run == "run-3" and start == PERIODS[ptype][0]
        assert (kind, cause, load) == ("load", f"load {load_id} (orders_late.csv)", load_id)
        assert table == ("retention_period" if metric == "activation_rate" else "repurchase_period")
        got[(ptype, key, metric)] = (old, new)
    assert set(got) == set(expected)
    for k, (old, new) in expected.items():
        assert got[k] == pytest.approx((old, new), abs=1e-12), k

    assert _run(settings, "run-4") == 0  # a re-run with nothing new records none


def test_a_changed_setting_is_named_as_the_cause(loaded):
    settings = loaded
    assert _run(settings, "run-1") == 0
    # a service level changed: SLA rates of closed periods move, named by the setting
    changed = load_settings(
        write_settings(settings.base_dir, {"metrics": {"sla_hours": {"urgent": 2}}})
    )
    written = _run(changed, "run-2")
    with engine.connect(changed, read_only=True) as conn:
        causes = conn.execute(
            "select distinct cause_kind, cause, table_name from restatements"
        ).fetchall()
    assert written > 0
    assert {c[:2] for c in causes} == {("setting", "metrics.sla_hours.urgent")}
    assert {c[2] for c in causes} == {"service_period"}


def test_changed_settings_names_the_dotted_keys():
    before = '{"metrics": {"active_days": 90, "tiers": {"A": 80, "B": 65}}}'
    after = '{"metrics": {"active_days": 60, "tiers": {"A": 80, "B": 70}}}'
    assert changed_settings(before, after) == ["metrics.active_days", "metrics.tiers.B"]
