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
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from loyalty import engine
from loyalty.orchestration.event_log import batched_events, instance_at
from loyalty.orchestration.jobs import select_keys, tagged_keys
from loyalty.orchestration.partitions import HISTORY_WEEKS_TAG
from loyalty.runstate import (
    current_state,
    dagster_home,
    default_as_of,
    ingest_lines,
    landing_files,
    nothing_new_message,
    record_landing,
    record_run,
    run_summary,
    unchanged_since_last_run,
)
from loyalty.settings import Settings, load_settings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


class RunFailed(Exception):
    pass


def _instance(settings: Settings) -> dg.DagsterInstance:
    home = dagster_home(settings)
    if home is None:
        return dg.DagsterInstance.ephemeral()
    home.mkdir(parents=True, exist_ok=True)
    # the same instance the UI opens with DAGSTER_HOME=<home> (its dagster.yaml, SQLite storage),
    # its event log writing a range's materialisations in one go (loyalty.orchestration.event_log)
    return instance_at(home)


def _runs(
    todo: list[dt.date],
    daily_keys: list[dg.AssetKey],
    history_only: set[dg.AssetKey],
    history_weeks: int | None,
    deps: dict[dg.AssetKey, set[dg.AssetKey]] | None = None,
) -> list[tuple[dt.date, dt.date, list[dg.AssetKey]]]:
    """The daily runs for the days `todo`: one per contiguous range with every asset, unless the
    range starts more than `history_weeks` before its end. Then the assets that compute only the
    model's weeks (`history_only`: before them they compute nothing, and Dagster would record a
    materialisation for each of those days and assets) run over those weeks alone, between a run
    of the whole range for the assets they need (the snapshot: one range, computed set-based, not
    cut in two) and one for the assets that need them (`deps`: an asset's upstream keys; the KPI
    board reads revenue at risk)."""
    deps = deps or {}
    after = _downstream(history_only, [k for k in daily_keys if k not in history_only], deps)
    runs = []
    for lo, hi in _ranges(todo):
        cut = hi - dt.timedelta(weeks=history_weeks) if history_weeks else lo
        if lo < cut:
            for first, keys in (
                (lo, [k for k in daily_keys if k not in history_only and k not in after]),
                (cut, [k for k in daily_keys if k in history_only]),
                (lo, [k for k in daily_keys if k in after]),
            ):
                if keys:
                    runs.append((first, hi, keys))
        else:
            runs.append((lo, hi, daily_keys))
    return runs


def _downstream(
    roots: set[dg.AssetKey], keys: list[dg.AssetKey], deps: dict[dg.AssetKey, set[dg.AssetKey]]
) -> set[dg.AssetKey]:
    """The `keys` that need one of `roots`, directly or through other `keys`."""
    found: set[dg.AssetKey] = set()
    grown = True
    while grown:
        grown = False
        for k in keys:
            if k not in found and deps.get(k, set()) & (roots | found):
                found.add(k)
                grown = True
    return found


@contextmanager
def _planned_as_one_event(on: bool) -> Iterator[None]:
    """A run over a range of days: Dagster records one "planned" event per asset for the whole
    range instead of one per day and asset (its DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS):
    a first run over 540 days wrote 2,700 of them, about a third of its time. The price, Dagster's:
    if the run fails, the UI shows the range's days as not materialised rather than failed (the
    CLI names the failure either way). The materialisations are still recorded day by day."""
    name = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
    before = os.environ.get(name)
    if on:
        os.environ[name] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


# a quoted value or an email address in an error we did not write ourselves (e.g. DuckDB's
# "Could not convert string 'x@example.com' to INT32") may be a customer's data
_QUOTED = re.compile(r"'[^'\n]*'")  # DuckDB quotes values in single quotes, names in double
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_CLASS_PREFIX = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Failure): ")


def redact(text: str) -> str:
    """`text` without the values it quotes ('...') and without email addresses."""
    return _EMAIL.sub("<email>", _QUOTED.sub("<value>", text))


def step_message(step_key: str, data) -> str:
    """What to print about a failed step: a `dagster.Failure`'s own description (our message,
    written to name the file, column and line without a value), else the innermost error's class
    and message with quoted values and emails redacted, never a Dagster class name or a stack."""
    failure = getattr(data, "user_failure_data", None)
    if failure is not None and failure.description:
        return failure.description.strip()
    err = data.error
    # the innermost cause is the user's error; its stack belongs in the run log, not here
    while err is not None and err.cause is not None:
        err = err.cause
    if err is None:
        return f"{step_key} failed (see the run's log)"
    text = _CLASS_PREFIX.sub("", err.message.strip())
    if err.cls_name and "Failure" in err.cls_name:
        return text
    kind = (err.cls_name or "error").rsplit(".", 1)[-1]
    return f"{step_key} failed: {kind}: {redact(text)} (values hidden: the run's log has it all)"


def _failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    msgs = []
    for ev in result.all_events:
        if ev.event_type_value == "STEP_FAILURE":
            error = ev.step_failure_data.error
            if error is not None and (error.cls_name or "").endswith("AssetCheckFailedError"):
                continue  # a blocking check failed the step: the check's own line says which
            msgs.append(step_message(ev.step_key or "step", ev.step_failure_data))
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


def run_all(
    settings_file: Path,
    as_of: dt.date | None = None,
    overrides: str = "",
    email: bool = False,
    rebuild: bool = False,
    log: Callable[[str], None] = print,
) -> list[str]:
    settings = load_settings(settings_file, overrides or None)
    # the steps run one after another in this process: the file is opened once for all of them
    # the Dagster instance is disposed at the end: its SQLite files closed, their logs folded in
    with engine.held_open(settings), _instance(settings) as instance:
        return _run_all(settings_file, settings, instance, as_of, overrides, email, rebuild, log)


