"""ISO weeks (Monday to Sunday), once: the week's label, its first and last day, and the weeks the
reports, the weekly schedule and the CLI pick (core layer: imports nothing of ours).

The reports of week W are as of its last day (Sunday); weekly partitions are keyed by its Monday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


def monday(day: dt.date) -> dt.date:
    """The Monday of `day`'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def label(day: dt.date) -> str:
    """The ISO week label of the week holding `day`, e.g. 2026-W46."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Week:
    start: dt.date  # Monday
    end: dt.date  # Sunday: "as of" day D

    @property
    def label(self) -> str:
        return label(self.start)

    @classmethod
    def of(cls, day: dt.date) -> Week:
        """The ISO week holding `day`."""
        start = monday(day)
        return cls(start, start + dt.timedelta(days=6))

    @classmethod
    def last_complete(cls, day: dt.date) -> Week:
        """The latest week whose Sunday is on or before `day` (`day`'s own week when a Sunday)."""
        return cls.of(day - dt.timedelta(days=6))

    @classmethod
    def from_partition_key(cls, key: str) -> Week:
        start = dt.date.fromisoformat(key[:10])
        if start.isoweekday() != 1:
            raise ValueError(f"weekly partition {key!r} does not start on a Monday")
        return cls.of(start)

    def back(self, weeks: int) -> Week:
        return Week.of(self.start - dt.timedelta(weeks=weeks))
