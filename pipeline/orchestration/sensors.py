"""Sensors (docs/operations.md), both cheap enough to run every minute: neither opens the DuckDB file.

- `landing_files_sensor` (off by default): lists the export files the settings' source globs match
  in the landing folder and, when one is new or changed (name, mtime, size against the cursor),
  requests an `ingest` run. Files modified less than `SETTLE_SECONDS` ago may still be being
  copied: the sensor waits for them.
- `run_failure_alert` (on by default): one email to `email.operators` per failed run, through the
  outbox in `loyalty.orchestration.alerting`, composed and sent by `loyalty.reports.alerts`, without
  error text or row data.
"""

from __future__ import annotations

import glob
import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from loyalty.orchestration.alerting import AlertOutbox
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.reports.alerts import compose_alert, send_alert
from loyalty.settings import Settings

SETTLE_SECONDS = 60


def landing_files(settings: Settings) -> dict[str, tuple[int, int]]:
    """{path relative to the landing folder: (mtime_ns, size)} of every file an enabled source
    reads. Only the directory is listed; no file is opened."""
    base = settings.landing_path
    patterns: list[str] = []
    for mapping in settings.sources.values():
        if mapping.enabled:
            patterns += [mapping.files] if mapping.files else list((mapping.tables or {}).values())
    out: dict[str, tuple[int, int]] = {}
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base / pattern)
        for p in glob.glob(full, recursive=True):
            path = Path(p)
            try:
                if not path.is_file():
                    continue
                st = path.stat()
            except FileNotFoundError:  # moved away while listing
                continue
            name = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
            out[name] = (st.st_mtime_ns, st.st_size)
    return out


def changed_files(now_state: dict[str, tuple[int, int]], cursor: str | None) -> list[str]:
    before = {k: tuple(v) for k, v in json.loads(cursor).items()} if cursor else {}
    return sorted(name for name, sig in now_state.items() if before.get(name) != sig)


def evaluate_landing(
    settings: Settings, cursor: str | None, now: float, settle_seconds: float = SETTLE_SECONDS
) -> tuple[dg.RunRequest | dg.SkipReason, str | None]:
    """The sensor's decision and its new cursor (None: keep the old one)."""
    state = landing_files(settings)
    changed = changed_files(state, cursor)
    if not changed:
        return dg.SkipReason(f"no new or changed files in {settings.landing_path}"), json.dumps(
            state
        )
    settling = [n for n in changed if now - state[n][0] / 1e9 < settle_seconds]
    if settling:
        # keep the old cursor: these files are looked at again on the next tick
        return dg.SkipReason(
            f"waiting for {len(settling)} file(s) still being written: " + ", ".join(settling[:5])
        ), None
    digest = hashlib.sha256(json.dumps([[n, *state[n]] for n in changed]).encode()).hexdigest()[:16]
    request = dg.RunRequest(
        run_key=f"landing-{digest}",
        tags={"loyalty/new_files": str(len(changed))},
    )
    return request, json.dumps(state)


def build_landing_files_sensor(ingest_job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="landing_files_sensor",
        job=ingest_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Requests an ingest run when export files in the landing folder are new or "
        "changed (name, mtime, size). Never opens the database.",
    )
    def landing_files_sensor(context: dg.SensorEvaluationContext, loyalty: LoyaltyResource):
        result, cursor = evaluate_landing(loyalty.get_settings(), context.cursor, time.time())
        if cursor is not None:
            context.update_cursor(cursor)
        return result

    return landing_files_sensor


def outbox_folder(instance: dg.DagsterInstance, settings: Settings) -> Path:
    """Beside the run history the run ids belong to ($DAGSTER_HOME), else the temp folder."""
    try:
        root = instance.root_directory
    except Exception:  # an instance without local artifact storage
        root = None
    return Path(root) / "loyalty_alerts" if root else settings.temp_path / "alerts"


def failed_step_keys(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.STEP_FAILURE, limit=1000
    ).records
    return sorted({r.event_log_entry.step_key for r in records if r.event_log_entry.step_key})


@dg.run_failure_sensor(
    name="run_failure_alert",
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Emails email.operators once per failed run: run id, job, failed steps and a link; "
    "never the error text (it can quote export rows).",
)
def run_failure_alert(context: dg.RunFailureSensorContext, loyalty: LoyaltyResource) -> None:
    settings = loyalty.get_settings()
    run = context.dagster_run
    outbox = AlertOutbox(outbox_folder(context.instance, settings))
    if outbox.add(
        compose_alert(
            settings,
            run.run_id,
            run.job_name,
            failed_step_keys(context.instance, run.run_id),
            dict(run.tags),
        )
    ):
        context.log.info(f"alert queued for run {run.run_id}")
    else:
        context.log.info(f"alert for run {run.run_id} already queued or sent")
    sent = outbox.flush(lambda a: send_alert(settings, a.subject, a.body))
    if sent:
        context.log.info(f"alerts sent for run(s): {', '.join(sent)}")
