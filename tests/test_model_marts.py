"""customer_value and the model's tables on a real DuckDB file: customers simulated from a
buy-till-you-die process, the summary recomputed in plain Python from the raw orders, the stored
scores recomputed with loyalty.model from the stored summary and parameters, the backtest's AUC
recomputed with scipy's Mann-Whitney U, and the guards."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pytest
from scipy.stats import mannwhitneyu

from loyalty import model
from loyalty.engine import connect
from loyalty.marts.value import (
    check_customer_value,
    compute_customer_value,
    compute_revenue_at_risk,
)
from tests.fixtures_metrics import build_snapshots, create_tables, make_settings

START = dt.date(2024, 1, 1)
D = dt.date(2025, 8, 24)  # a Sunday
H = 90


def simulate_orders(n: int, seed: int) -> pa.Table:
    """Orders of `n` customers: each buys at a Poisson rate of their own and drops out after a
    purchase with a probability of their own (BG/NBD); a few same-day and cancelled orders."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = defaultdict(list)
    last_day = (D - START).days
    for i in range(n):
        rate = rng.gamma(0.9, 1 / 25)
        drop = rng.beta(1.0, 5.0)
        t = float(rng.integers(0, last_day))
        while t <= last_day:
            day = START + dt.timedelta(days=int(t))
            amount = round(float(rng.gamma(4.0, 8.0)) + 1, 2)
            n_orders = 2 if rng.random() < 0.05 else 1  # two orders on one day: one purchase
            for _ in range(n_orders):
                rows["order_id"].append(f"o{len(rows['order_id'])}")
                rows["customer_id"].append(f"c{i:04d}")
                rows["ordered_at"].append(dt.datetime.combine(day, dt.time(10)))
                rows["amount"].append(Decimal(str(amount)))
                cancelled = rng.random() < 0.05
                rows["status"].append("cancelled" if cancelled else "completed")
                rows["refund_amount"].append(Decimal("1.00") if rng.random() < 0.1 else Decimal(0))
            if rng.random() < drop:
                break
            t += rng.exponential(1 / rate)
    return pa.table(
        {
            **rows,
            "amount": pa.array(rows["amount"], pa.decimal128(18, 2)),
            "refund_amount": pa.array(rows["refund_amount"], pa.decimal128(18, 2)),
        }
    )


def load(settings, orders: pa.Table) -> None:
    create_tables(settings)
    with connect(settings) as conn:
        conn.register("simulated", orders)
        conn.execute(
            "insert into orders by name select order_id, customer_id, ordered_at, amount, "
            "status, refund_amount, 'web' as channel, 0 as _load_id from simulated"
        )
        conn.unregister("simulated")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """1,200 simulated customers, the snapshot of D and customer_value of D."""
    folder = tmp_path_factory.mktemp("model_marts")
    settings = make_settings(folder)
    orders = simulate_orders(1200, seed=11)
    load(settings, orders)
    build_snapshots(settings, D.isoformat())
    with connect(settings) as conn:
        result = compute_customer_value(conn, settings, D)
        compute_revenue_at_risk(conn, D, D)
    assert result.model_used, result.reason
    return settings, orders


