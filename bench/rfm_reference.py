"""The pipeline's per-customer RFM for one day D (docs/metrics.md), written three more ways over the Parquet
orders: one bare DuckDB query, one Polars lazy query, and plain vectorised pandas.

They follow `sql/marts/customer_snapshot/` to the letter, so that any difference is a bug:
- counted order: status 'completed', value = amount - coalesce(refund_amount, 0), day = ordered_at's
  date; population: customers with a counted order on or before D;
- return: status 'returned', value = -|amount|: in monetary (on its day), never an order;
- recency_days = D - day of the last counted order; frequency (counted orders) and monetary
  (counted orders and returns) over (D - window, D];
- r, f, m = least(5, 1 + floor(5 * percent_rank)) with percent_rank = (rank - 1) / (n - 1) in double
  precision (0 when n = 1), rank = the lowest rank of the ties; recency ranked in descending order
  of days (a long-ago buyer ranks first, so more recent is a higher score), frequency and monetary
  ascending;
- rfm_score = round(100 * (w_r r + w_f f + w_m m) / (5 (w_r + w_f + w_m)), 4); tier A >= 80,
  B >= 65, C > 50, D otherwise (thresholds and weights from the settings).
Money is compared in whole cents (exact integers), so equal sums tie exactly, as decimals do in SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from loyalty.settings import Settings

COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary_cents",
    "r",
    "f",
    "m",
    "rfm_score",
    "tier",
]


@dataclass(frozen=True)
class RfmParams:
    as_of: dt.date
    window_days: int
    w_r: float
    w_f: float
    w_m: float
    tier_a: float
    tier_b: float
    tier_c: float

    @classmethod
    def from_settings(cls, settings: Settings, as_of: dt.date) -> RfmParams:
        m = settings.metrics
        if m.rfm_bins is not None:
            raise ValueError("the benchmark's reference RFM implements percent ranks, not rfm_bins")
        w = m.rfm_weights
        return cls(
            as_of,
            m.rfm_window_days,
            float(w.r),
            float(w.f),
            float(w.m),
            float(m.tiers.A),
            float(m.tiers.B),
            float(m.tiers.C),
        )

    @property
    def next_day(self) -> dt.datetime:  # counted orders are those before this instant
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    @property
    def window_start(self) -> dt.date:  # the window is (window_start, as_of]
        return self.as_of - dt.timedelta(days=self.window_days)


# --------------------------------------------------------------------------------------------------
# DuckDB: one query

DUCKDB_SQL = """
with counted as (
    select customer_id, ordered_at::date as order_date, status = 'completed' as is_counted,
           case when status = 'returned' then -abs(amount)
                else amount - coalesce(refund_amount, 0) end as value
    from read_parquet($path)
    where status in ('completed', 'returned') and ordered_at < $next_day
),
per_customer as (
    select customer_id,
           ($as_of - max(order_date) filter (where is_counted))::integer as recency_days,
           count(*) filter (where is_counted and order_date > $window_start)::integer as frequency,
           coalesce(sum(value) filter (where order_date > $window_start), 0) as monetary
    from counted
    group by customer_id
    having count(*) filter (where is_counted) > 0
),
scored as (
    select *,
           least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc)))::integer as r,
           least(5, 1 + floor(5 * percent_rank() over (order by frequency)))::integer as f,
           least(5, 1 + floor(5 * percent_rank() over (order by monetary)))::integer as m
    from per_customer
),
weighted as (
    select *, round(100 * ($w_r * r + $w_f * f + $w_m * m) / (5 * ($w_r + $w_f + $w_m)), 4) as rfm_score
    from scored
)
select customer_id, recency_days, frequency, (monetary * 100)::bigint as monetary_cents, r, f, m,
       rfm_score,
       case when rfm_score >= $tier_a then 'A' when rfm_score >= $tier_b then 'B'
            when rfm_score > $tier_c then 'C' else 'D' end as tier