def _run_all(
    settings_file: Path,
    settings: Settings,
    instance: dg.DagsterInstance,
    as_of: dt.date | None,
    overrides: str,
    email: bool,
    rebuild: bool,
    log: Callable[[str], None],
) -> list[str]:
    from loyalty import definitions

    resources = {
        "loyalty": definitions.LoyaltyResource(
            settings_file=str(settings_file), overrides=overrides
        )
    }
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
                "\n".join(_failure_messages(result) or [f"{what} failed (see the run's log)"])
            )
        return result

    landing = landing_files(settings)  # as the ingest finds them (recorded for the next run)
    log(f"[1/4] ingest: {', '.join(k.to_user_string() for k in ingest_keys)}")
    with engine.connect(settings, read_only=True) as conn:
        loads_before = (
            engine.scalar(conn, "select coalesce(max(load_id), 0) from ingest_log")
            if engine.table_exists(conn, "ingest_log")
            else 0
        )
    materialize(ingest_keys + staging_keys, "ingest")
    with engine.connect(settings, read_only=True) as conn:
        for line in ingest_lines(conn, loads_before):
            log(f"      {line}")

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
                    "select as_of from snapshot_params intersect select distinct as_of from kpi_daily"
                ).fetchall()
            }
    if first_order is None:
        raise RunFailed(
            "no orders loaded: nothing to compute (check sources.orders in the settings)"
        )
    first_day = max(start, first_order)
    if as_of < first_day:
        raise RunFailed(
            f"as-of {as_of} is before the first day with orders or partitions ({first_day})"
        )
    todo = [d for d in _days(first_day, as_of) if d not in stored]
    # the last day is always recomputed: its exports may have been completed since
    if as_of not in todo:
        todo.append(as_of)
    week_end = as_of - dt.timedelta(days=(as_of.isoweekday() % 7))  # the Sunday on or before D
    week_start = week_end - dt.timedelta(days=6)
    iso = week_start.isocalendar()
    folder = settings.output_path / f"{iso.year}-W{iso.week:02d}"
    summary = run_summary(settings)
    has_week = week_start >= start
    email_keys = [k for k in report_keys if k.to_user_string() == "weekly_email"]

    state = None if rebuild or todo != [as_of] else current_state(settings, as_of)
    if state is not None and has_week and unchanged_since_last_run(settings, state):
        log(nothing_new_message(as_of, week_start, week_end))
        record_landing(settings, landing)
        if email:
            log(f"[4/4] email for week {week_start} .. {week_end}")
            result = materialize(email_keys, "email", partition_key=week_start.isoformat())
            log(f"      {email_summary(result)}")
        return [*summary, f"reports: {folder}"]

    log(f"[2/4] daily snapshots and KPI board up to {as_of}: {len(todo)} day(s)")
    history_only = tagged_keys(assets, HISTORY_WEEKS_TAG)
    deps = {
        k: set(upstream)
        for a in assets
        if isinstance(a, dg.AssetsDefinition)
        for k, upstream in a.asset_deps.items()
    }
    for lo, hi, keys in _runs(todo, daily_keys, history_only, settings.model.history_weeks, deps):
        tags = {RANGE_START: lo.isoformat(), RANGE_END: hi.isoformat()}
        with _planned_as_one_event(lo < hi), batched_events():
            materialize(keys, f"snapshots {lo}..{hi}", tags=tags)
        log(f"      {lo} .. {hi} done: {', '.join(k.to_user_string() for k in keys)}")

    log(f"[3/4] period marts: {', '.join(k.to_user_string() for k in period_keys)}")
    materialize(period_keys, "period marts")

    if not has_week:
        log("[4/4] reports: no complete week after schedules.start_date yet")
        return summary
    selection = [k for k in report_keys if email or k not in email_keys]
    log(f"[4/4] reports for week {week_start} .. {week_end}" + (" and email" if email else ""))
    result = materialize(selection, "reports", partition_key=week_start.isoformat())
    if email:
        log(f"      {email_summary(result)}")
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    record_run(settings, current_state(settings, as_of), files, landing)
    if files:
        # the files first, then the two places to look: the last lines a user reads. The .eml
        # files are named after their recipients: their folder and count only
        eml = [p for p in files if p.suffix == ".eml"]
        shown = [f"  {p}" for p in files if p.suffix != ".eml"]
        if eml:
            shown.append(f"  {eml[0].parent}{os.sep} ({len(eml)} .eml file(s))")
        summary = ["files written:", *shown, *summary, f"reports: {folder}"]
    return summary


def email_summary(result: dg.ExecuteInProcessResult | None) -> str:
    """What the weekly email did, in counts (never an address)."""
    mats = result.asset_materializations_for_node("weekly_email") if result else []
    if not mats:
        return "email: not run"
    md = {k: getattr(v, "value", v) for k, v in mats[-1].metadata.items()}
    if "sent_now" not in md:
        return f"email: {md.get('status', 'nothing sent')}"
    sent, before, files = md["sent_now"], md["already_sent"], md.get("eml_files", 0)
    if md.get("mode") == "dry_run":
        line = (
            f"email (dry run, nothing sent): {files} .eml file(s) written to {md['eml_folder']}"
            if files
            else "email (dry run): no .eml file written"
        )
    elif sent:
        line = f"email: sent to {sent} recipient(s)"
    else:
        line = "email: nothing sent"
    if before:
        line += f"; already sent before to {before} recipient(s), not sent again"
    return line
