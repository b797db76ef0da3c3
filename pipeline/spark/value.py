"""customer_value on Spark: what of `loyalty.marts.value` is not SQL, for the Spark engine.

The SQL steps of sql/marts/customer_value/ (value_summary, customer_value, model_backtest,
model_fit, model_quality) run through loyalty.spark.engine as they are. Between them DuckDB's
pipeline runs Python: the BG/NBD and Gamma-Gamma fits (loyalty.model, scipy), the scores of every
customer and the backtest's quality. On Spark:

- `fit`: the fits read only aggregates: the distinct (x, t_x, T) of the summary with their counts,
  and the distinct (x, cents of m) of the customers with a repeat purchase value. Spark groups them;
  the driver receives these bounded lists (never a customer's row), sorted as `np.unique` sorts
  them, and fits exactly what `loyalty.marts.value_model.fit` fits: the same parameters.
- `scores`: each customer's scores computed by the executors (`mapInArrow`, batch by batch) with
  `loyalty.marts.value_model.score` and the fitted parameters: the work table `value_scores`
  (or `value_backtest`) as a DataFrame, never collected.
- the backtest's quality (`mae_orders`, the AUCs) is computed by `loyalty.marts.value` from
  per-customer arrays in the driver: not ported (its row, `model_quality_row`, is an input here).

pyspark is imported inside the functions (the extra `spark`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from loyalty import model
from loyalty.marts import value_model as vm

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# the summary's columns at D (purpose "score") and at C = D - H (purpose "backtest"), and which
# rows each reads: loyalty.marts.value._summary
SUMMARY_COLUMNS: dict[str, tuple[str, str, str, str, str]] = {
    "score": ("frequency", "recency_days", "t_days", "monetary_repeat", "true"),
    "backtest": (
        "cal_frequency",
        "cal_recency_days",
        "cal_t_days",
        "cal_monetary_repeat",
        "cal_t_days is not null",
    ),
}
SCORE_COLUMNS = (
    "p_alive",
    "expected_orders",
    "expected_order_value",
    "clv",
    "value_if_alive",
    "value_at_risk",
)


def summary_frame(summary: DataFrame, purpose: str) -> DataFrame:
    """The summary as the fits read it: k, x, t_x, T (integers), m (double, 0 without a repeat
    purchase), and `cents`, m in whole cents (exact: m is a decimal of 2 places)."""
    x, t_x, big_t, m, where = SUMMARY_COLUMNS[purpose]
    return summary.where(where).selectExpr(
        "k",
        f"cast({x} as bigint) as x",
        f"cast({t_x} as bigint) as t_x",
        f"cast({big_t} as bigint) as T",
        f"cast(coalesce({m}, 0) as double) as m",
        f"cast(coalesce({m}, 0) * 100 as bigint) as cents",
    )


def fit(summary: DataFrame, purpose: str) -> vm.Fits:
    """BG/NBD and Gamma-Gamma fitted on the aggregates of the summary (see the module docstring):
    the fits `value_model.fit` makes of the same summary."""
    rows = summary_frame(summary, purpose)
    triples = rows.groupBy("x", "t_x", "T").count().orderBy("x", "t_x", "T").collect()
    bg = model.fit_bg_nbd(
        np.asarray([r["x"] for r in triples], dtype=np.int64),
        np.asarray([r["t_x"] for r in triples], dtype=np.int64),
        np.asarray([r["T"] for r in triples], dtype=np.int64),
        weight=np.asarray([r["count"] for r in triples], dtype=np.int64),
    )
    spend = (
        rows.where("x > 0 and m > 0").groupBy("x", "cents").count().orderBy("x", "cents").collect()
    )
    gg = model.fit_gamma_gamma(
        np.asarray([r["x"] for r in spend], dtype=np.int64),
        np.asarray([r["cents"] for r in spend], dtype=np.int64) / 100,
        weight=np.asarray([r["count"] for r in spend], dtype=np.int64),
    )
    return vm.Fits(bg, gg)


def fits_from_rows(rows: Iterable[Mapping[str, Any]], purpose: str) -> vm.Fits:
    """The fits of one purpose from `model_fit` rows (a day's stored parameters)."""
    chosen = [r for r in rows if r["purpose"] == purpose]

    def one(name: str, kind: type) -> model.Fit:
        mine = {r["parameter"]: r for r in chosen if r["model"] == name}
        first = next(iter(mine.values()))
        params = None
        if all(mine[p]["value"] is not None for p in vm.PARAMETERS[name]):
            params = kind(**{p: float(mine[p]["value"]) for p in vm.PARAMETERS[name]})
        return model.Fit(
            params,
            int(first["n_customers"]),
            int(first["n_repeat"]),
            first["log_likelihood"],
            bool(first["converged"]),
            float(first["fit_seconds"]),
            "",
        )

    return vm.Fits(one(vm.BG_NBD, model.BgNbdParams), one(vm.GAMMA_GAMMA, model.GammaGammaParams))


SCORES_SCHEMA = "k bigint, " + ", ".join(f"{c} double" for c in SCORE_COLUMNS)
BACKTEST_SCHEMA = "k bigint, predicted_orders double, predicted_value double"


def scores(summary: DataFrame, fits: vm.Fits, horizon_days: int, purpose: str) -> DataFrame:
    """Every customer's scores (`value_model.score`) computed by the executors: the work table
    `value_scores` (purpose "score": k and SCORE_COLUMNS) or `value_backtest` (purpose "backtest":
    k, predicted_orders, predicted_value)."""
    rows = summary_frame(summary, purpose).drop("cents")
    backtest = purpose == "backtest"

    def batches(source: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in source:
            if batch.num_rows == 0:
                continue
            col = {n: batch.column(n).to_numpy(zero_copy_only=False) for n in batch.schema.names}
            s = vm.Summary(k=col["k"], x=col["x"], t_x=col["t_x"], T=col["T"], m=col["m"])
            sc = vm.score(s, fits, horizon_days)
            if backtest:
                out = {"k": s.k, "predicted_orders": sc.expected_orders, "predicted_value": sc.clv}
            else:
                out = {
                    "k": s.k,
                    "p_alive": sc.p_alive,
                    "expected_orders": sc.expected_orders,
                    "expected_order_value": sc.expected_order_value,
                    "clv": sc.clv,
                    "value_if_alive": sc.value_if_alive,
                    "value_at_risk": sc.value_at_risk,
                }
            yield pa.RecordBatch.from_pydict(
                {n: pa.array(v, pa.int64() if n == "k" else pa.float64()) for n, v in out.items()}
            )

    return rows.mapInArrow(batches, BACKTEST_SCHEMA if backtest else SCORES_SCHEMA)