from weighted
"""


def rfm_duckdb(path: Path, p: RfmParams, memory_limit: str | None = None, temp: Path | None = None):
    import duckdb

    config = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp:
        config["temp_directory"] = str(temp)
    conn = duckdb.connect(config=config)
    try:
        # a relation's Arrow table (the DB-API cursor's would copy the rows once more)
        return conn.sql(
            DUCKDB_SQL,
            params={
                "path": str(path),
                "next_day": p.next_day,
                "as_of": p.as_of,
                "window_start": p.window_start,
                "w_r": p.w_r,
                "w_f": p.w_f,
                "w_m": p.w_m,
                "tier_a": p.tier_a,
                "tier_b": p.tier_b,
                "tier_c": p.tier_c,
            },
        ).to_arrow_table()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------
# Polars: one lazy query


def _polars_score(col: str, descending: bool):
    import polars as pl

    n = pl.len().cast(pl.Float64)
    rank = pl.col(col).rank("min", descending=descending).cast(pl.Float64)
    pct = pl.when(n > 1).then((rank - 1.0) / (n - 1.0)).otherwise(0.0)
    return pl.min_horizontal(pl.lit(5.0), 1.0 + (5.0 * pct).floor()).cast(pl.Int32)


def _polars_tier(p: RfmParams):
    import polars as pl

    s = pl.col("rfm_score")
    return (
        pl.when(s >= p.tier_a)
        .then(pl.lit("A"))
        .when(s >= p.tier_b)
        .then(pl.lit("B"))
        .when(s > p.tier_c)
        .then(pl.lit("C"))
        .otherwise(pl.lit("D"))
    )


def rfm_polars(path: Path, p: RfmParams):
    import polars as pl

    in_window = pl.col("order_date") > p.window_start
    score = (
        100.0
        * (p.w_r * pl.col("r") + p.w_f * pl.col("f") + p.w_m * pl.col("m"))
        / (5.0 * (p.w_r + p.w_f + p.w_m))
    )
    return (
        pl.scan_parquet(path)
        .filter(
            pl.col("status").is_in(["completed", "returned"]) & (pl.col("ordered_at") < p.next_day)
        )
        .select(
            "customer_id",
            pl.col("ordered_at").dt.date().alias("order_date"),
            (pl.col("status") == "completed").alias("is_counted"),
            (
                pl.when(pl.col("status") == "returned")
                .then(-pl.col("amount").abs())
                .otherwise(pl.col("amount") - pl.col("refund_amount").fill_null(0))
                * 100
            )
            .cast(pl.Int64)
            .alias("cents"),
        )
        .group_by("customer_id")
        .agg(
            (pl.lit(p.as_of) - pl.col("order_date").filter(pl.col("is_counted")).max())
            .dt.total_days()
            .cast(pl.Int32)
            .alias("recency_days"),
            (in_window & pl.col("is_counted")).sum().cast(pl.Int32).alias("frequency"),
            pl.col("cents").filter(in_window).sum().alias("monetary_cents"),
            pl.col("is_counted").any().alias("bought"),
        )
        .filter(pl.col("bought"))
        .with_columns(
            _polars_score("recency_days", descending=True).alias("r"),
            _polars_score("frequency", descending=False).alias("f"),
            _polars_score("monetary_cents", descending=False).alias("m"),
        )
        .with_columns(score.round(4).alias("rfm_score"))
        .with_columns(_polars_tier(p).alias("tier"))
        .select(COLUMNS)
        .collect()
    )


# --------------------------------------------------------------------------------------------------
# pandas: what an analyst writes by hand (read_parquet, boolean filter, groupby, rank)


def _pandas_score(values, ascending: bool):
    import numpy as np

    n = len(values)
    rank = values.rank(method="min", ascending=ascending)
    pct = (rank - 1.0) / (n - 1.0) if n > 1 else rank * 0.0
    return np.minimum(5.0, 1.0 + np.floor(5.0 * pct)).astype("int32")


def rfm_pandas(path: Path, p: RfmParams):
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(
        path, columns=["customer_id", "ordered_at", "amount", "status", "refund_amount"]
    )
    df = df[
        df["status"].isin(["completed", "returned"]) & (df["ordered_at"] < pd.Timestamp(p.next_day))
    ]
    is_counted = df["status"] == "completed"
    amount = df["amount"].astype(float)
    value = (amount - df["refund_amount"].astype(float).fillna(0.0)).where(
        is_counted, -amount.abs()
    )
    order_date = df["ordered_at"].dt.normalize()
    in_window = order_date > pd.Timestamp(p.window_start)
    work = pd.DataFrame(
        {
            "customer_id": df["customer_id"],
            # a return is no order: it has no day of its own for recency, nor counts in frequency
            "order_date": order_date.where(is_counted),
            "in_window": in_window & is_counted,
            "bought": is_counted,
            # whole cents, so that equal sums tie exactly (floats would break ties at random)
            "cents_in_window": (value * 100).round().astype("int64").where(in_window, 0),
        }
    )
    out = (
        work.groupby("customer_id", sort=False)
        .agg(
            last_date=("order_date", "max"),
            frequency=("in_window", "sum"),
            monetary_cents=("cents_in_window", "sum"),
            bought=("bought", "any"),
        )
        .reset_index()
    )
    out = out[out["bought"]].reset_index(drop=True)
    out["recency_days"] = (pd.Timestamp(p.as_of) - out["last_date"]).dt.days.astype("int32")
    out["frequency"] = out["frequency"].astype("int32")
    out["r"] = _pandas_score(out["recency_days"], ascending=False)
    out["f"] = _pandas_score(out["frequency"], ascending=True)
    out["m"] = _pandas_score(out["monetary_cents"], ascending=True)
    out["rfm_score"] = np.round(
        100.0
        * (p.w_r * out["r"] + p.w_f * out["f"] + p.w_m * out["m"])
        / (5.0 * (p.w_r + p.w_f + p.w_m)),
        4,
    )
    s = out["rfm_score"]
    out["tier"] = np.select([s >= p.tier_a, s >= p.tier_b, s > p.tier_c], ["A", "B", "C"], "D")
    return out[COLUMNS]


# --------------------------------------------------------------------------------------------------
# agreement


def compare_with_pipeline(
    database: Path, as_of: dt.date, results: dict[str, Path]
) -> dict[str, dict]:
    """Per implementation: rows, customers only on one side, and rows whose recency, frequency,
    monetary (to the cent), r, f, m or tier differ from the pipeline's customer_snapshot of D."""
    import duckdb

    conn = duckdb.connect()
    try:
        conn.execute(f"attach '{database}' as pipe (read_only)")
        conn.execute(
            """create temp table snap as
               select customer_id, recency_days, frequency, (monetary * 100)::bigint as monetary_cents,
                      r, f, m, rfm_score, tier
               from pipe.customer_snapshot where as_of = $as_of""",
            {"as_of": as_of},
        )
        conn.execute("detach pipe")
        out = {"pipeline": {"rows": conn.execute("select count(*) from snap").fetchall()[0][0]}}
        for name, path in results.items():
            row = conn.execute(
                """with o as (select * from read_parquet($path)),
                   j as (select s.customer_id as s_id, o.customer_id as o_id,
                                s.recency_days is distinct from o.recency_days
                                or s.frequency is distinct from o.frequency
                                or s.monetary_cents is distinct from o.monetary_cents
                                or s.r is distinct from o.r or s.f is distinct from o.f
                                or s.m is distinct from o.m or s.tier is distinct from o.tier
                                or abs(s.rfm_score - o.rfm_score) > 1e-6 as differs,
                                s.customer_id || ': pipeline ' || s.recency_days || 'd/' || s.frequency
                                || '/' || s.monetary_cents || 'c r' || s.r || ' f' || s.f || ' m' || s.m
                                || ' ' || s.tier || ' vs ' || o.recency_days || 'd/' || o.frequency
                                || '/' || o.monetary_cents || 'c r' || o.r || ' f' || o.f || ' m' || o.m
                                || ' ' || o.tier as example
                         from snap s full outer join o on s.customer_id = o.customer_id)
                   select (select count(*) from o),
                          count(*) filter (where o_id is null),
                          count(*) filter (where s_id is null),
                          count(*) filter (where s_id is not null and o_id is not null and differs),
                          list(example order by s_id) filter (where differs and o_id is not null)[1:3]
                   from j""",
                {"path": str(path)},
            ).fetchall()[0]
            rows, only_pipeline, only_other, differ, examples = row
            out[name] = {
                "rows": rows,
                "only_in_pipeline": only_pipeline,
                "only_here": only_other,
                "differ": differ,
                "examples": examples or [],
                "agrees": only_pipeline == 0 and only_other == 0 and differ == 0,
            }
        return out
    finally:
        conn.close()
