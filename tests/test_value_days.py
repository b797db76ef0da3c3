"""A range of customer_value days (loyalty.marts.value.compute_value_days): a small population's
days after the first are written in one transaction, a large one's each in its own; either way
each day is whole or absent, and a failure keeps exactly the days of the transactions before it."""

from __future__ import annotations

import datetime as dt

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


def test_a_small_populations_days_after_the_first_are_one_transaction(stored, monkeypatch):
    _fail_on(monkeypatch, 3)
    with connect(stored) as conn, pytest.raises(RuntimeError, match="model failed"):
        value.compute_value_days(conn, stored, SUNDAYS)
    # the first day committed alone; the second went with the third's failure
    days = _days(stored)
    assert [d for d, _ in days] == [SUNDAYS[0]]
    monkeypatch.undo()
    with connect(stored) as conn:
        results = value.compute_value_days(conn, stored, SUNDAYS)
    assert [r.day for r in results] == SUNDAYS
    days = _days(stored)
    assert [d for d, _ in days] == SUNDAYS
    assert all(n == r.customers > 0 for (_, n), r in zip(days, results, strict=True))


def test_a_large_populations_days_are_each_their_own_transaction(stored, monkeypatch):
    monkeypatch.setattr(value, "GROUP_CUSTOMERS", 10)  # every population is large
    _fail_on(monkeypatch, 3)
    with connect(stored) as conn, pytest.raises(RuntimeError, match="model failed"):
        value.compute_value_days(conn, stored, SUNDAYS)
    assert [d for d, _ in _days(stored)] == SUNDAYS[:2]
