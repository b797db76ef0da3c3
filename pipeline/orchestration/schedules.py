"""Schedules (docs/operations.md), run by the Dagster daemon in the business time zone:

- `nightly` (`schedules.nightly_cron`, default 02:00): the `nightly` job for yesterday's partition;
- `weekly` (`schedules.weekly_cron`, default Monday 07:00): the `weekly` job for the last complete
  ISO week (Monday..Sunday before the tick's week).

Each tick returns one RunRequest whose run_key is the partition key: if the daemon re-evaluates a
tick (a crash mid-tick, a retry), Dagster finds the run it already launched for that tick and run
key and does not launch a second one. Missed ticks (daemon down) are not caught up by Dagster;
docs/operations.md says what the operator does.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import dagster as dg

from loyalty import weeks
from loyalty.settings import Settings


def _local_day(tick: dt.datetime, timezone: str) -> dt.date:
    return tick.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def nightly_partition(tick: dt.datetime, timezone: str) -> dt.date:
    """Yesterday, in the business time zone, of the tick."""
    return _local_day(tick, timezone) - dt.timedelta(days=1)


def weekly_partition(tick: dt.datetime, timezone: str) -> dt.date:
    """Monday of the last complete ISO week before the tick's day."""
    return weeks.monday(_local_day(tick, timezone)) - dt.timedelta(weeks=1)


def _request(day: dt.date, settings: Settings, what: str) -> dg.RunRequest | dg.SkipReason:
    if day < settings.schedules.start_date:
        return dg.SkipReason(
            f"{what} {day} is before schedules.start_date ({settings.schedules.start_date})"
        )
    key = day.isoformat()
    return dg.RunRequest(run_key=key, partition_key=key)


def build_schedules(
    settings: Settings,
    nightly_job: dg.UnresolvedAssetJobDefinition,
    weekly_job: dg.UnresolvedAssetJobDefinition,
) -> list[dg.ScheduleDefinition]:
    tz = settings.timezone

    @dg.schedule(
        name="nightly",
        job=nightly_job,
        cron_schedule=settings.schedules.nightly_cron,
        execution_timezone=tz,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Ingest, staging, yesterday's snapshot and KPI board, period marts.",
    )
    def nightly(context: dg.ScheduleEvaluationContext):
        return _request(nightly_partition(context.scheduled_execution_time, tz), settings, "day")

    @dg.schedule(
        name="weekly",
        job=weekly_job,
        cron_schedule=settings.schedules.weekly_cron,
        execution_timezone=tz,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Reports and the weekly email for the last complete ISO week.",
    )
    def weekly(context: dg.ScheduleEvaluationContext):
        return _request(weekly_partition(context.scheduled_execution_time, tz), settings, "week of")

    return [nightly, weekly]
