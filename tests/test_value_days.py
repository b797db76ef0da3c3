"""A range of customer_value days (loyalty.marts.value.compute_value_days): a small population's
days are computed together in groups, each group one transaction, a large one's each in its own;
either way each day is whole or absent, and a failure keeps exactly the days of the transactions
before it. The days together give the rows of the days one by one."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from loyalty.engine import connect
from loyalty.marts import value, value_run
from tests.fixtures_metrics import build_snapshots, make_settings
from tests.test_model_marts import load, simulate_orders

SUNDAYS = [dt.date(2025, 8, 10), dt.date(2025, 8, 17), dt.date(2025, 8, 24)]


@pytest.fixture()
def stored(tmp_path):
    settings = make_settings(tmp_path)
    load(settings, simulate_orders(600, seed=11))
    build_snapshots(settings, SUNDAYS[0].isoformat(), SUNDAYS[-1].isoformat())
    return settings


def _days(settings) -> list[tuple]:
    with connect(settings, read_only=True) as conn:
        return conn.execute(
            "select as_of, count(*) from customer_value group by as_of order by as_of"
        ).fetchall()


def _fail_on(monkeypatch, call: int) -> None:
    """The `call`-th model run fails (after its day's summary was written to its work tables)."""
    run_model = value_run.run_model
    calls = []

    def failing(side, settings):
        calls.append(1)
        if len(calls) == call:
            raise RuntimeError(f"model failed on run {call}")
        return run_model(side, settings)

    monkeypatch.setattr(value_run, "run_model", failing)


def test_a_small_populations_days_are_computed_in_groups_each_one_transaction(stored, monkeypatch):
    # the population is under 650 customers: groups of two days (1,300 customer rows at most)
    monkeypatch.setattr(value, "GROUP_ROWS", 1_300)
    _fail_on(monkeypatch, 3)
    with connect(stored) as conn, pytest.raises(RuntimeError, match="model failed"):
        value.compute_value_days(conn, stored, SUNDAYS)
    # the first two days committed together; the third failed alone
    days = _days(stored)
    assert [d for d, _ in days] == SUNDAYS[:2]
    monkeypatch.undo()
    with connect(stored) as conn:
        results = value.compute_value_days(conn, stored, SUNDAYS)
    assert [r.day for r in results] == SUNDAYS
    # all three together now (one group, one transaction)
    assert all(r.summary.startswith("computed with 3 days together") for r in results)
    days = _days(stored)
    assert [d for d, _ in days] == SUNDAYS
    assert all(n == r.customers > 0 for (_, n), r in zip(days, results, strict=True))


def test_a_large_populations_days_are_each_their_own_transaction(stored, monkeypatch):
    monkeypatch.setattr(value, "GROUP_CUSTOMERS", 10)  # every population is large
    _fail_on(monkeypatch, 3)
    with connect(stored) as conn, pytest.raises(RuntimeError, match="model failed"):
        value.compute_value_days(conn, stored, SUNDAYS)
    assert [d for d, _ in _days(stored)] == SUNDAYS[:2]


# ------------------------------------------------------------------------------------------------
# the days together (loyalty.marts.value_range) equal the days one by one

TABLES = {
    "customer_value": ("as_of", "customer_id"),
    "model_fit": ("as_of", "purpose", "model", "parameter"),
    "model_backtest": ("as_of", "decile"),
    "model_quality": ("as_of",),
    # the kept sums at the last day, for the next night (`k` numbers the new customers of each
    # move, so it depends on the moves; nothing reads it on DuckDB)
    "value_customer_state": ("customer_id",),
}
VOLATILE = {"fit_seconds", "k"}


def _tables(settings) -> dict[str, list[tuple]]:
    out = {}
    with connect(settings, read_only=True) as conn:
        for table, key in TABLES.items():
            cols = [
                c
                for (c,) in conn.execute(
                    "select column_name from duckdb_columns() where table_name = ? "
                    "order by column_index",
                    [table],
                ).fetchall()
                if c not in VOLATILE
            ]
            order = ", ".join(key)
            out[table] = conn.execute(
                f"select {', '.join(cols)} from {table} order by {order}"
            ).fetchall()
    return out


def _same(a: object, b: object) -> bool:
    """Equal, doubles to 1e-12 relative: sums of doubles (model_quality's mean errors, the
    deciles' predictions) differ in the last bits with the order DuckDB's threads add them in."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    return a == b


# the backtest's repeat customers on these days: 314, 319, 324, 329, 332, 334, 334
USED = {20: [True] * 7, 325: [False] * 3 + [True] * 4, 10_000: [False] * 7}


@pytest.mark.parametrize("min_repeat", sorted(USED))
def test_the_days_together_equal_the_days_one_by_one(tmp_path, monkeypatch, min_repeat):
    """Six Sundays and a last day: with the model used on every day, on the later days only, and
    on none (fewer repeat customers than model.min_repeat_customers: the rules decide). Day one by
    one is the nightly path (every population taken as large)."""
    sundays = [dt.date(2025, 7, 6) + dt.timedelta(weeks=i) for i in range(6)]
    days = [*sundays, dt.date(2025, 8, 13)]
    made = {}
    for way in ("one by one", "together"):
        folder = tmp_path / way.replace(" ", "_")
        folder.mkdir()
        settings = make_settings(folder, {"model": {"min_repeat_customers": min_repeat}})
        load(settings, simulate_orders(600, seed=11))
        build_snapshots(settings, days[0].isoformat(), days[-1].isoformat())
        with monkeypatch.context() as patched:
            if way == "one by one":
                patched.setattr(value, "GROUP_CUSTOMERS", 10)
            with connect(settings) as conn:
                results = value.compute_value_days(conn, settings, days)
        assert [r.model_used for r in results] == USED[min_repeat]
        together = [r.summary.startswith("computed with 7 days together") for r in results]
        assert together == [way == "together"] * 7
        made[way] = _tables(settings)
    for table in TABLES:
        together, one_by_one = made["together"][table], made["one by one"][table]
        assert len(together) == len(one_by_one), table
        for row, want in zip(together, one_by_one, strict=True):
            assert all(map(_same, row, want)), (table, row, want)
    # keep_days: the Sundays and the last day, each with its customers
    assert sorted({r[0] for r in made["together"]["customer_value"]}) == days
