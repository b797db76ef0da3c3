"""The benchmark's steps, one per process: `python -m bench.steps STEP ARGS_JSON`.

Each step imports what it needs, notes its resident memory after imports, times only its own work
and reports {seconds, base_rss_mb, ...} to the parent (bench/run.py), which measures the process's
wall time and peak RSS from outside.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from bench.history import nights_before, previous_ingest
from bench.measure import report_result, rss_mb

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


class Pipeline:
    """Materialises assets of the pipeline's Definitions the way `loyalty run` does (in process,
    an ephemeral instance, the resource pointing at the benchmark's settings file)."""

    def __init__(self, settings_file: str):
        # the code location reads its partitions from this file when it is imported
        os.environ["LOYALTY_SETTINGS"] = settings_file
        import dagster as dg

        from loyalty import definitions

        self.dg = dg
        self.definitions = definitions
        self.resources = {"loyalty": definitions.LoyaltyResource(settings_file=settings_file)}
        self.instance = dg.DagsterInstance.ephemeral()
        self.graph = definitions.defs.resolve_asset_graph()

    def keys(self, pred) -> list:
        return [k for k in self.graph.materializable_asset_keys if pred(self.graph.get(k))]

    def group(self, name: str) -> list:
        return self.keys(lambda n: n.group_name == name)

    def key(self, name: str):
        return self.dg.AssetKey(name)

    def materialize(self, selection: list, what: str, **kw) -> None:
        dg = self.dg
        result = dg.materialize(
            [*self.definitions.all_assets, *self.definitions.all_checks],
            selection=dg.AssetSelection.assets(*selection),
            resources=self.resources,
            instance=self.instance,
            raise_on_error=False,
            **kw,
        )
        failures = [
            f"{ev.step_key}: {ev.step_failure_data.error.message.strip() if ev.step_failure_data.error else ''}"
            for ev in result.all_events
            if ev.event_type_value == "STEP_FAILURE"
        ]
        failures += [
            f"check {ev.check_name}: {ev.description or ''}"
            for ev in result.get_asset_check_evaluations()
            if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR
        ]
        if not result.success or failures:
            raise SystemExit(f"{what} failed:\n  " + "\n  ".join(failures or ["see the log"]))
        # Dagster's own duration of each step (the asset, each check), and the asset metadata
        self.step_seconds = {
            ev.step_key: ev.event_specific_data.duration_ms / 1000
            for ev in result.all_events
            if ev.event_type_value == "STEP_SUCCESS"
        }
        # the checks that run in their asset's step report their own seconds (assets/metric_results)
        self.check_seconds = {
            ev.check_name: float(ev.metadata["check_seconds"].value)
            for ev in result.get_asset_check_evaluations()
            if "check_seconds" in ev.metadata
        }
        self.metadata = {
            ev.asset_key.to_user_string(): {
                k: getattr(v, "value", v)
                for k, v in ev.step_materialization_data.materialization.metadata.items()
            }
            for ev in result.all_events
            if ev.event_type_value == "ASSET_MATERIALIZATION"
        }

    def range_tags(self, start: dt.date, end: dt.date) -> dict:
        return {RANGE_START: start.isoformat(), RANGE_END: end.isoformat()}


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _settings(args):
    from loyalty.settings import load_settings

    return load_settings(args["settings"])


def _scalar(settings, sql: str, params=None):
    from loyalty import engine

    with engine.connect(settings, read_only=True) as conn:
        return engine.scalar(conn, sql, params)


# --------------------------------------------------------------------------------------------------
# pipeline steps


def step_load(args: dict) -> dict:
    """Full initial load: every history file into a fresh DuckDB file, plus the staging models."""
    p = Pipeline(args["settings"])
    base = rss_mb()
    seconds = _timed(lambda: p.materialize(p.group("ingest") + p.group("staging"), "full load"))
    s = _settings(args)
    from loyalty import engine

    with engine.connect(s, read_only=True) as conn:
        per_source = conn.execute(
            "select source, sum(rows_loaded), sum(rows_quarantined) from ingest_log group by 1 order by 1"
        ).fetchall()
    return {
        "seconds": seconds,
        "base_rss_mb": base,
        "loaded": per_source,
        "db_mb": s.database_path.stat().st_size / 2**20,
    }


