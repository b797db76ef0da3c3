"""Display text and tables of the insight panels (service -> loyalty impact, say-do gap) for the
HTML report, from `reports.insight.InsightData`. A panel without data is one line saying why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loyalty.reports.i18n import Translator
from loyalty.reports.insight import BEHAVIOURS, NPS_CLASSES
from loyalty.reports.insight_model import InsightData
from loyalty.reports.model import WeekData
from loyalty.vocab import ALL

SAY_DO_CSV = "say_do"  # the CSV kind beside each segment workbook
GAP_CELLS = {("promoter", "lapsed"), ("detractor", "buying")}


def month_label(t: Translator, d: dt.date | None) -> str:
    if d is None:
        return "–"
    if t.locale == "zh-CN":
        return f"{d.year}年{d.month}月"
    return d.strftime("%b %Y")


def diff_pp(t: Translator, v: float | None) -> str:
    """A difference of two shares in signed percentage points."""
    if v is None:
        return "–"
    return f"{100 * v:+.1f} {t('pp')}" if round(100 * v, 1) != 0 else f"±0.0 {t('pp')}"


def interval(t: Translator, low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"{diff_pp(t, low)} … {diff_pp(t, high)}"


def clear_difference(row: dict[str, Any]) -> bool | None:
    """Whether the 95 % interval of the matched difference excludes zero (None: no interval, or
    one of zero width)."""
    low, high = row.get("diff_low95"), row.get("diff_high95")
    if low is None or high is None or high <= low:
        return None  # no interval: every stratum's share is 0 % or 100 %
    return low > 0 or high < 0


def _pair(a: str, b: str) -> str:
    return f"{a} / {b}"


def _nps_pair(t: Translator, r: dict[str, Any]) -> str:
    b = f"{t.points(r['breached_next_nps'])} ({t.number(r['breached_nps_n'])})"
    m = f"{t.points(r['met_next_nps'])} ({t.number(r['met_nps_n'])})"
    return _pair(b, m)


def impact_table(ins: InsightData, t: Translator) -> dict[str, Any]:
    """The newest month shown, one row per priority (`all` first)."""
    columns = [
        t("priority"),
        t("ins_breached_n"),
        t("ins_met_n"),
        t("ins_diff_raw"),
        t("ins_reorder_breached_adj"),
        t("ins_reorder_met_adj"),
        t("ins_diff_adj"),
        t("ins_interval"),
        t("ins_orders_adj"),
        t("ins_value_adj"),
        t("ins_next_nps"),
        t("ins_pending"),
    ]
    rows = []
    for r in ins.impact_rows():
        clear = clear_difference(r)
        rows.append(
            [
                t.label_or(f"priority_{r['priority']}", r["priority"]),
                t.number(r["breached_customers"]),
                t.number(r["met_customers"]),
                diff_pp(t, r["reorder_rate_diff"]),
                t.percent(r["breached_reorder_rate_adj"]),
                t.percent(r["met_reorder_rate_adj"]),
                {
                    "text": diff_pp(t, r["reorder_rate_diff_adj"]),
                    "cls": "ins-clear" if clear else "",
                    "href": "",
                },
                interval(t, r["diff_low95"], r["diff_high95"]),
                _pair(
                    t.number(r["breached_orders_per_customer_adj"], 2),
                    t.number(r["met_orders_per_customer_adj"], 2),
                ),
                _pair(
                    t.money(r["breached_value_per_customer_adj"]),
                    t.money(r["met_value_per_customer_adj"]),
                ),
                _nps_pair(t, r),
                t.number(r["tickets_pending"]),
            ]
        )
    numeric = [False] + [True] * (len(columns) - 1)
    return {"columns": columns, "rows": rows, "numeric": numeric}


def impact_trend_table(ins: InsightData, t: Translator) -> dict[str, Any]:
    """Every month shown, all priorities together, newest first."""
    columns = [
        t("ins_month"),
        t("ins_breached_n"),
        t("ins_met_n"),
        t("ins_reorder_breached"),
        t("ins_reorder_met"),
        t("ins_diff_raw"),
        t("ins_diff_adj"),
        t("ins_interval"),
    ]
    rows = []
    for r in ins.impact_trend():
        clear = clear_difference(r)
        rows.append(
            [
                month_label(t, r["period_start"]),
                t.number(r["breached_customers"]),
                t.number(r["met_customers"]),
                t.percent(r["breached_reorder_rate"]),
                t.percent(r["met_reorder_rate"]),
                diff_pp(t, r["reorder_rate_diff"]),
                {
                    "text": diff_pp(t, r["reorder_rate_diff_adj"]),
                    "cls": "ins-clear" if clear else "",
                    "href": "",
                },
                interval(t, r["diff_low95"], r["diff_high95"]),
            ]
        )
    return {"columns": columns, "rows": rows, "numeric": [False] + [True] * (len(columns) - 1)}


def impact_lines(ins: InsightData, t: Translator, day: dt.date) -> tuple[list[str], str]:
    """(headline lines, the one line saying why there is nothing to show, or "")."""
    if not ins.inputs.get("tickets"):
        return [], t("ins_no_tickets")
    trend = ins.impact_trend()
    if not trend:
        return [], t("ins_no_impact_period", days=ins.window_days, day=t.date(day))
    r = trend[0]
    month = month_label(t, r["period_start"])
    if r["reorder_rate_diff_adj"] is None:
        return [t("ins_no_impact_groups", month=month)], ""
    headline = t(
        "ins_impact_headline",
        month=month,
        breached=t.percent(r["breached_reorder_rate_adj"]),
        met=t.percent(r["met_reorder_rate_adj"]),
        days=r["window_days"],
        diff=diff_pp(t, r["reorder_rate_diff_adj"]),
        low=diff_pp(t, r["diff_low95"]),
        high=diff_pp(t, r["diff_high95"]),
        nb=t.number(r["breached_customers"]),
        nm=t.number(r["met_customers"]),
        raw=diff_pp(t, r["reorder_rate_diff"]),
    )
    clear = clear_difference(r)
    verdict = t("ins_no_interval" if clear is None else "ins_clear" if clear else "ins_unclear")
    if min(r["breached_customers"], r["met_customers"]) < ins.low_n:
        verdict += " " + t("ins_low_n", n=ins.low_n)
    return [headline, verdict], ""


def say_do_cell(ins: InsightData, segment: str, cls: str, behaviour: str) -> dict[str, Any]:
    cells = ins.say_do_cells.get(segment, [])
    found = next((c for c in cells if (c["nps_class"], c["behaviour"]) == (cls, behaviour)), None)
    return found or {
        "customers": 0,
        "orders_after": 0,
        "value_after": 0.0,
        "value_before": 0.0,
        "at_risk_at_end": 0,
    }


def say_do_table(ins: InsightData, segment: str, t: Translator) -> dict[str, Any]:
    """One row per NPS class: who ordered again (and spent what after) and who did not (and had
    spent what before); the two say-do gap cells marked."""
    columns = [
        t("ins_nps_class"),
        t("ins_buying_n"),
        t("ins_value_after"),
        t("ins_lapsed_n"),
        t("ins_value_before"),
        t("ins_at_risk_end"),
    ]
    rows = []
    for cls in NPS_CLASSES:
        buying, lapsed = (say_do_cell(ins, segment, cls, b) for b in BEHAVIOURS)

        def mark(text: str, behaviour: str, cls: str = cls) -> dict[str, str]:
            gap = (cls, behaviour) in GAP_CELLS
            return {"text": text, "cls": "ins-gap" if gap else "", "href": ""}

        rows.append(
            [
                t(f"ins_class_{cls}"),
                mark(t.number(buying["customers"]), "buying"),
                mark(t.money(buying["value_after"]), "buying"),
                mark(t.number(lapsed["customers"]), "lapsed"),
                mark(t.money(lapsed["value_before"]), "lapsed"),
                t.number(buying["at_risk_at_end"] + lapsed["at_risk_at_end"]),
            ]
        )
    return {"columns": columns, "rows": rows, "numeric": [False] + [True] * (len(columns) - 1)}


def say_do_lines(
    ins: InsightData, segment: str, t: Translator, day: dt.date
) -> tuple[list[str], str]:
    if not ins.inputs.get("nps_answers"):
        return [], t("ins_no_nps")
    if ins.say_do_period is None:
        return [], t("ins_no_say_do_period", days=ins.say_do_days, day=t.date(day))
    p_lapsed = say_do_cell(ins, segment, "promoter", "lapsed")
    d_buying = say_do_cell(ins, segment, "detractor", "buying")
    return [
        t(
            "ins_say_do_headline",
            month=month_label(t, ins.say_do_period),
            days=ins.say_do_days,
            p_lapsed=t.number(p_lapsed["customers"]),
            p_value=t.money(p_lapsed["value_before"]),
            d_buying=t.number(d_buying["customers"]),
            d_value=t.money(d_buying["value_after"]),
        )
    ], ""


def insight_section(
    data: WeekData, segment: str, t: Translator, chart: Any = None
) -> dict[str, Any]:
    """The section's panels: each a title, headline lines, a note and tables, or one empty line;
    `chart` is the embedded service-impact chart (reports/insight_charts.py), if any."""
    ins: InsightData = data.insight
    day = data.week.end
    seg = segment if segment in ins.say_do_cells or segment == ALL else ALL
    lines, empty = impact_lines(ins, t, day)
    impact = {
        "id": "service-impact",
        "title": t("ins_impact"),
        "lines": lines,
        "empty": empty,
        "note": t("ins_impact_note", days=ins.window_days, day=t.date(day)),
        "tables": [impact_table(ins, t), impact_trend_table(ins, t)] if not empty else [],
        "chart": chart if not empty else None,
    }
    lines, empty = say_do_lines(ins, seg, t, day)
    say_do = {
        "id": "say-do",
        "title": t("ins_say_do"),
        "lines": lines,
        "empty": empty,
        "note": t(
            "ins_say_do_note",
            month=month_label(t, ins.say_do_period),
            days=ins.say_do_days,
        ),
        "tables": [say_do_table(ins, seg, t)] if not empty else [],
        "chart": None,
    }
    return {"title": t("ins_section"), "note": t("ins_section_note"), "panels": [impact, say_do]}
