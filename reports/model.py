"""What one week's reports show, as typed values (no display strings): the output of
`reports.queries` and the input of the view model, the charts and the workbooks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from loyalty.reports.insight_model import InsightData
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
    # the churn-and-value model (issue 11): customers per P(alive) bin and status (empty without
    # scores) and whether the at-risk list and its count come from the model or from the rules
    p_alive_bins: list[dict[str, Any]] = field(default_factory=list)
    at_risk_source: str = "rules"  # "model" | "rules"
    # the NPS and CSAT digest of the week (reports/digest.py): score counts, response rate,
    # scrubbed comments by class; empty when not read (the email)
    digest: dict[str, Any] = field(default_factory=dict)


@dataclass
class ValueData:
    """The churn-and-value model's results shown for the week (reports/value.py reads them); every
    part is empty when the model tables or their rows are absent."""

    value_day: dt.date | None = None  # the customer_value day shown: the latest on or before D
    quality: dict[str, Any] | None = None  # the model_quality row (latest on or before D)
    fits: list[dict[str, Any]] = field(default_factory=list)  # model_fit rows of quality's day
    backtest: list[dict[str, Any]] = field(default_factory=list)  # model_backtest deciles
    risk: list[dict[str, Any]] = field(default_factory=list)  # revenue_at_risk rows of value_day
    risk_trend: list[dict[str, Any]] = field(default_factory=list)  # 'all' and tier rows per week
    trend_days: list[dt.date] = field(default_factory=list)  # the last day of each trend week
    horizon_days: int = 90
    min_repeat_customers: int = 200
    status_bands: dict[str, float] = field(default_factory=dict)  # settings.model.status_bands
    inactive_days: int = 30  # the rule the backtest compares with (metrics.churn.inactive_days)

    @property
    def model_used(self) -> bool:
        """The model's scores drive the statuses and the at-risk list (model_quality.model_used)."""
        return bool(self.quality and self.quality["model_used"] and self.value_day)

    def risk_row(self, dimension: str, key: str) -> dict[str, Any] | None:
        return next((r for r in self.risk if r["dimension"] == dimension and r["key"] == key), None)


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
    thresholds: list[tuple[str, Any]]  # (name, value) of the stored snapshot parameters
    segments: dict[str, SegmentData] = field(default_factory=dict)
    value: ValueData = field(default_factory=ValueData)
    kpi_window_days: int = 30  # metrics.kpi_window_days: the KPIs' trailing window
    # counted orders of the report week and the weekly average of the weeks before it
    # ({"orders": n, "average": x, "weeks": k}); None when the database has no orders view
    order_volume: dict[str, Any] | None = None
    # service -> loyalty impact and the say-do gap (reports/insight.py); empty when not read
    insight: InsightData = field(default_factory=InsightData)
    # the playbook's action list and the restatement log (reports/actions.py)
    actions: ActionsData = field(default_factory=lambda: ActionsData())
    # metrics.uncertainty: the intervals' confidence, the change test's alpha and minimum n
    uncertainty: dict[str, Any] = field(
        default_factory=lambda: {"confidence": 0.95, "alpha": 0.05, "min_n": 30}
    )


@dataclass
class ActionsData:
    """The week's action list (the playbook) and the restatements since the last email, read by
    reports/actions.py; empty parts when the tables or the day's rows are absent."""

    day: dt.date | None = None  # the action list's day (the week's last day) when stored
    # action_summary.sql rows: per (tier, rule, action, owner) customers and value at risk
    summary: list[dict[str, Any]] = field(default_factory=list)
    # per segment: the top reports.workbook_customer_rows rows of sql/reports/action_list.sql, as
    # tuples in its column order, and how many customers the segment's list has in all
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    owner_files: dict[str, str] = field(default_factory=dict)  # owner -> its CSV's file name
    restated: list[dict[str, Any]] = field(default_factory=list)  # restatements_since.sql rows
    restated_total: int = 0  # every restatement since `since`
    restated_runs: int = 0
    since: dt.datetime | None = None  # the last weekly email of an earlier week (None: never)
    restatements_stored: bool = False  # the restatements table exists
    crm_export: bool = False  # playbook.unmasked_crm_export: the CRM team's unmasked CSV is written