def step_snapshot(args: dict) -> dict:
    """The nightly snapshot step: the customer_snapshot asset for one day (one partition)."""
    p = Pipeline(args["settings"])
    base = rss_mb()
    day = args["as_of"]
    seconds = _timed(
        lambda: p.materialize([p.key("customer_snapshot")], f"snapshot {day}", partition_key=day)
    )
    rows = _scalar(_settings(args), "select count(*) from customer_snapshot where as_of = ?", [day])
    return {"seconds": seconds, "base_rss_mb": base, "rows": rows, **_snapshot_steps(p)}


def _snapshot_steps(p: Pipeline) -> dict:
    """The customer_snapshot run's step times: the asset step without its check, its check (run in
    the asset's step since stop 27; any other step counted with it), and how the asset computed
    the day (`computed_by`)."""
    step = p.step_seconds.get("customer_snapshot", 0.0)
    check = p.check_seconds.get("snapshot_tiers_and_segments_partition_population", 0.0)
    return {
        "asset_step_seconds": step - check,
        "check_step_seconds": check + sum(p.step_seconds.values()) - step,
        "computed_by": str(p.metadata.get("customer_snapshot", {}).get("computed_by", "")).split(
            ":"
        )[0],
    }


def step_snapshot_sql(args: dict) -> dict:
    """The same day through the asset's SQL function alone (no Dagster): what the run costs over
    the query itself."""
    from loyalty import engine
    from loyalty.marts.snapshot import compute_snapshot

    s = _settings(args)
    day = dt.date.fromisoformat(args["as_of"])
    base = rss_mb()
    with engine.connect(s) as conn:
        seconds = _timed(lambda: compute_snapshot(conn, s, day, day))
    return {"seconds": seconds, "base_rss_mb": base}


def step_model(args: dict) -> dict:
    """The customer-value model for day D (after the snapshot step): the summary, the four fits
    (BG/NBD and Gamma-Gamma through D and through D - H), scoring every customer, the backtest and
    the writes, through loyalty.marts.value alone (no Dagster)."""
    from loyalty import engine
    from loyalty.marts.value import compute_customer_value

    s = _settings(args)
    day = dt.date.fromisoformat(args["as_of"])
    base = rss_mb()
    with engine.connect(s) as conn:
        out: list = []
        seconds = _timed(lambda: out.append(compute_customer_value(conn, s, day)))
        fit_seconds = engine.scalar(
            conn,
            "select coalesce(sum(fit_seconds), 0) from (select distinct purpose, model, "
            "fit_seconds from model_fit where as_of = ?)",
            [day],
        )
        q = conn.execute(
            "select customers, repeat_customers, auc_model, auc_baseline from model_quality "
            "where as_of = ?",
            [day],
        ).fetchall()[0]
    return {
        "seconds": seconds,
        "base_rss_mb": base,
        "fit_seconds": fit_seconds,
        "customers": q[0],
        "repeat_customers": q[1],
        "auc_model": q[2],
        "auc_baseline": q[3],
        "model_used": out[0].model_used,
        "reason": out[0].reason,
    }


def step_backfill(args: dict) -> dict:
    """customer_snapshot over a 30-day partition range in one run (single-run backfill)."""
    p = Pipeline(args["settings"])
    base = rss_mb()
    end = dt.date.fromisoformat(args["as_of"])
    start = end - dt.timedelta(days=args["days"] - 1)
    seconds = _timed(
        lambda: p.materialize(
            [p.key("customer_snapshot")], "backfill", tags=p.range_tags(start, end)
        )
    )
    rows = _scalar(
        _settings(args),
        "select count(*) from customer_snapshot where as_of between ? and ?",
        [start, end],
    )
    return {"seconds": seconds, "base_rss_mb": base, "rows": rows, "days": f"{start} .. {end}"}


