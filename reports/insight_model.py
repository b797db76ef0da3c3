"""What the insight panels show for one week, as typed values (read by reports/insight.py, shown by
reports/insight_view.py and reports/insight_sheets.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from loyalty.vocab import ALL


@dataclass
class InsightData:
    """The insight panels' data for one week; empty parts when the marts or their inputs are
    absent."""

    inputs: dict[str, int] = field(default_factory=dict)  # tickets, responses, nps_answers
    window_days: int = 90  # impact.window_days
    say_do_days: int = 90  # impact.say_do_days (or window_days)
    low_n: int = 30  # metrics.nps_low_sample: fewer customers in a group is a low sample
    impact: list[dict[str, Any]] = field(default_factory=list)  # service_impact rows, newest first
    say_do_period: dt.date | None = None  # period_start of the say-do month shown
    say_do_period_end: dt.date | None = None
    # per report segment: the cells and (detail) the customers behind them, as tuples in the
    # columns of sql/reports/say_do_customers.sql, at most reports.workbook_customer_rows
    say_do_cells: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    say_do_customers: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    say_do_totals: dict[str, int] = field(default_factory=dict)  # customers per segment

    def impact_rows(self, period_start: dt.date | None = None) -> list[dict[str, Any]]:
        """The rows of one period (default: the latest shown), every priority."""
        start = period_start or (self.impact[0]["period_start"] if self.impact else None)
        return [r for r in self.impact if r["period_start"] == start]

    def impact_trend(self) -> list[dict[str, Any]]:
        """The `all` rows of every period shown, newest first."""
        return [r for r in self.impact if r["priority"] == ALL]