def purchase_days(orders: pa.Table, through: dt.date) -> dict[str, dict[dt.date, Decimal]]:
    """Counted orders, one purchase per customer-day, value = amount - refund, in plain Python."""
    out: dict[str, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for o in orders.to_pylist():
        day = o["ordered_at"].date()
        if o["status"] == "completed" and day <= through:
            out[o["customer_id"]][day] += o["amount"] - o["refund_amount"]
    return out


def summary(days: dict[dt.date, Decimal], at: dt.date) -> tuple[int, int, int, float | None]:
    """(x, t_x, T, mean value of the repeat days to the cent, half away from zero)."""
    ordered = sorted(days)
    x = len(ordered) - 1
    repeat = sum(days[d] for d in ordered[1:])
    m = float((repeat / x).quantize(Decimal("0.01"), ROUND_HALF_UP)) if x else None
    return x, (ordered[-1] - ordered[0]).days, (at - ordered[0]).days, m


def stored(settings, query: str, params=None) -> list[dict]:
    with connect(settings, read_only=True) as conn:
        cur = conn.execute(query, params)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def fitted(settings, purpose: str) -> tuple[model.BgNbdParams, model.GammaGammaParams]:
    rows = stored(
        settings,
        "select model, parameter, value from model_fit where as_of = ? and purpose = ?",
        [D, purpose],
    )
    p = {(r["model"], r["parameter"]): r["value"] for r in rows}
    bg = model.BgNbdParams(*(p[("bg_nbd", k)] for k in ("r", "alpha", "a", "b")))
    gg = model.GammaGammaParams(*(p[("gamma_gamma", k)] for k in ("p", "q", "v")))
    return bg, gg


def test_the_summary_equals_a_plain_python_count_of_the_counted_purchase_days(sim):
    settings, orders = sim
    expected = {c: summary(days, D) for c, days in purchase_days(orders, D).items()}
    rows = stored(
        settings,
        "select customer_id, frequency, recency_days, t_days, monetary_repeat "
        "from customer_value where as_of = ?",
        [D],
    )
    got = {
        r["customer_id"]: (
            r["frequency"],
            r["recency_days"],
            r["t_days"],
            None if r["monetary_repeat"] is None else float(r["monetary_repeat"]),
        )
        for r in rows
    }
    assert got == expected
    assert sum(x > 0 for x, *_ in got.values()) >= 200  # enough repeat buyers for the model


def test_the_scores_are_the_model_applied_to_the_stored_summary_and_parameters(sim):
    settings, _ = sim
    bg, gg = fitted(settings, "score")
    rows = stored(
        settings, "select * from customer_value where as_of = ? order by customer_id", [D]
    )
    x = np.array([r["frequency"] for r in rows], float)
    t_x = np.array([r["recency_days"] for r in rows], float)
    T = np.array([r["t_days"] for r in rows], float)
    m = np.array([float(r["monetary_repeat"] or 0) for r in rows])
    alive = model.p_alive(bg, x, t_x, T)
    orders = model.expected_orders(bg, H, x, t_x, T)
    value = model.expected_order_value(gg, x, m)
    if_alive = model.expected_orders_if_alive(bg, H, x, t_x, T) * value

    def col(name):
        return np.array([float(r[name]) for r in rows])

    assert np.allclose(col("p_alive"), alive, rtol=1e-9, atol=1e-12)
    assert np.allclose(col("expected_orders"), orders, rtol=1e-9, atol=1e-12)
    assert np.allclose(col("expected_order_value"), value, atol=0.0051)
    assert np.allclose(col("clv"), orders * value, atol=0.0051)
    assert np.allclose(col("value_if_alive"), if_alive, atol=0.0051)
    assert np.allclose(col("value_at_risk"), (1 - alive) * if_alive, atol=0.0051)
    assert {r["status_source"] for r in rows} == {"model"}
    bands = settings.model.status_bands
    for r, a in zip(rows, alive, strict=True):
        silent = r["t_days"] - r["recency_days"]
        want = (
            "lost"
            if silent > 365
            else "active"
            if a >= bands.active
            else "at_risk"
            if a >= bands.at_risk
            else "lapsed"
            if a >= bands.lapsed
            else "lost"
        )
        assert r["status"] == want, r


def test_the_backtest_deciles_add_up_to_what_the_calibration_model_predicts_and_what_happened(sim):
    settings, orders = sim
    c = D - dt.timedelta(days=H)
    bg, gg = fitted(settings, "backtest")
    cal = purchase_days(orders, c)
    after = purchase_days(orders, D)
    x, t_x, T, m, actual, actual_value = [], [], [], [], [], []
    for cust, days in cal.items():
        s = summary(days, c)
        x.append(s[0]), t_x.append(s[1]), T.append(s[2]), m.append(s[3] or 0)
        later = [v for d, v in after[cust].items() if d > c]
        actual.append(len(later))
        actual_value.append(float(sum(later)))
    x, t_x, T, m = (np.array(a, float) for a in (x, t_x, T, m))
    predicted = model.expected_orders(bg, H, x, t_x, T)
    deciles = stored(settings, "select * from model_backtest where as_of = ? order by decile", [D])
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["customers"] for d in deciles) == len(cal)
    assert max(d["customers"] for d in deciles) - min(d["customers"] for d in deciles) <= 1
    assert sum(d["actual_orders"] for d in deciles) == sum(actual)
    assert float(sum(d["actual_value"] for d in deciles)) == pytest.approx(sum(actual_value))
    assert sum(d["predicted_orders"] for d in deciles) == pytest.approx(predicted.sum())
    value = predicted * model.expected_order_value(gg, x, m)
    assert sum(d["predicted_value"] for d in deciles) == pytest.approx(value.sum())
    # decile 1 holds the highest predictions
    per_customer = [d["predicted_orders"] / d["customers"] for d in deciles]
    assert per_customer == sorted(per_customer, reverse=True)
    # each decile's members: ntile(10) over the customers ranked by prediction, ties by id
    ranked = sorted(zip(predicted, cal, actual, strict=True), key=lambda c: (-c[0], c[1]))
    q, r = divmod(len(ranked), 10)
    edges = np.cumsum([0] + [q + 1] * r + [q] * (10 - r))
    chunks = [ranked[lo:hi] for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    assert [d["customers"] for d in deciles] == [len(c) for c in chunks]
    assert [d["actual_orders"] for d in deciles] == [sum(a for _, _, a in c) for c in chunks]

    q = stored(settings, "select * from model_quality where as_of = ?", [D])[0]
    error = predicted - np.array(actual)
    assert q["mae_orders"] == pytest.approx(np.abs(error).mean())
    assert q["bias_orders"] == pytest.approx(error.mean())
    label = np.array(actual) > 0

    def mw_auc(score):
        u = mannwhitneyu(score[label], score[~label], alternative="two-sided").statistic
        return u / (label.sum() * (~label).sum())

    silent = np.array([(c - max(days)).days for days in cal.values()])
    rule = (silent <= settings.metrics.churn.inactive_days).astype(float)
    assert q["auc_model"] == pytest.approx(mw_auc(predicted))
    assert q["auc_baseline"] == pytest.approx(mw_auc(rule))
    assert q["model_beats_baseline"] is (q["auc_model"] > q["auc_baseline"])
    assert q["model_used"] and q["reason"] is None
    assert q["calibration_end"] == c and q["horizon_days"] == H


def test_statuses_partition_the_population_and_the_check_passes(sim):
    settings, _ = sim
    population = stored(
        settings, "select count(*) as n from customer_snapshot where as_of = ?", [D]
    )[0]["n"]
    counts = stored(
        settings,
        "select status, count(*) as n from customer_value where as_of = ? group by all",
        [D],
    )
    assert {c["status"] for c in counts} <= {"active", "at_risk", "lapsed", "lost"}
    assert sum(c["n"] for c in counts) == population
    with connect(settings, read_only=True) as conn:
        outcome = check_customer_value(conn)
    assert outcome.passed, outcome.metadata


# each rule of the check, broken once in customer_value of D (inside a transaction rolled back)
BREACHES = {
    "duplicate (as_of, customer_id)": (
        "insert into customer_value select * from customer_value "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
    "population customers without a row": (
        "delete from customer_value "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
    "rows outside the population": (
        "insert into customer_value select * replace ('nobody' as customer_id) from customer_value "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
    "unknown status": (
        "update customer_value set status = 'asleep' "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
    "status_source disagrees with model_quality": (  # a rules row has no model columns
        "update customer_value set status_source = 'rules', p_alive = null, value_at_risk = null "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
    "model columns set without the model or missing with it": (
        "update customer_value set p_alive = null "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
    "p_alive outside [0,1]": (
        "update customer_value set p_alive = 1.5 "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
    "negative value or orders": (
        "update customer_value set clv = -1 "
        "where as_of = $d and customer_id = (select min(customer_id) from customer_value)"
    ),
}


@pytest.mark.parametrize("rule", sorted(BREACHES))
def test_the_check_counts_each_broken_rule_once(sim, rule):
    settings, _ = sim
    with connect(settings) as conn:
        conn.execute("begin")
        try:
            conn.execute(BREACHES[rule], {"d": D})
            outcome = check_customer_value(conn)
        finally:
            conn.execute("rollback")
    broken = {
        name.removeprefix("violations: "): n
        for name, n in outcome.metadata.items()
        if name.startswith("violations: ") and n
    }
    assert not outcome.passed
    assert broken == {rule: 1}, outcome.metadata


def test_nobody_silent_for_more_than_a_year_is_on_the_at_risk_list(sim):
    settings, _ = sim
    at_risk = stored(
        settings,
        "select v.customer_id, s.recency_days from customer_value as v join customer_snapshot as s "
        "using (as_of, customer_id) where as_of = ? and status = 'at_risk' "
        "order by value_at_risk desc",
        [D],
    )
    assert at_risk, "the simulated base has customers at risk"
    assert max(r["recency_days"] for r in at_risk) <= 365
    silent_year = stored(
        settings,
        "select status from customer_value where as_of = ? and t_days - recency_days > 365",
        [D],
    )
    assert silent_year and {r["status"] for r in silent_year} == {"lost"}


def test_revenue_at_risk_adds_up_over_tiers_and_segments(sim):
    settings, _ = sim
    rows = stored(settings, "select * from revenue_at_risk where as_of = ?", [D])
    whole = [r for r in rows if r["dimension"] == "all"]
    assert len(whole) == 1
    expected = stored(
        settings,
        "select count(*) as customers, count(*) filter (where status = 'at_risk') as at_risk, "
        "sum(value_at_risk) filter (where status = 'at_risk') as var, sum(clv) as clv "
        "from customer_value where as_of = ?",
        [D],
    )[0]
    assert whole[0]["customers"] == expected["customers"]
    assert whole[0]["at_risk_customers"] == expected["at_risk"]
    assert whole[0]["value_at_risk"] == expected["var"]
    assert whole[0]["clv"] == expected["clv"]
    for dim in ("tier", "segment"):
        part = [r for r in rows if r["dimension"] == dim]
        for col in ("customers", "at_risk_customers", "value_at_risk", "clv"):
            assert sum(r[col] for r in part) == whole[0][col], (dim, col)
    assert {r["key"] for r in rows if r["dimension"] == "tier"} == {"A", "B", "C", "D"}


def test_few_repeat_buyers_keep_the_rules_in_charge_and_say_why(tmp_path):
    settings = make_settings(tmp_path, {"model": {"min_repeat_customers": 100000}})
    load(settings, simulate_orders(150, seed=5))
    build_snapshots(settings, D.isoformat())
    with connect(settings) as conn:
        result = compute_customer_value(conn, settings, D)
        outcome = check_customer_value(conn)
    assert not result.model_used and "min_repeat_customers" in (result.reason or "")
    assert outcome.passed, outcome.metadata
    rows = stored(
        settings,
        "select v.*, s.churn_risk, s.recency_days as silent from customer_value as v "
        "join customer_snapshot as s using (as_of, customer_id) where as_of = ?",
        [D],
    )
    assert rows
    for r in rows:
        for col in ("p_alive", "expected_orders", "expected_order_value", "clv", "value_at_risk"):
            assert r[col] is None
        want = "lost" if r["silent"] > 365 else "at_risk" if r["churn_risk"] else "active"
        assert (r["status"], r["status_source"]) == (want, "rules")
    q = stored(settings, "select * from model_quality where as_of = ?", [D])[0]
    assert not q["model_used"] and "100000" in q["reason"]
    assert stored(settings, "select count(*) as n from model_fit")[0]["n"] == 0


def test_a_switched_off_model_writes_no_fit_and_says_so(tmp_path):
    settings = make_settings(tmp_path, {"model": {"enabled": False}})
    load(settings, simulate_orders(100, seed=6))
    build_snapshots(settings, D.isoformat())
    with connect(settings) as conn:
        result = compute_customer_value(conn, settings, D)
    assert not result.model_used and "model.enabled" in (result.reason or "")
    assert {r["status_source"] for r in stored(settings, "select * from customer_value")} == {
        "rules"
    }


def test_only_the_latest_day_and_sundays_are_kept(tmp_path):
    settings = make_settings(tmp_path, {"model": {"enabled": False}})
    load(settings, simulate_orders(60, seed=7))
    monday, tuesday = D + dt.timedelta(days=1), D + dt.timedelta(days=2)
    build_snapshots(settings, D.isoformat(), tuesday.isoformat())
    with connect(settings) as conn:
        for day in (D, monday, tuesday):
            compute_customer_value(conn, settings, day)
            # as the nightly job runs them: Monday's revenue at risk is written, then dropped
            # with Monday's customer_value on Tuesday
            compute_revenue_at_risk(conn, day, day)
    kept = stored(settings, "select distinct as_of from customer_value order by 1")
    assert [r["as_of"] for r in kept] == [D, tuesday]
    kept = stored(settings, "select distinct as_of from revenue_at_risk order by 1")
    assert [r["as_of"] for r in kept] == [D, tuesday]
    # the model's own tables keep every computed day
    kept = stored(settings, "select as_of from model_quality order by 1")
    assert [r["as_of"] for r in kept] == [D, monday, tuesday]


def test_a_long_run_models_the_sundays_of_history_weeks_only():
    import datetime as dt

    from loyalty.marts.value import value_days

    end = dt.date(2026, 11, 18)  # a Wednesday
    every = value_days(dt.date(2025, 1, 1), end)
    recent = value_days(dt.date(2025, 1, 1), end, history_weeks=4)
    assert every[-1] == recent[-1] == end
    assert all(d.isoweekday() == 7 for d in every[:-1])
    # the Sundays of the 4 weeks before the last day: 2026-10-25, 11-01, 11-08, 11-15
    assert recent == [dt.date(2026, 10, 25) + dt.timedelta(weeks=i) for i in range(4)] + [end]
    assert recent == [d for d in every if d >= end - dt.timedelta(weeks=4)]


def test_the_area_from_counts_per_value_equals_the_mann_whitney_statistic_of_the_customers():
    """The backtest's AUCs count positives and negatives per distinct score value (DuckDB groups
    the customers by their predicted value); with values shared by many rows (ties) and rows
    without customers, the area still equals U / (n_pos n_neg) over the customers one by one."""
    from loyalty.marts.value_model import auc_of_counts

    def auc_of_rows(score, label, _rows, _n_rows):
        values, at = np.unique(score, return_inverse=True)
        pos = np.bincount(at, weights=label, minlength=len(values))
        neg = np.bincount(at, weights=~label, minlength=len(values))
        return auc_of_counts(values[::-1], pos[::-1], neg[::-1])  # in any order

    rng = np.random.default_rng(3)
    n_rows = 400
    row_score = rng.integers(0, 60, n_rows) / 7.0  # about 60 values over 400 rows: ties
    rows = rng.integers(0, n_rows - 20, 5_000)  # the last 20 rows have no customer
    score = row_score[rows]
    label = rng.random(5_000) < 0.3 + 0.4 * (score > score.mean())
    u = mannwhitneyu(score[label], score[~label], alternative="two-sided").statistic
    assert auc_of_rows(score, label, rows, n_rows) == pytest.approx(
        u / (label.sum() * (~label).sum()), rel=1e-12
    )
    assert auc_of_rows(score, np.zeros(5_000, bool), rows, n_rows) is None
