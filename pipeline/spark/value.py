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
  (or `value_backtest`) as a DataFrame, never collected, joined to value_summary by the views the
  SQL reads (`joined_views`: value_scored, value_backtested).
- the backtest's quality (`mae_orders`, the AUCs) is computed by `loyalty.marts.value` from
  per-customer arrays in the driver: not ported (its row, `model_quality_row`, is an input here).

pyspark is imported inside the functions (the extra `spark`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from loyalty import model
from loyalty.marts import value_model as vm
from loyalty.spark import catalog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SUMMARY_COLUMNS = vm.SUMMARY_COLUMNS
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
BACKTEST_SCHEMA = "k bigint, predicted_orders double, predicted_value double, p_alive double"


def scores(summary: DataFrame, fits: vm.Fits, horizon_days: int, purpose: str) -> DataFrame:
    """Every customer's scores (`value_model.score`) computed by the executors: the work table
    `value_scores` (purpose "score": k and SCORE_COLUMNS) or `value_backtest` (purpose "backtest":
    k, predicted_orders, predicted_value, and p_alive for the backtest's quality)."""
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
                out = {
                    "k": s.k,
                    "predicted_orders": sc.expected_orders,
                    "predicted_value": sc.clv,
                    "p_alive": sc.p_alive,
                }
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


class SparkSide:
    """loyalty.marts.value_run's Side on Spark: the work table value_summary (a temporary view)
    read by Spark; the driver gets counts, the fits' aggregates and, for the backtest's quality,
    the customers per distinct predicted value (a function of (x, t_x, T): as bounded as the
    fits' aggregates), never a customer's row."""

    def __init__(self, conn: Any, horizon_days: int):
        self.spark = conn.spark
        self.horizon_days = horizon_days
        self.summary = self.spark.table("value_summary")
        self.scored: dict[str, DataFrame] = {}
        self.model_used = False  # set by `tables`

    def customers(self) -> int:
        return int(self.summary.count())

    def repeat(self, purpose: str) -> int:
        return int(summary_frame(self.summary, purpose).where("x > 0").count())

    def fit(self, purpose: str) -> vm.Fits:
        return fit(self.summary, purpose)

    def score(self, purpose: str, fits: vm.Fits) -> bool:
        from pyspark.sql import functions as F

        frame = scores(self.summary, fits, self.horizon_days, purpose).localCheckpoint(eager=True)
        self.scored[purpose] = frame
        values = [c for c in frame.columns if c != "k"]
        verdict = frame.select(
            F.sum(
                F.when(
                    F.greatest(*[F.isnan(c) | F.col(c).isin(INF, -INF) for c in values]), 1
                ).otherwise(0)
            )
        ).first()
        return verdict is not None and not verdict[0]

    def quality(self, inactive_days: int) -> dict[str, Any]:
        from pyspark.sql import functions as F

        rows = (
            self.summary.where("cal_t_days is not null")
            .select("k", "holdout_orders", "cal_days_silent")
            .join(self.scored["backtest"], "k")
            .withColumn("error", F.col("predicted_orders") - F.col("holdout_orders"))
            .withColumn("again", (F.col("holdout_orders") > 0).cast("int"))
            .withColumn("rule", (F.col("cal_days_silent") <= inactive_days).cast("double"))
        ).localCheckpoint(eager=True)
        errors = rows.agg(
            F.avg(F.abs("error")).alias("mae"), F.avg("error").alias("bias"), F.min("again")
        ).first()
        assert errors is not None

        def area(column: str) -> float | None:
            counts = (
                rows.groupBy(column)
                .agg(F.sum("again").alias("pos"), F.sum(1 - F.col("again")).alias("neg"))
                .collect()
            )
            return vm.auc_of_counts(
                np.asarray([r[column] for r in counts], dtype=float),
                np.asarray([r["pos"] for r in counts], dtype=np.int64),
                np.asarray([r["neg"] for r in counts], dtype=np.int64),
            )

        return {
            "mae_orders": float(errors["mae"]),
            "bias_orders": float(errors["bias"]),
            "auc_model": area("predicted_orders"),
            "auc_baseline": area("rule"),
            "auc_p_alive": area("p_alive"),
            "all_ordered_again": errors[2] == 1,
        }

    def tables(self, run: Any) -> dict[str, DataFrame]:
        from loyalty.marts.value_run import QUALITY_KEYS

        def empty(schema: str) -> DataFrame:
            return self.spark.createDataFrame([], schema)

        quality_cols = ["customers", "repeat_customers", *QUALITY_KEYS[:-1], "model_used", "reason"]
        quality = {c: run.quality.get(c) for c in quality_cols}
        self.model_used = bool(run.model_used)  # a column of the view value_scored (`registered`)
        return {
            "value_scores": self.scored["score"] if run.model_used else empty(SCORES_SCHEMA),
            "value_backtest": self.scored["backtest"].drop("p_alive")
            if run.backtest_kept
            else empty(BACKTEST_SCHEMA).drop("p_alive"),
            "model_fit_rows": self.spark.createDataFrame(run.fit_rows or [], FIT_SCHEMA),
            "model_quality_row": self.spark.createDataFrame([quality], QUALITY_SCHEMA),
        }

    @contextmanager
    def registered(self, tables: dict[str, DataFrame]) -> Iterator[None]:
        for name, frame in tables.items():
            catalog.view(frame, name)
        views = joined_views(self.spark, self.model_used)
        try:
            yield
        finally:
            for name in (*tables, *views):
                catalog.drop_view(self.spark, name)


def joined_views(spark: Any, model_used: bool) -> tuple[str, ...]:
    """The work views the SQL of customer_value reads (as DuckDB's `DuckSide.registered` makes
    them): value_scored, every row of value_summary with its scores from `value_scores` (NULL
    where it has none) and whether the day's model is used, and value_backtested, the rows of
    `value_backtest` with their summary row. Spark's scores are per summary row `k`, so here they
    are joined by `k`."""
    scores = ", ".join(f"s.{c}" for c in SCORE_COLUMNS)
    used = "true" if model_used else "false"
    catalog.sql_view(
        spark,
        "value_scored",
        f"select v.*, {scores}, {used} as model_used "
        "from value_summary as v left join value_scores as s on v.k = s.k",
    )
    catalog.sql_view(
        spark,
        "value_backtested",
        "select v.*, b.predicted_orders, b.predicted_value "
        "from value_backtest as b inner join value_summary as v on b.k = v.k",
    )
    return ("value_scored", "value_backtested")


INF = float("inf")
FIT_SCHEMA = (
    "purpose string, model string, parameter string, value double, n_customers bigint, "
    "n_repeat bigint, log_likelihood double, converged boolean, fit_seconds double"
)
QUALITY_SCHEMA = (
    "customers bigint, repeat_customers bigint, mae_orders double, bias_orders double, "
    "auc_model double, auc_baseline double, auc_p_alive double, model_beats_baseline boolean, "
    "model_used boolean, reason string"
)