def step_reports(args: dict) -> dict:
    """The weekly reports of the week ending on D, after their inputs (KPI board, period marts)."""
    p = Pipeline(args["settings"])
    dg = p.dg
    report_keys = [
        k
        for k in p.keys(
            lambda n: (
                n.group_name == "reports"
                and isinstance(n.partitions_def, dg.WeeklyPartitionsDefinition)
            )
        )
        if k.to_user_string() != "weekly_email"
    ]
    if not report_keys:
        return {"na": "n/a (not built yet)"}
    base = rss_mb()
    end = dt.date.fromisoformat(args["as_of"])
    start = end - dt.timedelta(days=args["days"] - 1)
    week_end = end - dt.timedelta(days=end.isoweekday() % 7)
    week_start = week_end - dt.timedelta(days=6)
    daily = p.keys(
        lambda n: (
            n.group_name == "marts" and isinstance(n.partitions_def, dg.DailyPartitionsDefinition)
        )
    )
    daily = [k for k in daily if k != p.key("customer_snapshot")]
    periods = p.keys(lambda n: n.group_name == "marts" and n.partitions_def is None)
    inputs = _timed(
        lambda: (
            p.materialize(daily, "report inputs (daily)", tags=p.range_tags(start, end)),
            p.materialize(periods, "report inputs (periods)"),
        )
    )
    seconds = _timed(
        lambda: p.materialize(report_keys, "reports", partition_key=week_start.isoformat())
    )
    return {
        "seconds": seconds,
        "base_rss_mb": base,
        "inputs_seconds": inputs,
        "assets": [k.to_user_string() for k in report_keys],
        "week": f"{week_start} .. {week_end}",
    }


def _model_keys(p: Pipeline) -> list:
    """The daily marts of the model: customer_value, action_list, revenue_at_risk."""
    return p.keys(
        lambda n: (
            n.group_name == "marts"
            and n.partitions_def is not None
            and n.key.to_user_string() not in ("customer_snapshot", "kpi_daily")
        )
    )


def step_nights_before(args: dict) -> dict:
    """What the nights before D leave (untimed, reported; a process of its own, before the timed
    night's): the snapshots of the 30 days before D as nightly one-day runs, the board of D - 7,
    the period marts, and the model marts of D - 1 as the night before's scheduled job left them
    (the action list of D's run then finds the week's Sunday, or D - 1, already written from the
    same inputs). The timed night then does what a night after a month of nights does."""
    p = Pipeline(args["settings"])
    s = _settings(args)
    day = dt.date.fromisoformat(args["day"])
    storage: list[dict] = []
    history_days = int(args.get("history_days", 0))
    seconds = _timed(lambda: storage.append(nights_before(p, s, day, history_days)))
    day_before = (day - dt.timedelta(days=1)).isoformat()
    seconds += _timed(
        lambda: p.materialize(_model_keys(p), f"model {day_before}", partition_key=day_before)
    )
    # then the period marts, as the scheduled job runs them after the model: say_do reads the
    # statuses of customer_value (run before the model, the timed night rebuilt say_do in full)
    seconds += _timed(
        lambda: p.materialize(
            p.keys(lambda n: n.group_name == "marts" and n.partitions_def is None),
            "period marts, the night before",
        )
    )
    return {"seconds": seconds, **storage[0]}


