"""Run the whole pipeline in process for one settings file: what `loyalty run` does.

Steps, each one Dagster materialisation (so the same asset code runs as under the daemon):
1. ingest assets and their checks (a failing blocking check stops here);
2. staging and the daily-partitioned marts (customer snapshot, KPI board) for the days not stored
   yet up to day D — one run per contiguous range, set-based inside;
3. the period marts (retention, repurchase, NPS, service, cohorts);
4. the reports of the latest complete ISO week ending on or before D (and the email if asked).
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg

from loyalty import engine
from loyalty.orchestration.jobs import select_keys
from loyalty.settings import Settings, load_settings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


class RunFailed(Exception):
    pass


def _instance() -> dg.DagsterInstance:
    # with DAGSTER_HOME set, runs are recorded where the UI shows them; otherwise nothing is kept
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    msgs = []
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            err = ev.step_failure_data.error
            # the innermost cause is the user's error; its stack belongs in the run log, not here
            while err is not None and err.cause is not None:
                err = err.cause
            text = err.message.strip() if err else "failed"
            msgs.append(f"{ev.step_key}: {text}")
    for check in result.get_asset_check_evaluations():
        if not check.passed and check.severity == dg.AssetCheckSeverity.ERROR:
            msgs.append(f"check {check.check_name} failed: {check.description or ''}")
    return msgs


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(days):
        if out and d == out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def default_as_of(settings: Settings) -> dt.date | None:
    """The last day with orders, at most yesterday in the business time zone."""
    yesterday = dt.datetime.now(zoneinfo.ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    with engine.connect(settings, read_only=True) as conn:
        last = engine.scalar(conn, "select max(ordered_at)::date from orders")
    return None if last is None else min(last, yesterday)


def run_all(
    settings_file: Path,
    as_of: dt.date | None = None,
    overrides: str = "",
    email: bool = False,
    rebuild: bool = False,
    log: Callable[[str], None] = print,
) -> list[str]:
    from loyalty import definitions

    settings = load_settings(settings_file, overrides or None)
    resources = {
        "loyalty": definitions.LoyaltyResource(
            settings_file=str(settings_file), overrides=overrides
        )
    }
    instance = _instance()
    assets = list(definitions.all_assets)
    checks = list(definitions.all_checks)
    # the same selection by group and partitioning as the daemon's jobs (loyalty.orchestration.jobs), in steps
    unpartitioned, daily, weekly = (
        type(None),
        dg.DailyPartitionsDefinition,
        dg.WeeklyPartitionsDefinition,
    )
    ingest_keys = select_keys(assets, {"ingest"}, (unpartitioned,))
    staging_keys = select_keys(assets, {"staging"}, (unpartitioned,))
    daily_keys = select_keys(assets, {"marts"}, (daily,))
    period_keys = select_keys(assets, {"marts"}, (unpartitioned,))
    report_keys = select_keys(assets, {"reports"}, (weekly,))

    def materialize(selection: list[dg.AssetKey], what: str, **kw) -> dg.ExecuteInProcessResult:
        if not selection:
            return None  # type: ignore[return-value]
        everything: list = [*assets, *checks]
        result = dg.materialize(
            everything,
            selection=dg.AssetSelection.assets(*selection),
            resources=resources,
            instance=instance,
            raise_on_error=False,
            # the CLI prints its own progress; Dagster's per-event log is for the UI
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            **kw,
        )
        if not result.success:
            raise RunFailed(
                f"{what} failed:\n  "
                + "\n  ".join(_failure_messages(result) or ["see the run's log"])
            )
        return result

    log(f"[1/4] ingest: {', '.join(k.to_user_string() for k in ingest_keys)}")
    materialize(ingest_keys + staging_keys, "ingest")
    with engine.connect(settings, read_only=True) as conn:
        for src, files, loaded, quarantined in conn.execute(
            """select source, count(*), sum(rows_loaded), sum(rows_quarantined) from ingest_log
               group by 1 order by 1"""
        ).fetchall():
            log(
                f"      {src}: {files} file(s) logged, {loaded} rows loaded, {quarantined} quarantined"
            )

    if as_of is None:
        as_of = default_as_of(settings)
        if as_of is None:
            raise RunFailed(
                "no orders loaded: nothing to compute (check sources.orders in the settings)"
            )
    start = settings.schedules.start_date
    with engine.connect(settings, read_only=True) as conn:
        first_order = engine.scalar(conn, "select min(ordered_at)::date from orders")
        stored = set()
        if (
            not rebuild
            and engine.table_exists(conn, "customer_snapshot")
            and engine.table_exists(conn, "kpi_daily")
        ):
            stored = {
                r[0]
                for r in conn.execute(
                    "select distinct as_of from customer_snapshot intersect select distinct as_of from kpi_daily"
                ).fetchall()
            }
    first_day = max(start, first_order)
    if as_of < first_day:
        raise RunFailed(
            f"as-of {as_of} is before the first day with orders or partitions ({first_day})"
        )
    todo = [d for d in _days(first_day, as_of) if d not in stored]
    # the last day is always recomputed: its exports may have been completed since
    if as_of not in todo:
        todo.append(as_of)
    log(f"[2/4] daily snapshots and KPI board up to {as_of}: {len(todo)} day(s)")
    for lo, hi in _ranges(todo):
        tags = {RANGE_START: lo.isoformat(), RANGE_END: hi.isoformat()}
        materialize(daily_keys, f"snapshots {lo}..{hi}", tags=tags)
        log(f"      {lo} .. {hi} done")

    log(f"[3/4] period marts: {', '.join(k.to_user_string() for k in period_keys)}")
    materialize(period_keys, "period marts")

    summary = [f"database: {settings.database_path}"]
    week_end = as_of - dt.timedelta(days=(as_of.isoweekday() % 7))  # the Sunday on or before D
    week_start = week_end - dt.timedelta(days=6)
    if week_start < start:
        log("[4/4] reports: no complete week after schedules.start_date yet")
        return summary
    selection = [k for k in report_keys if email or k.to_user_string() != "weekly_email"]
    log(f"[4/4] reports for week {week_start} .. {week_end}" + (" and email" if email else ""))
    materialize(selection, "reports", partition_key=week_start.isoformat())
    iso = week_start.isocalendar()
    folder = settings.output_path / f"{iso.year}-W{iso.week:02d}"
    if folder.exists():
        # the files first, then the two places to look: the last lines a user reads
        files = [f"  {p}" for p in sorted(folder.rglob("*")) if p.is_file()]
        summary = ["files written:", *files, *summary, f"reports: {folder}"]
    return summary
