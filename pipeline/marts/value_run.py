"""The model run of one customer_value day, for either engine: the fits, the scores, the backtest's
quality and the guards deciding whether the model drives the statuses (docs/model.md).

The numbers come from a `Side`: `DuckSide` reads the work table value_summary into numpy arrays
(this process), loyalty.spark.value.SparkSide has Spark group the aggregates the fits and the
quality need and its executors score the customers. The guards, their order and their reasons are
here, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa

from loyalty import malloc
from loyalty.marts import value_model as vm
from loyalty.settings import Settings

SCORE, BACKTEST = "score", "backtest"
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
# DuckDB: the summary in numpy arrays


class DuckSide:
    def __init__(self, conn: duckdb.DuckDBPyConnection, horizon_days: int):
        malloc.keep_freed_memory()  # arrays of every customer, made and freed many times
        self.conn = conn
        self.horizon_days = horizon_days
        # one read of the work table, in the order of k, for both summaries and the backtest's
        # outcomes (each read sorts 2.5 M rows at 10 M orders)
        cols = {
            name: np.asarray(values)
            for name, values in conn.execute(
                "select k, frequency as x, recency_days as t_x, t_days as t, "
                "coalesce(monetary_repeat, 0)::double as m, cal_t_days is not null as cal, "
                "coalesce(cal_frequency, 0) as cal_x, coalesce(cal_recency_days, 0) as cal_t_x, "
                "coalesce(cal_t_days, 0) as cal_t, "
                "coalesce(cal_monetary_repeat, 0)::double as cal_m, "
                "coalesce(holdout_orders, 0) as holdout_orders, "
                "coalesce(cal_days_silent, 0) as cal_days_silent "
                "from value_summary order by k"
            )
            .fetchnumpy()
            .items()
        }
        cal = cols["cal"].astype(bool)
        self.summary = {
            SCORE: _summary(cols["k"], cols["x"], cols["t_x"], cols["t"], cols["m"]),
            BACKTEST: _summary(
                cols["k"][cal],
                cols["cal_x"][cal],
                cols["cal_t_x"][cal],
                cols["cal_t"][cal],
                cols["cal_m"][cal],
            ),
        }
        self.holdout_orders = cols["holdout_orders"][cal].astype(float)
        self.cal_days_silent = cols["cal_days_silent"][cal].astype(np.int64)
        self.scores: dict[str, vm.Scores] = {}

    def customers(self) -> int:
        return len(self.summary[SCORE].k)

    def repeat(self, purpose: str) -> int:
        return self.summary[purpose].repeat

    def fit(self, purpose: str) -> vm.Fits:
        return vm.fit(self.summary[purpose])

    def score(self, purpose: str, fits: vm.Fits) -> bool:
        self.scores[purpose] = vm.score(self.summary[purpose], fits, self.horizon_days)
        return self.scores[purpose].finite()

    def quality(self, inactive_days: int) -> dict[str, Any]:
        predicted = self.scores[BACKTEST]
        actual, silent = self.holdout_orders, self.cal_days_silent
        error = predicted.expected_orders - actual
        ordered_again = actual > 0
        # the model's scores are the same for every customer of a distinct (x, t_x, T) row
        _, counts, rows = self.summary[BACKTEST].distinct
        rule = (silent <= inactive_days).astype(np.int64)
        return {
            "mae_orders": float(np.mean(np.abs(error))),
            "bias_orders": float(np.mean(error)),
            # the model's own forecast of "orders again within H" ranks the customers: its
            # expected purchase days in (C, D]. (P(alive) is 1 for every customer without a repeat
            # purchase, so it cannot rank them; docs/model.md, "Tables, status and backtest".)
            "auc_model": vm.auc_of_rows(
                predicted.expected_orders, ordered_again, rows, len(counts)
            ),
            # the seeds' rule as a score: not inactive (1) ranks above inactive (0)
            "auc_baseline": vm.auc_of_rows(rule.astype(float), ordered_again, rule, 2),
            # shown beside them: P(alive) alone, the measure the issue names, ties its one-time
            # buyers
            "auc_p_alive": vm.auc_of_rows(predicted.p_alive, ordered_again, rows, len(counts)),
            "all_ordered_again": bool(ordered_again.all()),
        }

    def tables(self, run: Run) -> dict[str, pa.Table]:
        now = self.summary[SCORE]
        cal = self.summary[BACKTEST]
        backtest = _no_backtest()
        if run.backtest_kept:
            predicted = self.scores[BACKTEST]
            backtest = pa.table(
                {
                    "k": cal.k,
                    "predicted_orders": predicted.expected_orders,
                    "predicted_value": predicted.clv,
                }
            )
        return {
            "value_scores": vm.scores_table(now, self.scores[SCORE] if run.model_used else None),
            "value_backtest": backtest,
            "model_fit_rows": pa.Table.from_pylist(run.fit_rows, schema=FIT_SCHEMA),
            "model_quality_row": pa.Table.from_pylist(
                [{**dict.fromkeys(QUALITY_SCHEMA.names), **run.quality}], schema=QUALITY_SCHEMA
            ),
        }

    @contextmanager
    def registered(self, tables: dict[str, pa.Table]) -> Iterator[None]:
        """Arrow tables visible to SQL under these names for the block (read in bulk)."""
        for name, table in tables.items():
            self.conn.register(name, table)
        try:
            yield
        finally:
            for name in tables:
                self.conn.unregister(name)


def _summary(
    k: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, m: np.ndarray
) -> vm.Summary:
    return vm.Summary(
        k=k.astype(np.int64),
        x=x.astype(np.int64),
        t_x=t_x.astype(np.int64),
        T=T.astype(np.int64),
        m=m.astype(float),
    )


def _no_backtest() -> pa.Table:
    """An empty backtest (made when needed: pa.table imports pandas, a second at import time)."""
    return pa.table(
        {
            "k": pa.array([], pa.int64()),
            "predicted_orders": pa.array([], pa.float64()),
            "predicted_value": pa.array([], pa.float64()),
        }
    )


FIT_SCHEMA = pa.schema(
    [
        ("purpose", pa.string()),
        ("model", pa.string()),
        ("parameter", pa.string()),
        ("value", pa.float64()),
        ("n_customers", pa.int64()),
        ("n_repeat", pa.int64()),
        ("log_likelihood", pa.float64()),
        ("converged", pa.bool_()),
        ("fit_seconds", pa.float64()),
    ]
)
QUALITY_SCHEMA = pa.schema(
    [
        ("customers", pa.int64()),
        ("repeat_customers", pa.int64()),
        ("mae_orders", pa.float64()),
        ("bias_orders", pa.float64()),
        ("auc_model", pa.float64()),
        ("auc_baseline", pa.float64()),
        ("auc_p_alive", pa.float64()),
        ("model_beats_baseline", pa.bool_()),
        ("model_used", pa.bool_()),
        ("reason", pa.string()),
    ]
)