def step_nightly(args: dict) -> dict:
    """The nightly run on one new day of exports: ingest (history files are known and must be
    skipped) and that day's customer_snapshot, then the rest of the scheduled job. In a fresh
    process, as the daemon runs each run (Dagster's default run launcher) and as `loyalty run` is
    started: `args["before"]` is what step_nights_before left (run first, in its own process)."""
    import psutil

    p = Pipeline(args["settings"])
    s = _settings(args)
    day = args["day"]
    periods = p.keys(lambda n: n.group_name == "marts" and n.partitions_def is None)
    before = dict(args["before"])
    night_before = before.pop("seconds")
    previous_ingest(p, s)
    model_keys = _model_keys(p)
    last_load = _scalar(s, "select coalesce(max(load_id), 0) from ingest_log")
    base = rss_mb()
    io_before = psutil.Process().io_counters()
    ingest = _timed(lambda: p.materialize(p.group("ingest") + p.group("staging"), "nightly ingest"))
    io_after = psutil.Process().io_counters()
    snapshot = _timed(
        lambda: p.materialize([p.key("customer_snapshot")], f"snapshot {day}", partition_key=day)
    )
    snapshot_steps = _snapshot_steps(p)
    # the rest of the scheduled `nightly` job (loyalty.orchestration.jobs): that day's KPI board, then the
    # period marts (unpartitioned: they recompute every period the stored snapshots cover)
    kpis = _timed(
        lambda: p.materialize([p.key("kpi_daily")], f"kpi board {day}", partition_key=day)
    )
    kpi_states = str(p.metadata.get("kpi_daily", {}).get("customer_states_from", ""))
    # the job's other daily marts of D: the churn-and-value model (customer_value, fitted and
    # scored every night), the action list and revenue at risk, with their checks (model_keys)
    model = _timed(
        lambda: p.materialize(model_keys, f"model and action list {day}", partition_key=day)
    )
    model_steps = dict(p.step_seconds)  # Dagster's step times of that run
    model_summary = str(p.metadata.get("customer_value", {}).get("summary_sums", ""))
    period_marts = _timed(lambda: p.materialize(periods, "period marts"))
    from loyalty import engine

    with engine.connect(s, read_only=True) as conn:
        loaded = conn.execute(
            "select file_name, status, rows_loaded from ingest_log where load_id > ? order by load_id",
            [last_load],
        ).fetchall()
        rows = engine.scalar(conn, "select count(*) from customer_snapshot where as_of = ?", [day])
    return {
        "seconds": ingest + snapshot,
        "base_rss_mb": base,
        "ingest_seconds": ingest,
        "snapshot_seconds": snapshot,
        **snapshot_steps,
        "kpi_seconds": kpis,
        "model_seconds": model,
        "model_assets": [k.to_user_string() for k in model_keys],
        "model_steps": model_steps,
        "model_summary": model_summary,
        "period_marts_seconds": period_marts,
        "kpi_states": kpi_states,
        "night_before_seconds": night_before,
        **before,
        "db_bytes": s.database_path.stat().st_size,
        "job_seconds": ingest + snapshot + kpis + model + period_marts,
        "rows": rows,
        "new_files": loaded,
        "bytes_read_by_ingest": io_after.read_chars - io_before.read_chars,
    }


# --------------------------------------------------------------------------------------------------
# bare RFM (one as-of day) over the Parquet orders


def _bare(args: dict, compute, write) -> dict:
    from bench.rfm_reference import RfmParams

    params = RfmParams.from_settings(_settings(args), dt.date.fromisoformat(args["as_of"]))
    base = rss_mb()
    started = time.perf_counter()
    result = compute(Path(args["parquet"]), params)
    seconds = time.perf_counter() - started
    write(result, args["out"])  # outside the timing: only for the agreement check
    return {"seconds": seconds, "base_rss_mb": base, "rows": len(result)}


def step_duckdb(args: dict) -> dict:
    import pyarrow.parquet as pq

    from bench.rfm_reference import rfm_duckdb

    s = _settings(args)
    return _bare(
        args,
        lambda path, p: rfm_duckdb(path, p, s.duckdb.memory_limit, s.temp_path),
        lambda t, out: pq.write_table(t, out),
    )


def step_polars(args: dict) -> dict:
    import polars  # noqa: F401 - imported before the base RSS is taken

    from bench.rfm_reference import rfm_polars

    return _bare(args, rfm_polars, lambda f, out: f.write_parquet(out))


def step_pandas(args: dict) -> dict:
    import pandas  # noqa: F401 - imported before the base RSS is taken
    import pyarrow  # noqa: F401

    from bench.rfm_reference import rfm_pandas

    return _bare(args, rfm_pandas, lambda df, out: df.to_parquet(out, index=False))


STEPS = {
    "load": step_load,
    "snapshot": step_snapshot,
    "snapshot_sql": step_snapshot_sql,
    "model": step_model,
    "backfill": step_backfill,
    "reports": step_reports,
    "nights_before": step_nights_before,
    "nightly": step_nightly,
    "duckdb": step_duckdb,
    "polars": step_polars,
    "pandas": step_pandas,
}


def main(argv: list[str]) -> int:
    step, args = argv[0], json.loads(argv[1])
    report_result(STEPS[step](args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
