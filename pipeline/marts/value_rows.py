"""The DuckDB side of `customer_value`'s model run in SQL, for one day or many at once: the distinct
rows the model reads, grouped from the work table value_summary per day (`rows_by_day`), and the
backtest's error and ranking per day from the predictions joined back (`backtest_quality`).
loyalty.marts.value_run.DuckSide uses them for one day (the nightly run), loyalty.marts.value_range
for a first run's days together (docs/model.md, "Tables, status and backtest")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from loyalty.marts import value_model as vm


@dataclass(frozen=True)
class Rows:
    """One purpose's summary as the model reads it, aggregated by DuckDB: the distinct (x, t_x, T)
    with their customers `n`, sorted as numpy's unique sorts them (the BG/NBD fit and the scores
    are functions of these), and the distinct (x, cents of m) with m and their customers (the
    Gamma-Gamma fit and the expected order value are functions of these)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    n: np.ndarray
    px: np.ndarray
    cents: np.ndarray
    m: np.ndarray
    pn: np.ndarray


def no_rows() -> Rows:
    """The Rows of a day without customers."""
    ints, floats = np.zeros(0, np.int64), np.zeros(0, float)
    return Rows(ints, ints, ints, ints, ints, ints, floats, ints)


def rows_by_day(conn: duckdb.DuckDBPyConnection, purpose: str) -> dict[dt.date, Rows]:
    """The distinct rows of one purpose's summary (`Rows`) for each day (`as_of`) of the work
    table value_summary, grouped by DuckDB; a day without rows is absent."""
    x, t_x, big_t, m, where = vm.SUMMARY_COLUMNS[purpose]
    triples = conn.execute(
        f"""select as_of, {x}::bigint as x, {t_x}::bigint as t_x, {big_t}::bigint as "T",
            count(*) as n
        from value_summary where {where} group by all order by all"""
    ).fetchnumpy()
    pairs = conn.execute(
        f"""select as_of, {x}::bigint as x, (coalesce({m}, 0) * 100)::bigint as cents,
            any_value(coalesce({m}, 0)::double) as m, count(*) as n
        from value_summary where {where} group by 1, 2, 3 order by 1, 2, 3"""
    ).fetchnumpy()
    spans, pair_spans = _spans(triples["as_of"]), _spans(pairs["as_of"])
    out = {}
    for day, (a, b) in spans.items():
        c, d = pair_spans.get(day, (0, 0))
        out[day] = Rows(
            x=np.asarray(triples["x"][a:b], np.int64),
            t_x=np.asarray(triples["t_x"][a:b], np.int64),
            T=np.asarray(triples["T"][a:b], np.int64),
            n=np.asarray(triples["n"][a:b], np.int64),
            px=np.asarray(pairs["x"][c:d], np.int64),
            cents=np.asarray(pairs["cents"][c:d], np.int64),
            m=np.asarray(pairs["m"][c:d], float),
            pn=np.asarray(pairs["n"][c:d], np.int64),
        )
    return out


def _spans(days: Any) -> dict[dt.date, tuple[int, int]]:
    """(first, end) positions of each day in a column sorted by day."""
    values = np.asarray(days).astype("datetime64[D]")
    if values.size == 0:
        return {}
    firsts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    ends = np.r_[firsts[1:], values.size]
    return {values[a].astype(dt.date): (int(a), int(b)) for a, b in zip(firsts, ends, strict=True)}


def backtest_quality(
    conn: duckdb.DuckDBPyConnection, predicted: pa.Table, inactive_days: int
) -> dict[dt.date, dict[str, Any]]:
    """The backtest's error and ranking per day from the customers counted per (predicted value,
    ordered again): DuckDB joins the predictions per (as_of, x, t_x, T) (`predicted`: with
    predicted_orders and p_alive) to each day's backtest customers in value_summary."""
    x, t_x, big_t, _m, where = vm.SUMMARY_COLUMNS["backtest"]
    conn.register("backtest_predicted", predicted)
    try:
        conn.execute(
            f"""create or replace temp table backtest_outcomes as
            select
                v.as_of,
                p.predicted_orders,
                p.p_alive,
                coalesce(v.holdout_orders, 0) as actual,
                (coalesce(v.cal_days_silent, 0) <= $inactive)::double as rule
            from value_summary as v
            inner join backtest_predicted as p
                on v.as_of = p.as_of and v.{x} = p.x and v.{t_x} = p.t_x and v.{big_t} = p."T"
            where {where}""",
            {"inactive": inactive_days},
        )
    finally:
        conn.unregister("backtest_predicted")
    try:
        errors = conn.execute(
            "select as_of, avg(abs(predicted_orders - actual)), avg(predicted_orders - actual), "
            "bool_and(actual > 0) from backtest_outcomes group by as_of"
        ).fetchall()
        areas = {c: _areas(conn, c) for c in ("predicted_orders", "rule", "p_alive")}
        return {
            day: {
                "mae_orders": float(mae),
                "bias_orders": float(bias),
                # the model's own forecast of "orders again within H" ranks the customers: its
                # expected purchase days in (C, D]. (P(alive) is 1 for every customer without a
                # repeat purchase, so it cannot rank them; docs/model.md, "Tables, status and
                # backtest".)
                "auc_model": areas["predicted_orders"].get(day),
                # the seeds' rule as a score: not inactive (1) ranks above inactive (0)
                "auc_baseline": areas["rule"].get(day),
                # shown beside them: P(alive) alone, the measure the issue names, ties its
                # one-time buyers
                "auc_p_alive": areas["p_alive"].get(day),
                "all_ordered_again": bool(all_again),
            }
            for day, mae, bias, all_again in errors
        }
    finally:
        conn.execute("drop table if exists backtest_outcomes")


def _areas(conn: duckdb.DuckDBPyConnection, column: str) -> dict[dt.date, float | None]:
    """vm.auc_of_counts of `column` per day of backtest_outcomes."""
    counts = conn.execute(
        f"select as_of, {column} as value, count(*) filter (actual > 0) as pos, "
        f"count(*) filter (actual = 0) as neg from backtest_outcomes group by 1, 2 order by 1"
    ).fetchnumpy()
    return {
        day: vm.auc_of_counts(
            np.asarray(counts["value"][a:b], float), counts["pos"][a:b], counts["neg"][a:b]
        )
        for day, (a, b) in _spans(counts["as_of"]).items()
    }
