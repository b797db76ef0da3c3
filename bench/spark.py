"""The Spark engine beside DuckDB at a benchmark size (docs/scale-out.md, "Benchmark").

    .venv/bin/python bench/spark.py --orders 1M [--days 7] [--cores 2] [--driver-memory 2g] [--skew]

Reuses (or generates) the seeded exports of bench/run.py, loads them with the DuckDB pipeline
(ingest and staging), exports the inputs the models read to Parquet, then computes the same steps
on both engines, each timed in this process (wall seconds):

- customer_snapshot for the last `--days` days in one range run (the `range` path: segments, the
  scored rows of every day, their fold into customer_state stored by change, snapshot_params);
- the period marts (report_periods first, then the others, each a full build);
- the next day carried from the range's last (the `carry` path, a night without new orders: the
  windows and the day-dependent flags move); with `--skew`, the stage of that night on Spark
  whose largest task read the largest share of its shuffled rows (a step whose rows all go to one
  task does not spread over a cluster's cores), adaptive execution's coalescing of small shuffle
  partitions turned off so that it does not merge them into one task at this size.

DuckDB runs with the settings of bench/run.py (memory limit 2GB); Spark in local mode on `--cores`
cores (loyalty.spark.session), its staging written as Parquet tables first (DuckDB's are views).
The row counts of every table are compared (the values are proven equal on the sample by
tests/test_spark_parity.py); a difference exits 1. Then one table is printed, and the sizes the
scale-out plan extrapolates from: customer_state rows per customer and bytes per row, a scored
day row's bytes, stg_orders bytes per order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `pipeline` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.exports import ensure_exports, link_landing
from bench.measure import REPO, machine
from bench.run import code_version, write_settings

KINDS = ("orders", "tickets", "surveys", "customers")
# what the Spark side reads, exported from DuckDB after the load (customer_state and
# snapshot_params empty: the snapshot range fills them on each engine)
INPUTS = ("orders", "tickets", "surveys", "ticket_settings", "customer_state", "snapshot_params")
SNAPSHOT = "marts/customer_snapshot"
# cohort_retention reads its stored cells before $since: none in a build from scratch
NOTHING_STORED = {
    "cohort_retention": "row_type string, cohort_month date, k int, activity_month date, "
    "size bigint, active_count bigint, share double, is_complete boolean",
}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def shuffle_bytes(spark) -> int:
    """Bytes every stage of the session wrote to its shuffle so far (Spark's REST API of the
    session's UI, which the benchmark's session enables on a local port)."""
    import json
    import urllib.request

    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return sum(s.get("shuffleWriteBytes", 0) for s in json.load(answer))


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*.parquet"))


def export(conn, folder: Path, table: str, query: str | None = None) -> Path:
    target = folder / table
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    conn.execute(
        f"copy ({query or f'select * from {table}'}) to '{target / 'part-0.parquet'}' "
        "(format parquet)"
    )
    return target


def duckdb_side(settings, work: Path, start: dt.date, end: dt.date) -> tuple[dict, dict]:
    """Load, export the inputs, then the snapshot range and the period marts: seconds per step,
    and the row counts and sizes measured."""
    from loyalty import engine
    from loyalty.ingest import ingest_source
    from loyalty.marts.periods import PERIOD_TABLES, compute_period_table
    from loyalty.marts.snapshot import compute_snapshot, create_snapshot_tables
    from loyalty.marts.staging import STAGING, build_staging

    seconds: dict[str, float] = {}
    sizes: dict[str, Any] = {}
    inputs = work / "inputs"
    with engine.connect(settings) as conn:

        def load() -> None:
            for kind in KINDS:
                ingest_source(conn, settings, kind)
            for name in STAGING:
                build_staging(conn, settings, name)

        seconds["load"] = timed(load)
        create_snapshot_tables(conn)
        seconds["export"] = timed(lambda: [export(conn, inputs, t) for t in INPUTS])
        written: dict[str, int] = {}
        seconds["snapshot"] = timed(
            lambda: compute_snapshot(conn, settings, start, end, written=written)
        )
        for name in PERIOD_TABLES:
            seconds[name] = timed(lambda name=name: compute_period_table(conn, settings, name))
        sizes["customers"] = engine.scalar(conn, "select count(distinct customer_id) from orders")
        sizes["orders"] = engine.scalar(conn, "select count(*) from orders")
        sizes["inserted"] = written.get("inserted")
        for table in ("customer_state", *PERIOD_TABLES):
            sizes[table] = engine.scalar(conn, f"select count(*) from {table}")
        sizes["day_rows"] = engine.scalar(
            conn, "select count(*) from customer_snapshot where as_of = ?", [end]
        )
        measured = work / "measured"
        day = export(
            conn,
            measured,
            "snapshot_day",
            f"select * from customer_snapshot where as_of = date '{end.isoformat()}'",
        )
        sizes["day_row_bytes"] = folder_bytes(day) / max(1, sizes["day_rows"])
        staged = export(conn, measured, "stg_orders")
        sizes["stg_order_bytes"] = folder_bytes(staged) / max(1, sizes["orders"])
        night = end + dt.timedelta(days=1)
        carried: dict[str, int] = {}
        paths: list[str] = []
        seconds["carry"] = timed(
            lambda: paths.append(compute_snapshot(conn, settings, night, night, written=carried))
        )
        if paths != ["carry"]:
            raise SystemExit(f"DuckDB computed {night} by {paths}, not by carrying {end}")
        sizes["carry_computed"] = carried["computed"]
        sizes["carry_state"] = engine.scalar(conn, "select count(*) from customer_state")
    return seconds, sizes


def spark_side(
    settings, work: Path, start: dt.date, end: dt.date, spark, skew: bool = False
) -> tuple[dict, dict]:
    """The same steps on Spark over the exported inputs, in `<work>/warehouse`."""
    from loyalty import engine
    from loyalty.marts.periods import EVERY_PERIOD, MOVED_COUNTS, PERIOD_TABLES, orders_from
    from loyalty.marts.snapshot import (
        OPEN_END,
        PARAMS,
        run_params,
        snapshot_steps,
    )
    from loyalty.marts.staging import STAGING
    from loyalty.metric_params import model_params
    from loyalty.spark import catalog
    from loyalty.spark import engine as spark_engine

    warehouse = work / "warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    shutil.copytree(work / "inputs", warehouse)
    spark_engine.register_warehouse(spark, warehouse)
    seconds: dict[str, float] = {}

    def staging() -> None:
        for view in STAGING:
            frame = spark_engine.run_model(spark, f"staging/{view}")
            spark_engine.write_table(spark, frame, view, warehouse)

    seconds["staging"] = timed(staging)
    with engine.connect(settings, read_only=True) as conn:
        params = {**run_params(conn, settings, start, end, "bench"), "reach_date": OPEN_END}

    parts: dict[str, float] = {}

    def snapshot() -> None:
        snapshot_view(spark)
        with spark_engine.intermediate(spark) as steps:
            for step in (*snapshot_steps("range", pieces=True), "state/snapshot_intervals"):
                parts[step] = timed(lambda step=step: make_step(spark, steps, step, params))
            fold(spark, steps, params, warehouse, parts)
        parts["snapshot_params"] = timed(
            lambda: spark_engine.replace_days(spark, PARAMS, params, warehouse)
        )
        snapshot_view(spark)

    shuffled = {"before": shuffle_bytes(spark)}
    seconds["snapshot"] = timed(snapshot)
    shuffled["snapshot"] = shuffle_bytes(spark)
    print("  snapshot steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()))
    with engine.connect(settings, read_only=True) as conn:
        # the first period's start: every period's orders (DuckDB's report_periods, the same)
        bound = orders_from(conn, {**model_params(settings), "since": EVERY_PERIOD})

    def build(name: str) -> None:
        # a build from scratch, as compute_period_table's first: no period moved, no cell kept
        if name in MOVED_COUNTS:
            none = spark_engine.run_model(spark, f"marts/{name}/{name}_moved_none", bound)
            catalog.view(none, f"{name}_moved")
        if name in NOTHING_STORED:
            catalog.view(spark.createDataFrame([], NOTHING_STORED[name]), name)
        spark_engine.create_table(spark, f"marts/{name}", bound, warehouse)

    for name in PERIOD_TABLES:
        seconds[name] = timed(lambda name=name: build(name))
    shuffled["periods"] = shuffle_bytes(spark)
    sizes = {t: spark.table(t).count() for t in ("customer_state", *PERIOD_TABLES)}
    sizes["shuffle_snapshot"] = shuffled["snapshot"] - shuffled["before"]
    sizes["shuffle_periods"] = shuffled["periods"] - shuffled["snapshot"]
    sizes["state_bytes"] = folder_bytes(warehouse / "customer_state")

    night = end + dt.timedelta(days=1)
    with engine.connect(settings, read_only=True) as conn:
        carry_params = {
            **run_params(conn, settings, night, night, "bench"),
            "reach_date": OPEN_END,
            "every_customer": False,
            "only_computed": True,
        }
    nightly: dict[str, float] = {}

    def carry() -> None:
        with spark_engine.intermediate(spark) as steps:
            for step in (*snapshot_steps("carry"), "state/day_intervals"):
                # one day's rows are their own runs (compute_snapshot's day_intervals)
                name = "snapshot_intervals" if step == "state/day_intervals" else None
                nightly[step] = timed(
                    lambda step=step, name=name: make_step(spark, steps, step, carry_params, name)
                )
            fold(spark, steps, carry_params, warehouse, nightly)
        spark_engine.replace_days(spark, PARAMS, carry_params, warehouse)
        snapshot_view(spark)

    first_stage = last_stage(spark) + 1 if skew else 0
    seconds["carry"] = timed(carry)
    slow = sorted(nightly.items(), key=lambda kv: -kv[1])[:6]
    print("  carried night's steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slow))
    sizes["carry_state"] = spark.table("customer_state").count()
    if skew:
        sizes["carry_task"] = most_skewed(spark, first_stage)
    return seconds, sizes


def fold(spark, steps, params: dict, warehouse: Path, parts: dict[str, float]) -> None:
    """The scored runs folded into customer_state (one share of the customers, as a night) and
    the changes applied, each timed into `parts`."""
    from loyalty.marts.snapshot_fold import STATE_KEY, STATE_STEPS
    from loyalty.spark import engine as spark_engine

    share = {**params, "bucket": 0, "buckets": 1}
    if params.get("only_computed"):  # a carried night: its fold in one step, as on DuckDB
        parts["state/ (fold)"] = timed(
            lambda: steps.create(f"{SNAPSHOT}/state/night_changes", share, name="state_changes")
        )
    else:
        parts["state/ (fold)"] = timed(
            lambda: [steps.create(f"{SNAPSHOT}/{step}", share) for step in STATE_STEPS]
        )
    parts["apply_changes"] = timed(
        lambda: spark_engine.apply_changes(
            spark, "customer_state", "state_changes", STATE_KEY, warehouse
        )
    )


def make_step(spark, steps, step: str, params: dict, name: str | None = None) -> None:
    """A step of customer_snapshot as loyalty.marts.snapshot makes it on Spark: a projection of
    another step (VIEW_STEPS, inline) as a plain view, any other computed once (checkpointed)."""
    from loyalty.engine import table_of
    from loyalty.marts.snapshot import STEP_TABLES, VIEW_STEPS
    from loyalty.spark import catalog
    from loyalty.spark import engine as spark_engine

    model = f"{SNAPSHOT}/{step}"
    if VIEW_STEPS.get(step):
        catalog.view(spark_engine.run_model(spark, model, params), name or table_of(model))
    else:
        steps.create(model, params, name=name or STEP_TABLES.get(step))


def _stages(spark) -> list[dict]:
    import json
    import urllib.request

    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return list(json.load(answer))


def last_stage(spark) -> int:
    return max((s["stageId"] for s in _stages(spark)), default=-1)


def most_skewed(spark, first_stage: int) -> dict[str, Any]:
    """Of the stages from `first_stage` on that read at least 10,000 rows from a shuffle, the one
    whose largest task read the largest share of them: its rows, that task's, its task count and
    name (Spark's REST API: taskSummary). A shuffle by one key (a window over one day) puts every
    row in one task, however many cores there are; a balanced one gives each task about one
    share of `spark.sql.shuffle.partitions`. (A scan's tasks follow the files: at this size one
    file of a table is one task, which a cluster's larger tables split.)"""
    import json
    import urllib.request

    sc = spark.sparkContext
    base = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
    best: dict[str, Any] = {"rows": 0, "stage": "", "tasks": 0, "stage_rows": 0, "share": 0.0}
    for stage in _stages(spark):
        if stage["stageId"] < first_stage or stage.get("status") != "COMPLETE":
            continue
        stage_rows = stage.get("shuffleReadRecords", 0)
        if stage["numTasks"] < 2 or stage_rows < 10_000:
            continue
        url = f"{base}/{stage['stageId']}/{stage['attemptId']}/taskSummary?quantiles=1.0"
        with urllib.request.urlopen(url, timeout=30) as answer:
            summary = json.load(answer)
        rows = int(summary.get("shuffleReadMetrics", {}).get("readRecords", [0])[0])
        if rows / stage_rows > best["share"]:
            best = {
                "rows": rows,
                "stage": f"stage {stage['stageId']}: {stage.get('description') or stage['name']}",
                "tasks": stage["numTasks"],
                "stage_rows": stage_rows,
                "share": rows / stage_rows,
            }
    return best


def snapshot_view(spark) -> None:
    """customer_snapshot, DuckDB's view over customer_state (snapshot_view.sql), as a Spark temp view
    (made again after customer_state is written: a temp view keeps the files it was made over)."""
    import re

    from loyalty.engine import sql_text
    from loyalty.spark import catalog
    from loyalty.spark import engine as spark_engine

    text = sql_text(f"{SNAPSHOT}/snapshot_view.sql")
    found = re.search(r"create or replace view customer_snapshot as\s+(select.*?);", text, re.S)
    if found is None:
        raise SystemExit("customer_snapshot's view not found in its snapshot_view.sql")
    catalog.view(spark_engine.run_sql(spark, found.group(1)), "customer_snapshot")


LABELS = {
    "load": "load: ingest + staging (DuckDB; Spark reads its Parquet export)",
    "export": "export of the inputs to Parquet",
    "staging": "staging views written as Parquet tables (Spark)",
    "snapshot": "customer_snapshot, {days} days in one range run",
    "carry": "customer_snapshot, the next day carried (a night)",
}


def print_table(duck: dict, spark: dict, sizes: dict, opts, e, host, days: int) -> None:
    print()
    print(
        f"Spark local[{opts.cores}] (driver {opts.driver_memory}) beside DuckDB "
        f"(memory limit {opts.memory_limit}), {e.orders:,} orders, {sizes['customers']:,} "
        f"customers, {host['cores']} cores, load average at start {host['load_avg'][0]:.2f}"
    )
    print()
    print("| step | DuckDB s | Spark s | rows |")
    print("|---|---:|---:|---:|")
    for step in ("load", "export", "staging", "snapshot", *PERIOD_ORDER, "carry"):
        label = LABELS.get(step, step).format(days=days)
        d = f"{duck[step]:.2f}" if step in duck else "-"
        s = f"{spark[step]:.2f}" if step in spark else "-"
        rows = sizes.get({"snapshot": "customer_state", "carry": "carry_state"}.get(step, step), "")
        print(f"| {label} | {d} | {s} | {rows:,} |" if rows != "" else f"| {label} | {d} | {s} | |")
    periods = [s for s in PERIOD_ORDER]
    print(
        f"| period marts, total | {sum(duck[s] for s in periods):.2f} | "
        f"{sum(spark[s] for s in periods):.2f} | |"
    )
    print()
    state = sizes["customer_state"]
    print(
        f"customer_state after {days} days: {state:,} rows = {state / sizes['customers']:.2f} per "
        f"customer; {sizes['state_bytes'] / max(1, state):.1f} bytes per row as Spark's Parquet"
    )
    print(
        f"a scored day row (customer_snapshot): {sizes['day_row_bytes']:.1f} bytes as Parquet "
        f"({sizes['day_rows']:,} rows on {e.end}); stg_orders: {sizes['stg_order_bytes']:.1f} "
        "bytes per order as Parquet"
    )
    day_rows = sizes["day_rows"] * days
    print(
        f"shuffle written by Spark: snapshot range {sizes['shuffle_snapshot'] / 2**20:,.1f} MB "
        f"({sizes['shuffle_snapshot'] / max(1, day_rows):.1f} bytes per scored day row), period "
        f"marts {sizes['shuffle_periods'] / 2**20:,.1f} MB"
    )
    print(f"the carried night computed {sizes['carry_computed']:,} customers (DuckDB)")
    if task := sizes.get("carry_task"):
        print(
            f"  on Spark its most skewed stage: one of {task['tasks']} tasks read "
            f"{task['rows']:,} of its {task['stage_rows']:,} shuffled rows ({task['share']:.0%}; "
            f"{task['stage'][:160]})"
        )


PERIOD_ORDER = (
    "report_periods",
    "retention_period",
    "repurchase_period",
    "nps_period",
    "service_period",
    "cohort_retention",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/spark.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", default="1M", help="target order count (default 1M)")
    ap.add_argument("--data-dir", type=Path, default=REPO / "bench" / "data")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=7, help="snapshot days in the range run")
    ap.add_argument("--cores", type=int, default=2, help="Spark local[N]")
    ap.add_argument("--driver-memory", default="2g")
    ap.add_argument("--shuffle-partitions", default="4")
    ap.add_argument("--memory-limit", default="2GB", help="DuckDB's memory limit")
    ap.add_argument("--ui-port", type=int, default=4077, help="the Spark UI's local port")
    ap.add_argument(
        "--skew",
        action="store_true",
        help="print the carried night's most skewed shuffle stage (AQE coalescing off)",
    )
    opts = ap.parse_args(argv)

    from loyalty.settings import load_settings
    from loyalty.spark.session import get_session, stop_session

    host = machine()
    print(f"machine: {host['cores']} cores, {host['ram_gb']} GB RAM, {host['cpu']}")
    print(f"code: {code_version()}")
    data_dir = opts.data_dir.resolve()
    e = ensure_exports(data_dir, opts.orders, opts.seed)
    work = data_dir / f"spark-{opts.orders}-seed{opts.seed}"
    shutil.rmtree(work, ignore_errors=True)
    link_landing(e, work / "landing")
    settings = load_settings(write_settings(work, e, opts.memory_limit))
    start, end = e.end - dt.timedelta(days=opts.days - 1), e.end

    print("DuckDB ...", flush=True)
    duck, sizes = duckdb_side(settings, work, start, end)
    print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in duck.items()), flush=True)
    print(f"Spark local[{opts.cores}] ...", flush=True)
    spark = get_session(
        cores=opts.cores,
        conf={
            "spark.driver.memory": opts.driver_memory,
            "spark.sql.shuffle.partitions": opts.shuffle_partitions,
            "spark.local.dir": str(work / "spark-tmp"),
            # the UI's REST API reports each stage's shuffle bytes (shuffle_bytes)
            "spark.ui.enabled": "true",
            "spark.ui.port": str(opts.ui_port),
            **({"spark.sql.adaptive.coalescePartitions.enabled": "false"} if opts.skew else {}),
        },
        app_name="loyalty-bench",
    )
    try:
        got, spark_sizes = spark_side(settings, work, start, end, spark, opts.skew)
    finally:
        stop_session(spark)
    print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in got.items()), flush=True)
    differ = {
        t: (sizes[t], spark_sizes[t])
        for t in ("customer_state", *PERIOD_ORDER)
        if sizes[t] != spark_sizes[t]
    }
    if differ:
        print(f"ROW COUNTS DIFFER (duckdb, spark): {differ}", file=sys.stderr)
        return 1
    if sizes["carry_state"] != spark_sizes["carry_state"]:
        print(
            "ROW COUNTS DIFFER after the carried night (duckdb, spark): "
            f"{sizes['carry_state']}, {spark_sizes['carry_state']}",
            file=sys.stderr,
        )
        return 1
    for key in ("state_bytes", "shuffle_snapshot", "shuffle_periods", "carry_task"):
        if key in spark_sizes:
            sizes[key] = spark_sizes[key]
    print_table(duck, got, sizes, opts, e, host, opts.days)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
