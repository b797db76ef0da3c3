"""Turns report data into display strings for the templates and the email.

Formatting lives here (locale-aware), so the Jinja templates only loop and print. Tables are given as
{"columns": [...], "rows": [[cell, ...]], "numeric": [bool, ...]} where a cell is a string or
{"text": ..., "cls": ...} (cls: a CSS class such as "flag-alert" or "low").
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from loyalty.reports import intervals as iv
from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData, WeekData
from loyalty.reports.notes import share_text
from loyalty.vocab import KPI_FLAGS

# kpi_daily.flag (one of loyalty.vocab.KPI_FLAGS) -> the flag's label and icon key (flag_<key> in
# reports/i18n.py); the labels call a met target 'on_target'.
FLAG_KEYS = {**{flag: flag for flag in KPI_FLAGS}, "ok": "on_target"}
FLAG_COLOURS = {"on_target": "#1b7f5b", "off_target": "#975a16", "alert": "#c0392b"}
TONE_COLOURS = {"good": "#1b7f5b", "bad": "#c0392b"}
FLAG_ICONS = {
    "on_target": "✔",
    "off_target": "▲",
    "alert": "✖",
    "no_target": "–",
    "no_data": "–",
    "unknown": "?",
}


def flag_key(flag: str) -> str:
    return FLAG_KEYS.get(flag, "unknown")


def shown_change(kpi: dict[str, Any]) -> float | None:
    """The change vs 7 days earlier as displayed (rates in points with 1 decimal, NPS with 1, money
    with 2); 0.0 when it rounds to zero, so the text, the arrow and its colour agree."""
    ch = kpi.get("change_7d")
    if ch is None or _missing_number(ch):
        return None
    if kpi["is_rate"]:
        return ch if round(ch * 100, 1) != 0 else 0.0
    digits = 2 if kpi.get("is_money") else 1
    return ch if round(ch, digits) != 0 else 0.0


def _missing_number(v: float) -> bool:
    return not math.isfinite(v)


def kpi_value_text(
    t: Translator, kpi: dict[str, Any], v: float | None, signed: bool = False
) -> str:
    if v is not None and signed and v == 0:
        v = 0.0  # -0.0 prints as "+0.0": a change that rounds to zero has no sign
    if kpi["is_rate"]:
        if signed:
            if v is None or _missing_number(v):
                return "–"
            pp = t("pp")
            return f"{100 * v:+.1f} {pp}" if round(100 * v, 1) != 0 else f"±0.0 {pp}"
        return t.percent(v)
    if kpi.get("is_money"):
        text = t.money(v)
        return f"+{text}" if signed and v is not None and v > 0 else text
    if signed and v is not None and not _missing_number(v) and round(v, 1) == 0:
        return "±0.0"
    return t.points(v, signed=signed)


def trend_arrow(kpi: dict[str, Any]) -> tuple[str, str]:
    """Arrow and whether the change is good, bad or neutral for this KPI's direction; a change that
    rounds to zero where it is shown is neutral (→), never a coloured arrow on "+0.0"."""
    ch = shown_change(kpi)
    if ch is None or ch == 0:
        return "→", "neutral"
    up = ch > 0
    good = up == (kpi.get("direction") != "lower")
    return ("↑" if up else "↓"), ("good" if good else "bad")


def kpi_cards(data: WeekData, t: Translator) -> list[dict[str, Any]]:
    cards = []
    for k in data.kpis:
        fk = flag_key(k["flag"])
        arrow, tone = trend_arrow(k)
        cards.append(
            {
                "name": t.label_or(f"kpi_{k['kpi']}", k["kpi"]),
                "value": kpi_value_text(t, k, k["value"]),
                "target": "–"
                if k["target"] is None
                else ("≤ " if k["direction"] == "lower" else "≥ ")
                + kpi_value_text(t, k, k["target"]),
                "direction": t("lower_better" if k["direction"] == "lower" else "higher_better"),
                "change": kpi_value_text(t, k, k["change_7d"], signed=True),
                "arrow": arrow,
                "tone": tone,
                "flag": fk,
                "flag_text": t(f"flag_{fk}") if fk != "unknown" else str(k["flag"]),
                "flag_icon": FLAG_ICONS[fk],
                "flag_colour": FLAG_COLOURS.get(fk, "#52606d"),
                "tone_colour": TONE_COLOURS.get(tone, "#52606d"),
                "n": t.number(k["n"]) if k["n"] is not None else "–",
                "low_sample": k["low_sample"],
                "interval": iv.kpi_interval(t, k, data.uncertainty["confidence"]),
                "significance": iv.change_significance(k),
                "owner": t.value("owner", k["owner"]) if k["owner"] else "",
            }
        )
    return cards


def _cell(text: str, cls: str = "") -> dict[str, str]:
    return {"text": text, "cls": cls, "href": ""}


def segment_cards(seg: SegmentData, t: Translator, low_n: int) -> list[dict[str, Any]]:
    c = seg.cards

    def low(n: Any) -> bool:
        return n is not None and n < low_n

    nps_sub = ""
    if c["week_nps"] is not None:
        nps_sub = f"± {t.points(c['week_nps_moe95'])}"
    return [
        {
            "label": t("customers"),
            "value": t.number(c["customers"]),
            "sub": "",
            "low_sample": False,
        },
        {
            "label": t("active_customers"),
            "value": t.number(c["active_customers"]),
            "sub": "",
            "low_sample": False,
        },
        {
            "label": t("at_risk_customers"),
            "value": t.number(c["at_risk_customers"]),
            "sub": "",
            "low_sample": False,
        },
        {
            "label": t("monetary_total"),
            "value": t.money(c["monetary_total"]),
            "sub": "",
            "low_sample": False,
        },
        {
            "label": t("avg_score"),
            "value": t.number(c["avg_score"], 1),
            "sub": "",
            "low_sample": False,
        },
        {
            "label": t("week_kept_rate"),
            "value": t.percent(c["week_kept_rate"]),
            "sub": iv.card_sub(
                t, c.get("week_kept_low"), c.get("week_kept_high"), c["week_kept_n"]
            ),
            "low_sample": low(c["week_kept_n"]),
            "change": iv.week_change(t, c, "kept"),
        },
        {
            "label": t("week_repurchase_rate"),
            "value": t.percent(c["week_repurchase_rate"]),
            "sub": iv.card_sub(
                t,
                c.get("week_repurchase_low"),
                c.get("week_repurchase_high"),
                c["week_repurchase_n"],
            ),
            "low_sample": low(c["week_repurchase_n"]),
            "change": iv.week_change(t, c, "repurchase"),
        },
        {
            "label": t("week_nps"),
            "value": t.points(c["week_nps"]),
            "sub": f"{nps_sub} {t('n')} = {t.number(c['week_nps_n'])}".strip(),
            "low_sample": bool(c["week_nps_low_sample"]) or low(c["week_nps_n"]),
            "change": iv.week_change(t, c, "nps"),
        },
    ]


def sla_table(data: WeekData, t: Translator) -> dict[str, Any]:
    cols = [
        "priority",
        "tickets",
        "met",
        "breached",
        "open_tickets",
        "sla_rate",
        "complaint_sla_rate",
        "median_first_response_hours",
        "median_resolution_hours",
        "satisfaction_mean",
    ]
    rows = []
    for r in data.sla:
        open_n = r.get("open_tickets") or 0
        rows.append(
            [
                t.label_or(f"priority_{r['priority']}", r["priority"]),
                t.number(r["tickets"]),
                t.number(r["met"]),
                t.number(r["breached"]),
                _cell(t.number(open_n), "flag-off_target" if open_n else ""),
                iv.with_interval(
                    t, r["sla_rate"], r.get("sla_rate_low"), r.get("sla_rate_high"), r.get("sla_n")
                ),
                iv.with_interval(
                    t,
                    r["complaint_sla_rate"],
                    r.get("complaint_sla_rate_low"),
                    r.get("complaint_sla_rate_high"),
                    r.get("complaint_sla_n"),
                ),
                t.number(r["median_first_response_hours"], 1),
                t.number(r["median_resolution_hours"], 1),
                t.number(r["satisfaction_mean"], 2),
            ]
        )
    return {"columns": [t(c) for c in cols], "rows": rows, "numeric": [False] + [True] * 9}


def at_risk_table(seg: SegmentData, t: Translator) -> dict[str, Any]:
    cols = [
        "customer_id",
        "masked_email",
        "tier",
        "segment_name",
        "last_order",
        "monetary",
        "rfm_score",
        "reasons",
        "flagged_since",
    ]
    rows = [
        [
            r["customer_id"],
            r["masked_email"] or "–",
            r["tier"],
            t.value("rfmseg", r["segment"]),
            t.date(r["last_order"]),
            t.money(r["monetary"]),
            t.number(r["rfm_score"], 1),
            ", ".join(t(f"reason_{x}") for x in r["reasons"]),
            t.date(r["flagged_since"]),
        ]
        for r in seg.at_risk
    ]
    numeric = [False, False, False, False, False, True, True, False, False]
    return {"columns": [t(c) for c in cols], "rows": rows, "numeric": numeric}


def quality_view(data: WeekData, t: Translator) -> dict[str, Any]:
    q = data.quality
    sources = {
        "columns": [
            t(c)
            for c in (
                "source",
                "files",
                "rows_read",
                "rows_loaded",
                "rows_quarantined",
                "quarantine_share",
                "duplicates_replaced",
            )
        ],
        "numeric": [False] + [True] * 6,
        "rows": [
            [
                t.value("source", s["source"]),
                t.number(s["files"]),
                t.number(s["rows_read"]),
                t.number(s["rows_loaded"]),
                t.number(s["rows_quarantined"]),
                share_text(t, s["quarantine_share"], s["rows_quarantined"]),
                t.number(s["duplicates_replaced"]),
            ]
            for s in q["sources"]
        ],
    }
    reasons = {
        "columns": [t("source"), t("reason_code"), t("rows")],
        "numeric": [False, False, True],
        "rows": [
            [
                t.value("source", r["source"]),
                t.value("qreason", r["reason_code"]),
                t.number(r["rows"]),
            ]
            for r in q["reasons"]
        ],
    }
    completeness = {
        "columns": [t("source"), t("column"), t("rows"), t("filled_share")],
        "numeric": [False, False, True, True],
        "rows": [
            [
                t.value("source", c["source"]),
                t.value("column", c["column_name"]),
                t.number(c["rows"]),
                t.percent(c["filled_share"]),
            ]
            for c in q["completeness"]
        ],
    }
    f = q["freshness"]
    freshness = {
        "last_order_day": t.date(f["last_order_day"]),
        "days_behind": t.number(f["days_behind"]),
        "status": t("stale" if f["stale"] else "fresh"),
        "cls": "flag-alert" if f["stale"] else "flag-on_target",
    }
    return {
        "sources": sources,
        "reasons": reasons,
        "completeness": completeness,
        "freshness": freshness,
    }


def segments_table(data: WeekData, t: Translator, links: dict[str, str]) -> dict[str, Any]:
    cols = [
        "segment",
        "customers",
        "active_customers",
        "at_risk_customers",
        "monetary_total",
        "week_kept_rate",
        "week_repurchase_rate",
        "week_nps",
    ]
    rows = []
    for name, seg in data.segments.items():
        c = seg.cards
        rows.append(
            [
                {"text": t.segment_name(name), "href": links.get(name, ""), "cls": ""},
                t.number(c["customers"]),
                t.number(c["active_customers"]),
                t.number(c["at_risk_customers"]),
                t.money(c["monetary_total"]),
                f"{t.percent(c['week_kept_rate'])} ({t('n')}={t.number(c['week_kept_n'])})",
                f"{t.percent(c['week_repurchase_rate'])} ({t('n')}={t.number(c['week_repurchase_n'])})",
                f"{t.points(c['week_nps'])} ({t('n')}={t.number(c['week_nps_n'])})",
            ]
        )
    return {"columns": [t(c) for c in cols], "rows": rows, "numeric": [False] + [True] * 7}


def segment_distribution_table(seg: SegmentData, t: Translator) -> dict[str, Any]:
    total = sum(r["customers"] for r in seg.segment_distribution) or 1
    return {
        "columns": [t("rfm_segment"), t("customers"), t("share")],
        "numeric": [False, True, True],
        "rows": [
            [
                t.value("rfmseg", r["segment"]),
                t.number(r["customers"]),
                t.percent(r["customers"] / total),
            ]
            for r in seg.segment_distribution
        ],
    }


def header(data: WeekData, t: Translator, segment: str, generated: dt.datetime) -> dict[str, str]:
    w = data.week
    return {
        "title": t("report_title"),
        "segment": t.segment_name(segment),
        "week": w.label,
        "range": f"{t.date(w.start)} – {t.date(w.end)}",
        "as_of": t.date(w.end),
        "generated": t.datetime(generated),
    }
