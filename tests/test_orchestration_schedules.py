"""Schedules: which partition a tick runs, in the business time zone, and that a tick re-evaluated
asks for the same run (same run key) rather than a second one."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import dagster as dg
import pytest

from loyalty.orchestration.schedules import nightly_partition, weekly_partition

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _tick(name: str, when: dt.datetime) -> list[dg.RunRequest]:
    from loyalty.definitions import defs

    repo = defs.get_repository_def()
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=repo)
    return list(repo.get_schedule_def(name).evaluate_tick(context).run_requests or [])


def test_the_nightly_tick_at_2am_runs_yesterdays_partition():
    (req,) = _tick("nightly", dt.datetime(2026, 11, 16, 2, 0, tzinfo=LONDON))
    assert req.partition_key == "2026-11-15"
    assert req.run_key == "2026-11-15"
    assert req.tags["dagster/partition"] == "2026-11-15"


def test_the_monday_tick_runs_the_last_complete_iso_week():
    (req,) = _tick("weekly", dt.datetime(2026, 11, 16, 7, 0, tzinfo=LONDON))
    assert req.partition_key == "2026-11-09"  # Monday 9 .. Sunday 15 November
    assert req.run_key == "2026-11-09"


@pytest.mark.parametrize("name", ["nightly", "weekly"])
def test_evaluating_the_same_tick_twice_asks_for_the_same_run(name):
    when = dt.datetime(2026, 11, 16, 7, 0, tzinfo=LONDON)
    first, second = _tick(name, when), _tick(name, when)
    assert [r.run_key for r in first] == [r.run_key for r in second]
    assert all(r.run_key for r in first)


def test_a_tick_before_the_first_partition_is_skipped_not_failed():
    from loyalty.definitions import defs

    repo = defs.get_repository_def()
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2024, 11, 18, 2, 0, tzinfo=LONDON), repository_def=repo
    )
    result = repo.get_schedule_def("nightly").evaluate_tick(context)
    assert not result.run_requests and "before schedules.start_date" in result.skip_message


def test_yesterday_is_the_business_time_zones_yesterday():
    # 02:00 in Shanghai is 18:00 UTC the day before: the partition follows the business day
    tick = dt.datetime(2026, 11, 16, 2, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    assert nightly_partition(tick.astimezone(dt.UTC), "Asia/Shanghai") == dt.date(2026, 11, 15)
    # summer time in London: 02:00 BST is 01:00 UTC
    assert nightly_partition(
        dt.datetime(2026, 7, 1, 1, 0, tzinfo=dt.UTC), "Europe/London"
    ) == dt.date(2026, 6, 30)


@pytest.mark.parametrize("day", [16, 17, 18, 19, 20, 21, 22])
def test_a_weekly_tick_on_any_day_of_the_week_takes_the_week_before(day):
    tick = dt.datetime(2026, 11, day, 7, 0, tzinfo=LONDON)
    assert weekly_partition(tick, "Europe/London") == dt.date(2026, 11, 9)
