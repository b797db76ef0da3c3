"""What the reports read of the insight marts (docs/metrics.md, "service_impact" and "say_do"):
the service-impact rows of the last complete months whose every ticket's window has ended by the
week's last day D, and the say-do gap of the latest such month (its cells per report segment and
the customers behind them).

Tables read (through sql/reports/*.sql, values bound): service_impact, say_do, stg_tickets and
stg_surveys (whether there is anything to compare). A table that does not exist (an older
database) reads as no rows: the panels then say so in one line.
"""

from __future__ import annotations

from typing import Any

import duckdb

from loyalty import engine
from loyalty.reports.insight_model import InsightData
from loyalty.reports.lists import by_segment, tiers_of
from loyalty.vocab import ALL, CUSTOMER_STATUSES, PRIORITIES, TIERS
from loyalty.weeks import Week

PANEL_PERIOD = "month"  # the period type the panels show
TREND_PERIODS = 6  # complete months in the service-impact table
NPS_CLASSES: tuple[str, ...] = ("promoter", "passive", "detractor")
BEHAVIOURS: tuple[str, ...] = ("buying", "lapsed")
# customer_value statuses counted as "at risk" at the end of a say-do window
RISK_STATUSES: list[str] = list(CUSTOMER_STATUSES[1:])


def _query(conn: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    return engine.query_file(conn, f"reports/{name}.sql", params)


def say_do_params(data: InsightData, segment: str) -> dict[str, Any]:
    """The bound parameters selecting one segment's say-do customers of the period shown."""
    return {
        "period_type": PANEL_PERIOD,
        "period_start": data.say_do_period,
        "tiers": tiers_of(segment),
        "everyone": segment == ALL,
    }


def insight_data(
    conn: duckdb.DuckDBPyConnection,
    settings: Any,
    week: Week,
    segments: list[str],
    detail: bool = True,
) -> InsightData:
    """Everything the insight panels show as of the week's last day D."""
    day = week.end
    data = InsightData(
        window_days=settings.impact.window_days,
        say_do_days=settings.impact.say_do_window,
        low_n=settings.metrics.nps_low_sample,
    )
    if all(engine.table_exists(conn, t) for t in ("stg_tickets", "stg_surveys")):
        data.inputs = _query(conn, "insight_inputs")[0]
    if engine.table_exists(conn, "service_impact"):
        data.impact = _query(
            conn,
            "service_impact",
            period_type=PANEL_PERIOD,
            as_of=day,
            periods=TREND_PERIODS,
            priorities=[ALL, *PRIORITIES],
        )
    if not engine.table_exists(conn, "say_do"):
        return data
    (period,) = _query(conn, "say_do_period", period_type=PANEL_PERIOD, as_of=day)
    data.say_do_period = period["period_start"]
    data.say_do_period_end = period["period_end"]
    if period["window_days"] is not None:
        data.say_do_days = period["window_days"]
    if data.say_do_period is None:
        return data
    cap = settings.reports.workbook_customer_rows
    cells_of = by_segment(
        _query(
            conn,
            "say_do_cells",
            period_type=PANEL_PERIOD,
            period_start=data.say_do_period,
            tiers=list(TIERS),
            all_key=ALL,
            risk_statuses=RISK_STATUSES,
        )
    )
    for seg in segments:
        params = say_do_params(data, seg)
        cells = cells_of.get(seg, [])
        data.say_do_cells[seg] = cells
        data.say_do_totals[seg] = sum(c["customers"] for c in cells)
        if detail:
            data.say_do_customers[seg] = conn.execute(
                engine.sql_text("reports/say_do_customers.sql"),
                {**params, "classes": list(NPS_CLASSES), "row_limit": cap},
            ).fetchall()
    return data
