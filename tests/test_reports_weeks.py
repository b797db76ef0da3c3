"""ISO weeks (loyalty.weeks): the one place week labels and week boundaries are computed, for the
reports, the weekly schedule and the CLI."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty import weeks
from loyalty.weeks import Week


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (dt.date(2026, 11, 15), "2026-W46"),  # a Sunday: still its Monday's week
        (dt.date(2026, 11, 9), "2026-W46"),
        (dt.date(2021, 1, 3), "2020-W53"),  # ISO year differs from the calendar year
        (dt.date(2024, 12, 30), "2025-W01"),
    ],
)
def test_label_is_the_iso_week_of_the_day(day, label):
    assert weeks.label(day) == label
    assert Week.of(day).label == label
    assert weeks.monday(day).isoweekday() == 1 and 0 <= (day - weeks.monday(day)).days <= 6


def test_a_week_runs_monday_to_sunday_and_steps_back_whole_weeks():
    week = Week.from_partition_key("2026-11-09")
    assert (week.start, week.end) == (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    assert week.back(1) == Week(dt.date(2026, 11, 2), dt.date(2026, 11, 8))
    assert week.back(52).label == "2025-W46"
    with pytest.raises(ValueError, match="Monday"):
        Week.from_partition_key("2026-11-10")


@pytest.mark.parametrize(
    ("day", "start"),
    [
        (dt.date(2026, 11, 15), dt.date(2026, 11, 9)),  # Sunday: its own week is complete
        (dt.date(2026, 11, 16), dt.date(2026, 11, 9)),
        (dt.date(2026, 11, 21), dt.date(2026, 11, 9)),
        (dt.date(2026, 11, 22), dt.date(2026, 11, 16)),
    ],
)
def test_last_complete_week_ends_on_or_before_the_day(day, start):
    week = Week.last_complete(day)
    assert week.start == start and week.end <= day < week.end + dt.timedelta(days=7)
