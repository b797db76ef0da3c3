"""Self-contained HTML reports: one per segment plus an overview.

Each file carries its CSS and plotly.js inline (plotly.js once, with the first chart), so it opens
offline from an email attachment or a file share. Templates get a ready view-model.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
from markupsafe import Markup

from loyalty.reports import charts, value_charts
from loyalty.reports import value_view as vv
from loyalty.reports import viewmodel as vm
from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData, WeekData
from loyalty.vocab import ALL

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class _ChartEmbedder:
    """Embeds figures as HTML, plotly.js inline with the first one only."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, fig: go.Figure | None) -> Markup | None:
        if fig is None:
            return None
        html = fig.to_html(
            full_html=False,
            include_plotlyjs=self.first,  # True = the whole bundle inline, never a CDN
            include_mathjax=False,
            config=PLOTLY_CONFIG,
            default_width="100%",
            default_height=f"{fig.layout.height or 340}px",
        )
        self.first = False
        return Markup(html)


def file_name(week_label: str, segment: str, ext: str) -> str:
    return f"loyalty_{week_label}_{segment}.{ext}"


def _nav(data: WeekData, t: Translator, current: str) -> list[dict[str, Any]]:
    items = [("overview", t("overview"))] + [(s, t.segment_name(s)) for s in data.segments]
    return [
        {"name": name, "href": file_name(data.week.label, key, "html"), "current": key == current}
        for key, name in items
    ]


def _common(
    data: WeekData, t: Translator, segment: str, generated: dt.datetime, low_n: int
) -> dict:
    return {
        "lang": t.locale,
        "l": t.labels,
        "head": vm.header(data, t, segment, generated),
        "nav": _nav(data, t, segment),
        "kpis": vm.kpi_cards(data, t),
        "quality": vm.quality_view(data, t),
        "sla_table": vm.sla_table(data, t),
        "thresholds": [{"name": k, "value": v} for k, v in data.thresholds],
        "low_n": low_n,
    }


def _charts(
    data: WeekData, seg: SegmentData, t: Translator, embed: _ChartEmbedder
) -> list[dict[str, Any]]:
    """The report's charts, in page order, each embedded once (Plotly's script once per file)."""
    chart_list = [
        ("kpi_trend", charts.kpi_trend(data, seg, t), t("kpi_trend_note")),
        ("nps_trend", charts.nps_trend(seg, t), t("nps_trend_note")),
        ("tier_distribution", charts.tier_distribution(data, seg, t), ""),
        ("tier_migration", charts.tier_migration(seg, t), t("tier_migration_note")),
        ("churn_reasons", charts.churn_reasons(seg, t), ""),
        ("sla", charts.sla_by_priority(data, t), t("sla_note")),
        ("cohort", charts.cohort_heatmap(data, t), t("cohort_note")),
    ]
    return [
        {"id": key, "title": t(key), "html": embed(fig), "note": note, "empty": ""}
        for key, fig, note in chart_list
    ]


def _model(
    data: WeekData, seg: SegmentData, t: Translator, embed: _ChartEmbedder
) -> dict[str, Any]:
    """The churn-and-value section: whether the model is used (or why not), and its panels; a panel
    without data says so in one line instead of drawing empty axes."""
    value = data.value
    empty = vv.panel_empty(value, t)
    day = value.value_day
    panels = [
        ("backtest", value_charts.backtest(value, t), vv.backtest_note(value, t)),
        (
            "p_alive_distribution",
            value_charts.p_alive_distribution(seg, t),
            vv.p_alive_note(value.status_bands, t),
        ),
        (
            "risk_by_segment",
            value_charts.risk_by_segment(value, t),
            t("risk_by_segment_note", day=t.date(day), h=value.horizon_days),
        ),
        ("risk_trend", value_charts.risk_trend(value, seg, t), t("risk_trend_note")),
    ]
    charts_out = []
    for key, fig, note in panels:
        charts_out.append(
            {
                "id": key,
                "title": t(key),
                "html": embed(fig),
                "note": note if fig is not None else "",
                "empty": empty if key != "backtest" else t("no_model_data"),
            }
        )
    return {"note": vv.model_note(value, t), "charts": charts_out}


def render_segment(
    data: WeekData, segment: str, t: Translator, generated: dt.datetime, low_n: int, top_n: int
) -> str:
    seg = data.segments[segment]
    embed = _ChartEmbedder()
    by_model = seg.at_risk_source == "model"
    model = {
        **_common(data, t, segment, generated, low_n),
        "overview": False,
        "cards_title": t.segment_name(segment),
        "cards": vm.segment_cards(seg, t, low_n) + vv.value_cards(seg, data.value, t),
        "charts": _charts(data, seg, t, embed),
        "model": _model(data, seg, t, embed),
        "segment_distribution": vm.segment_distribution_table(seg, t),
        "at_risk": vv.at_risk_table_model(seg, t) if by_model else vm.at_risk_table(seg, t),
        "at_risk_note": t("at_risk_note_model", n=top_n, h=data.value.horizon_days)
        if by_model
        else t("at_risk_note", n=top_n),
        "segments_table": None,
    }
    return _env.get_template("report.html.j2").render(**model)


def render_overview(data: WeekData, t: Translator, generated: dt.datetime, low_n: int) -> str:
    seg = data.segments.get(ALL) or next(iter(data.segments.values()))
    links = {s: file_name(data.week.label, s, "html") for s in data.segments}
    embed = _ChartEmbedder()
    model = {
        **_common(data, t, "overview", generated, low_n),
        "overview": True,
        "cards_title": t.segment_name(seg.segment),
        "cards": vm.segment_cards(seg, t, low_n) + vv.value_cards(seg, data.value, t),
        "charts": _charts(data, seg, t, embed),
        "model": _model(data, seg, t, embed),
        "segment_distribution": None,
        "at_risk": None,
        "at_risk_note": "",
        "segments_table": vm.segments_table(data, t, links),
    }
    return _env.get_template("report.html.j2").render(**model)


def render_email_html(model: dict[str, Any]) -> str:
    return _env.get_template("email.html.j2").render(**model)
