"""What one week's reports show, as typed values (no display strings): the output of
`reports.queries` and the input of the view model, the charts and the workbooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loyalty.weeks import Week


@dataclass
class SegmentData:
    """Everything one segment's report shows."""

    segment: str
    cards: dict[str, Any]
    segment_trend: list[dict[str, Any]]
    nps_trend: list[dict[str, Any]]
    segment_distribution: list[dict[str, Any]]
    migration: list[dict[str, Any]]
    churn_reasons: dict[str, int]
    at_risk: list[dict[str, Any]]
    # the top reports.workbook_customer_rows by value, as tuples in the order of the columns of
    # sql/reports/churn_warnings.sql and sql/reports/customers.sql
    churn_warnings: list[tuple[Any, ...]]
    customers: list[tuple[Any, ...]]
    customers_total: int  # every customer of the segment on D
    churn_warnings_total: int  # every at-risk customer of the segment on D
    retention: list[dict[str, Any]]
    repurchase: list[dict[str, Any]]
    nps: list[dict[str, Any]]


@dataclass
class WeekData:
    """One week's report data: what every segment shares plus each segment's part."""

    week: Week
    kpis: list[dict[str, Any]]
    kpi_trend: list[dict[str, Any]]
    tier_distribution: list[dict[str, Any]]
    cohort: dict[str, Any] | None
    sla: list[dict[str, Any]]
    quality: dict[str, Any]
    thresholds: list[tuple[str, str]]
    segments: dict[str, SegmentData] = field(default_factory=dict)
