"""What the reports read of the churn-and-value model (issue 11; docs/model.md): the quality row,
both fits, the backtest deciles, revenue at risk and its weekly trend, the P(alive) distribution,
and which at-risk list a segment shows.

Tables read (through sql/reports/*.sql, values bound): customer_value, model_quality, model_fit,
model_backtest, revenue_at_risk. A table that does not exist (an older database, or a pipeline built
before the model) reads as no rows: the reports then say so and keep the rules' at-risk list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from loyalty import engine
from loyalty.reports.model import ValueData
from loyalty.settings import Settings
from loyalty.vocab import ALL, CUSTOMER_STATUSES, TIERS
from loyalty.weeks import Week

STATUSES = CUSTOMER_STATUSES  # customer_value.status, best first
AT_RISK = "at_risk"
# revenue_at_risk.dimension
DIMENSION_ALL, DIMENSION_TIER, DIMENSION_SEGMENT = "all", "tier", "segment"
# model_fit: purposes, models and parameters in display order
PURPOSES: tuple[str, ...] = ("score", "backtest")
MODELS: tuple[str, ...] = ("bg_nbd", "gamma_gamma")
PARAMETERS: tuple[str, ...] = ("r", "alpha", "a", "b", "p", "q", "v")
P_ALIVE_BINS = 10
TABLES = ("customer_value", "model_quality", "model_fit", "model_backtest", "revenue_at_risk")


def _query(conn: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    return engine.query_file(conn, f"reports/{name}.sql", params)


def present(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The model tables this database holds."""
    return {t for t in TABLES if engine.table_exists(conn, t)}


def value_data(conn: duckdb.DuckDBPyConnection, settings: Settings, week: Week) -> ValueData:
    """The model's week: everything company-wide the reports show, as of the week's last day D."""
    tables = present(conn)
    data = ValueData(
        horizon_days=settings.model.horizon_days,
        min_repeat_customers=settings.model.min_repeat_customers,
        status_bands=settings.model.status_bands.model_dump(),
        inactive_days=settings.metrics.churn.inactive_days,
        trend_days=[week.back(i).end for i in range(settings.reports.trend_weeks - 1, -1, -1)],
    )
    day = week.end
    if "customer_value" in tables:
        data.value_day = _query(conn, "model_value_day", as_of=day)[0]["value_day"]
    if "model_quality" in tables:
        rows = _query(conn, "model_quality", as_of=day)
        data.quality = rows[0] if rows else None
    model_day = data.quality["as_of"] if data.quality else data.value_day
    if model_day is not None and "model_fit" in tables:
        data.fits = _query(
            conn,
            "model_fit",
            model_day=model_day,
            purposes=list(PURPOSES),
            models=list(MODELS),
            parameters=list(PARAMETERS),
        )
    if model_day is not None and "model_backtest" in tables:
        data.backtest = _query(conn, "model_backtest", model_day=model_day)
    if "revenue_at_risk" in tables:
        if data.value_day is not None:
            data.risk = _query(conn, "revenue_at_risk", value_day=data.value_day)
        data.risk_trend = _query(
            conn,
            "revenue_at_risk_trend",
            days=data.trend_days,
            tiers=list(TIERS),
            dimension_all=DIMENSION_ALL,
            dimension_tier=DIMENSION_TIER,
        )
    return data


def segment_risk(value: ValueData, segment: str) -> dict[str, Any] | None:
    """The revenue_at_risk row of a report segment (`all` or a tier) on the value day."""
    if segment == ALL:
        return value.risk_row(DIMENSION_ALL, ALL)
    return value.risk_row(DIMENSION_TIER, segment)


def p_alive_bins(
    conn: duckdb.DuckDBPyConnection, value: ValueData, tiers: list[str]
) -> list[dict[str, Any]]:
    """Customers per P(alive) bin and status for every report segment (`report_segment`: each of
    the tiers and `all`, their customers together); none without scores."""
    if value.value_day is None or not value.model_used:
        return []
    return _query(
        conn,
        "p_alive_bins",
        value_day=value.value_day,
        tiers=tiers,
        all_key=ALL,
        bins=P_ALIVE_BINS,
    )


def list_query(value: ValueData) -> tuple[str, dt.date | None, dict[str, Any]]:
    """Which at-risk list the reports show: the model's (customers with status at_risk on the value
    day, by value at risk) when its scores are used, else the rules' (churn_risk, by value).
    Returns (query name under sql/reports/, the day to read or None for D, extra parameters)."""
    if value.model_used:
        return "churn_warnings_model", value.value_day, {"status": AT_RISK}
    return "churn_warnings", None, {}
