"""The model run of one customer_value day, for either engine: the fits, the scores, the backtest's
quality and the guards deciding whether the model drives the statuses (docs/model.md).

The numbers come from a `Side`: `DuckSide` has DuckDB group the work table value_summary into the
distinct rows the model reads and joins their scores back to every customer in SQL
(loyalty.marts.value_rows), loyalty.spark.value.SparkSide has Spark group the aggregates the fits
and the quality need and its executors score the customers. The guards, their order and their reasons are
here, once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa

from loyalty import malloc, model
from loyalty.marts import value_model as vm
from loyalty.marts import value_rows
from loyalty.marts.value_rows import Rows, no_rows
from loyalty.settings import Settings

SCORE, BACKTEST = "score", "backtest"
PURPOSES = (SCORE, BACKTEST)
QUALITY_KEYS = (
    "mae_orders",
    "bias_orders",
    "auc_model",
    "auc_baseline",
    "auc_p_alive",
    "model_beats_baseline",
    "reason",
)


@dataclass(frozen=True)
class Run:
    model_used: bool
    backtest_kept: bool  # the backtest's predictions are written (model_backtest)
    fit_rows: list[dict]
    quality: dict[str, Any]  # model_quality's row


class Side(Protocol):
    def customers(self) -> int: ...
    def repeat(self, purpose: str) -> int: ...
    def fit(self, purpose: str) -> vm.Fits: ...
    def score(self, purpose: str, fits: vm.Fits) -> bool: ...
    def quality(self, inactive_days: int) -> dict[str, Any]: ...
    def tables(self, run: Run) -> dict[str, Any]: ...
    def registered(self, tables: dict[str, Any]) -> Any: ...


def run_model(side: Side, settings: Settings) -> Run:
    """Fits, scores and backtest, and the guards: the first reason not to trust the model wins."""
    cfg = settings.model
    inactive_days = settings.metrics.churn.inactive_days
    counts = {"customers": side.customers(), "repeat_customers": side.repeat(SCORE)}
    quality: dict[str, Any] = {**counts, **dict.fromkeys(QUALITY_KEYS)}

    def untrusted(reason: str, rows: list[dict], backtest: bool = False) -> Run:
        return Run(False, backtest, rows, {**quality, "reason": reason, "model_used": False})

    if not cfg.enabled:
        return untrusted("the model is switched off (model.enabled is false)", [])
    least = cfg.min_repeat_customers
    for label, purpose in (
        ("on this day", SCORE),
        (f"at the backtest's start (D - {cfg.horizon_days})", BACKTEST),
    ):
        repeat = side.repeat(purpose)
        if repeat < least:
            return untrusted(
                f"{repeat} repeat customers {label}, fewer than model.min_repeat_customers "
                f"({least})",
                [],
            )
    fits = side.fit(SCORE)
    cal_fits = side.fit(BACKTEST)
    rows = vm.fit_rows(SCORE, fits) + vm.fit_rows(BACKTEST, cal_fits)
    failure = fits.failure() or cal_fits.failure()
    if failure:
        return untrusted(failure, rows)
    finite = side.score(SCORE, fits)
    if not (side.score(BACKTEST, cal_fits) and finite):
        return untrusted("the fitted model gives values that are not finite numbers", rows)
    quality.update(side.quality(inactive_days))
    m, b = quality["auc_model"], quality["auc_baseline"]
    if m is None or b is None:
        return untrusted(
            "the backtest cannot rank: in the holdout every customer "
            + ("ordered again" if quality.pop("all_ordered_again") else "stayed away"),
            rows,
            True,
        )
    quality.pop("all_ordered_again", None)
    quality["model_beats_baseline"] = bool(m > b)
    if not m > b:
        return untrusted(
            f"the model did not beat the rule in the backtest (AUC {m:.3f} against {b:.3f} for "
            f"inactive > {inactive_days} days)",
            rows,
            True,
        )
    return Run(True, True, rows, {**quality, "model_used": True})


# ------------------------------------------------------------------------------------------------
# DuckDB: the summary's aggregates in numpy arrays, the scores joined back in SQL


@dataclass(frozen=True)
class RowScores:
    """The model's columns per distinct row of a `Rows`: P(alive), expected purchase days in H
    and those days if alive per (x, t_x, T), the expected order value per (x, cents)."""

    p_alive: np.ndarray
    expected_orders: np.ndarray
    if_alive: np.ndarray
    expected_order_value: np.ndarray

    def finite(self) -> bool:
        cols = (self.p_alive, self.expected_orders, self.if_alive, self.expected_order_value)
        return all(bool(np.isfinite(c).all()) for c in cols)


class DuckSide:
    """The model's numbers from the work table value_summary on DuckDB. DuckDB groups the customers
    into the distinct rows the model reads (at 10 M orders 2.5 M customers: 864 k (x, t_x, T) and
    420 k (x, cents)); numpy fits and scores those rows; the scores go back as small Arrow tables,
    and the views value_scored and value_backtested join them to every customer in SQL (`registered`).
    Before, every customer's row came to numpy and went back (4-5 s of the 8 s at 10 M orders).
    The numbers are the same: the same rows in the same order for the fits, the same elementwise
    functions, the same products for CLV and value at risk."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        horizon_days: int,
        as_of: dt.date,
        rows: dict[str, Rows] | None = None,
    ):
        """The side of day `as_of` (the work table value_summary's only day, unless `rows` gives
        the day's distinct rows: loyalty.marts.value_range's days)."""
        malloc.keep_freed_memory()  # arrays of the distinct rows, made and freed many times
        self.conn = conn
        self.horizon_days = horizon_days
        self.as_of = as_of
        if rows is None:
            rows = {p: value_rows.rows_by_day(conn, p).get(as_of, no_rows()) for p in PURPOSES}
        self.rows = rows
        # the backtest's quality when it was had for many days at once (loyalty.marts.value_range)
        self.known_quality: dict[str, Any] | None = None
        self.scores: dict[str, RowScores] = {}
        self.fits: dict[str, vm.Fits] = {}
        self.early: dict[str, tuple[vm.Fits, RowScores]] = {}  # scores made in a fit's thread

    def customers(self) -> int:
        return int(self.rows[SCORE].n.sum())

    def repeat(self, purpose: str) -> int:
        rows = self.rows[purpose]
        return int(rows.n[rows.x > 0].sum())

    def fit(self, purpose: str) -> vm.Fits:
        """Both purposes' fits at the first call, in two threads, each scoring its rows when its
        fits can be used: numpy leaves the GIL in its array work, and at 10 M orders the two fits
        and scores take 1.0 s at once against 1.6 s one after the other. The numbers are those of
        each alone: the same operations on its own arrays, with BLAS on one thread throughout
        (`one_blas_thread`, around both)."""
        if not self.fits:
            with model.one_blas_thread(), ThreadPoolExecutor(max_workers=2) as pool:
                running = {p: pool.submit(self._fit, p) for p in (SCORE, BACKTEST)}
                self.fits = {p: job.result() for p, job in running.items()}
        return self.fits[purpose]

    def _fit(self, purpose: str) -> vm.Fits:
        r = self.rows[purpose]
        bg = model.fit_bg_nbd(r.x, r.t_x, r.T, weight=r.n, distinct=True)
        spenders = (r.px > 0) & (r.m > 0)
        gg = model.fit_gamma_gamma(r.px[spenders], r.cents[spenders] / 100, weight=r.pn[spenders])
        fits = vm.Fits(bg, gg)
        if fits.failure() is None:
            self.early[purpose] = (fits, self._scores(purpose, fits))
        return fits

    def score(self, purpose: str, fits: vm.Fits) -> bool:
        early = self.early.get(purpose)
        if early is not None and early[0] is fits:
            self.scores[purpose] = early[1]  # scored in its fit's thread
        else:
            self.scores[purpose] = self._scores(purpose, fits)
        return self.scores[purpose].finite()

    def _scores(self, purpose: str, fits: vm.Fits) -> RowScores:
        bg, gg = fits.bg_nbd.params, fits.gamma_gamma.params
        assert isinstance(bg, model.BgNbdParams) and isinstance(gg, model.GammaGammaParams)
        r, h = self.rows[purpose], float(self.horizon_days)
        p_alive = np.asarray(model.p_alive(bg, r.x, r.t_x, r.T))
        if_alive = np.asarray(model.expected_orders_if_alive(bg, h, r.x, r.t_x, r.T))
        return RowScores(
            p_alive=p_alive,
            # model.expected_orders is this product of the same two functions (computed once)
            expected_orders=p_alive * if_alive,
            if_alive=if_alive,
            expected_order_value=np.asarray(model.expected_order_value(gg, r.px, r.m), float),
        )

    def quality(self, inactive_days: int) -> dict[str, Any]:
        """The backtest's error and ranking (loyalty.marts.value_rows.backtest_quality)."""
        if self.known_quality is None:
            got = value_rows.backtest_quality(self.conn, self.predicted(), inactive_days)
            self.known_quality = got[self.as_of]
        return dict(self.known_quality)

    def predicted(self) -> pa.Table:
        """The backtest's predictions per distinct (x, t_x, T) of its day."""
        r, sc = self.rows[BACKTEST], self.scores[BACKTEST]
        return pa.table(
            {
                "as_of": self._days(len(r.x)),
                "x": r.x,
                "t_x": r.t_x,
                "T": r.T,
                "predicted_orders": sc.expected_orders,
                "p_alive": sc.p_alive,
            }
        )

    def _days(self, n: int) -> pa.Array:
        """The side's day n times (from numpy: a list of dates would have pyarrow import pandas)."""
        return pa.array(np.full(n, np.datetime64(self.as_of, "D")), pa.date32())

    def tables(self, run: Run) -> dict[str, pa.Table]:
        return {
            "value_scores_rows": self._score_table(SCORE, run.model_used),
            "value_backtest_rows": self._score_table(BACKTEST, run.backtest_kept),
            "value_scores_values": self._value_table(SCORE, run.model_used),
            "value_backtest_values": self._value_table(BACKTEST, run.backtest_kept),
            "model_fit_rows": pa.Table.from_pylist(run.fit_rows, schema=vm.FIT_SCHEMA),
            "model_quality_row": pa.Table.from_pylist(
                [{**dict.fromkeys(vm.QUALITY_SCHEMA.names), **run.quality}],
                schema=vm.QUALITY_SCHEMA,
            ),
            "value_day_runs": pa.table(
                {"as_of": self._days(1), "model_used": pa.array([run.model_used], pa.bool_())}
            ),
        }

    def _score_table(self, purpose: str, kept: bool) -> pa.Table:
        r, sc = self.rows[purpose], self.scores.get(purpose)
        pick = slice(None) if kept and sc is not None else slice(0)
        none = np.zeros(0)
        return pa.table(
            {
                "as_of": self._days(len(r.x[pick])),
                "x": r.x[pick],
                "t_x": r.t_x[pick],
                "T": r.T[pick],
                "p_alive": sc.p_alive[pick] if sc else none,
                "expected_orders": sc.expected_orders[pick] if sc else none,
                "if_alive": sc.if_alive[pick] if sc else none,
            }
        )

    def _value_table(self, purpose: str, kept: bool) -> pa.Table:
        r, sc = self.rows[purpose], self.scores.get(purpose)
        pick = slice(None) if kept and sc is not None else slice(0)
        return pa.table(
            {
                "as_of": self._days(len(r.px[pick])),
                "x": r.px[pick],
                "cents": r.cents[pick],
                "expected_order_value": sc.expected_order_value[pick] if sc else np.zeros(0),
            }
        )

    @contextmanager
    def registered(self, tables: dict[str, pa.Table]) -> Iterator[None]:
        """Arrow tables visible to SQL under these names for the block, and the views the SQL of
        customer_value reads: value_scored (every summary row at D with its scores, NULL where it
        has none, and model_used: whether its day's model is used, from `value_day_runs`) and
        value_backtested (the backtest's customers with their predictions at C). Each is
        value_summary joined to the distinct rows the model scored, by the values they were scored
        on: the summary is read once (joining scores made per summary row `k` back to the summary
        by `k` cost a hash join of two 2.5 M-row sides at 10 M orders, 0.7 s)."""
        runs = tables["value_day_runs"].to_pylist()
        used = _model_used([r["as_of"] for r in runs if r["model_used"]], len(runs))
        tables = {k: v for k, v in tables.items() if k != "value_day_runs"}
        for name, table in tables.items():
            self.conn.register(name, table)
        x, t_x, big_t, m, where = vm.SUMMARY_COLUMNS[SCORE]
        on_rows = f'v.as_of = t.as_of and v.{x} = t.x and v.{t_x} = t.t_x and v.{big_t} = t."T"'
        on_values = (
            f"v.as_of = e.as_of and v.{x} = e.x and (coalesce(v.{m}, 0) * 100)::bigint = e.cents"
        )
        # a row has scores when both its (x, t_x, T) and its (x, cents) were scored
        scored = f"t.x is not null and e.x is not null and ({where})"
        scores = {
            "p_alive": "t.p_alive",
            "expected_orders": "t.expected_orders",
            "expected_order_value": "e.expected_order_value",
            "clv": "t.expected_orders * e.expected_order_value",
            "value_if_alive": "t.if_alive * e.expected_order_value",
            "value_at_risk": "(1 - t.p_alive) * (t.if_alive * e.expected_order_value)",
        }
        columns = ", ".join(f"case when {scored} then {e} end as {c}" for c, e in scores.items())
        bx, bt_x, b_big_t, bm, b_where = vm.SUMMARY_COLUMNS[BACKTEST]
        try:
            self.conn.execute(
                f"""create or replace temp view value_scored as
                select v.*, {columns}, {used} as model_used
                from value_summary as v
                left join value_scores_rows as t on {on_rows}
                left join value_scores_values as e on {on_values}"""
            )
            self.conn.execute(
                f"""create or replace temp view value_backtested as
                select v.*, t.expected_orders as predicted_orders,
                    t.expected_orders * e.expected_order_value as predicted_value
                from value_summary as v
                inner join value_backtest_rows as t
                    on v.as_of = t.as_of and v.{bx} = t.x and v.{bt_x} = t.t_x
                    and v.{b_big_t} = t."T"
                inner join value_backtest_values as e
                    on v.as_of = e.as_of and v.{bx} = e.x
                    and (coalesce(v.{bm}, 0) * 100)::bigint = e.cents
                where {b_where}"""
            )
            yield
        finally:
            for view in ("value_scored", "value_backtested"):
                self.conn.execute(f"drop view if exists {view}")
            for name in tables:
                self.conn.unregister(name)


def _model_used(days: list[dt.date], of: int) -> str:
    """SQL for value_scored's model_used, true on `days` of `of` days: a constant when it is the
    same on every day (a join with a table of the days made DuckDB's plan of customer_value
    0.3-0.8 s slower at 10 M orders)."""
    if len(days) == of:
        return "true"
    if not days:
        return "false"
    return "v.as_of in (" + ", ".join(f"date '{d.isoformat()}'" for d in days) + ")"
