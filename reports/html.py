"""Self-contained HTML reports: one per segment plus an overview.

Each file carries its CSS and plotly.js inline (plotly.js once, with the first chart), so it opens
offline from an email attachment or a file share. Templates get a ready view-model.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from loyalty.reports import charts, value_charts
from loyalty.reports import value_view as vv
from loyalty.reports import viewmodel as vm
from loyalty.reports.actions_view import actions_panel, restatements_panel
from loyalty.reports.digest_view import digest_section
from loyalty.reports.i18n import Translator
from loyalty.reports.insight_charts import impact_chart
from loyalty.reports.insight_view import insight_section
from loyalty.reports.model import SegmentData, WeekData
from loyalty.reports.notes import order_warning
from loyalty.reports.thresholds_view import threshold_rows
from loyalty.vocab import ALL

DEFAULT_LOCALE = "en"
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


# plotly.js ships English only: the zh-CN report registers this locale (modebar buttons, month and
# day names, number separators) right after the bundle and selects it in every chart's config
PLOTLY_LOCALES = {
    "zh-CN": {
        "moduleType": "locale",
        "name": "zh-CN",
        "dictionary": {
            "Autoscale": "自动缩放",
            "Box Select": "矩形选择",
            "Click to enter Colorscale title": "点击输入色阶标题",
            "Compare data on hover": "悬停时比较数据",
            "Double-click to zoom back out": "双击还原",
            "Download plot": "下载图表",
            "Download plot as a png": "下载为 PNG 图片",
            "Download plot as a PNG": "下载为 PNG 图片",
            "Share chart...": "分享图表…",
            "Lasso Select": "套索选择",
            "Orbital rotation": "轨道旋转",
            "Pan": "平移",
            "Produced with Plotly.js": "由 Plotly.js 生成",
            "Reset": "重置",
            "Reset axes": "重置坐标轴",
            "Reset view": "重置视图",
            "Show closest data on hover": "悬停时显示最近的数据",
            "Snapshot succeeded": "截图成功",
            "Sorry, there was a problem downloading your snapshot!": "抱歉，下载截图时出错！",
            "Taking snapshot - this may take a few seconds": "正在截图，可能需要几秒钟",
            "Toggle Spike Lines": "切换辅助线",
            "Toggle show closest data on hover": "切换悬停显示最近数据",
            "Zoom": "缩放",
            "Zoom in": "放大",
            "Zoom out": "缩小",
            "trace": "序列",
        },
        "format": {
            "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
            "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
            "months": [f"{m}月" for m in range(1, 13)],
            "shortMonths": [f"{m}月" for m in range(1, 13)],
            "date": "%Y-%m-%d",
            "decimal": ".",
            "thousands": ",",
        },
    }
}


class _ChartEmbedder:
    """Embeds figures as HTML, plotly.js inline with the first one only (and the locale's plotly.js
    dictionary right after it)."""

    def __init__(self, locale: str = "en") -> None:
        self.first = True
        self.locale = locale

    def __call__(self, fig: go.Figure | None) -> Markup | None:
        if fig is None:
            return None
        config = dict(PLOTLY_CONFIG)
        if self.locale in PLOTLY_LOCALES:
            config["locale"] = self.locale
        html = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            config=config,
            default_width="100%",
            default_height=f"{fig.layout.height or 340}px",
        )
        if self.first:  # the whole bundle inline, never a CDN
            head = f'<script type="text/javascript">{get_plotlyjs()}</script>'
            if self.locale in PLOTLY_LOCALES:
                locale_js = json.dumps(PLOTLY_LOCALES[self.locale], ensure_ascii=False)
                head += f'<script type="text/javascript">Plotly.register({locale_js});</script>'
            html = head + html
        self.first = False
        return Markup(html)


def file_name(week_label: str, segment: str, ext: str, suffix: str = "") -> str:
    """`loyalty_<week>_<segment>[_<locale>].<ext>` (suffix from `locale_suffix`)."""
    return f"loyalty_{week_label}_{segment}{suffix}.{ext}"


def locale_suffix(locale: str) -> str:
    """English files keep the names they always had (links, bookmarks and scripts keep working);
    every other locale's files carry `_<locale>`, so a zh-CN run never overwrites English files."""
    return "" if locale == DEFAULT_LOCALE else f"_{locale}"


def _nav(data: WeekData, t: Translator, current: str, suffix: str) -> list[dict[str, Any]]:
    items = [("overview", t("overview"))] + [(s, t.segment_name(s)) for s in data.segments]
    return [
        {
            "name": name,
            "href": file_name(data.week.label, key, "html", suffix),
            "current": key == current,
        }
        for key, name in items
    ]


def _common(
    data: WeekData, t: Translator, segment: str, generated: dt.datetime, low_n: int, suffix: str
) -> dict:
    return {
        "lang": t.locale,
        "l": t.labels,
        "head": vm.header(data, t, segment, generated),
        "nav": _nav(data, t, segment, suffix),
        "kpis": vm.kpi_cards(data, t),
        "quality": vm.quality_view(data, t),
        "sla_table": vm.sla_table(data, t),
        "thresholds": [{"name": k, "value": v} for k, v in threshold_rows(t, data.thresholds)],
        "low_n": low_n,
        "order_warning": order_warning(data, t),
        # the playbook's actions of the segment (the whole base on the overview), restatements
        "actions": actions_panel(data, ALL if segment == "overview" else segment, t),
        "restatements": restatements_panel(data, t),
        "uncertainty_note": t(
            "uncertainty_note",
            level=f"{100 * data.uncertainty['confidence']:g}",
            alpha=f"{data.uncertainty['alpha']:g}",
            min_n=data.uncertainty["min_n"],
        ),
    }


def _charts(
    data: WeekData, seg: SegmentData, t: Translator, embed: _ChartEmbedder
) -> list[dict[str, Any]]:
    """The report's charts, in page order, each embedded once (Plotly's script once per file)."""
    chart_list = [
        (
            "kpi_trend",
            charts.kpi_trend(data, seg, t),
            t("kpi_trend_note", days=data.kpi_window_days),
        ),
        ("nps_trend", charts.nps_trend(seg, t), t("nps_trend_note")),
        ("tier_distribution", charts.tier_distribution(data, seg, t), ""),
        ("tier_migration", charts.tier_migration(seg, t), t("tier_migration_note")),
        ("churn_reasons", charts.churn_reasons(seg, t), ""),
        ("sla", charts.sla_by_priority(data, t), t("sla_note")),
        ("cohort", charts.cohort_heatmap(data, t), t("cohort_note")),
    ]
    # a chart without data says so in one line instead of drawing empty axes
    return [
        {
            "id": key,
            "title": t(key),
            "html": embed(fig),
            "note": note if fig is not None else "",
            "empty": t("no_chart_data"),
        }
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
    data: WeekData,
    segment: str,
    t: Translator,
    generated: dt.datetime,
    low_n: int,
    top_n: int,
    suffix: str = "",
) -> str:
    seg = data.segments[segment]
    embed = _ChartEmbedder(t.locale)
    by_model = seg.at_risk_source == "model"
    model = {
        **_common(data, t, segment, generated, low_n, suffix),
        "overview": False,
        "cards_title": t.segment_name(segment),
        "cards": vm.segment_cards(seg, t, low_n) + vv.value_cards(seg, data.value, t),
        "charts": _charts(data, seg, t, embed),
        "model": _model(data, seg, t, embed),
        "digest": digest_section(data, seg, t, embed),
        "insight": insight_section(data, segment, t, embed(impact_chart(data.insight, t))),
        "segment_distribution": vm.segment_distribution_table(seg, t),
        "at_risk": vv.at_risk_table_model(seg, t) if by_model else vm.at_risk_table(seg, t),
        "at_risk_note": t("at_risk_note_model", n=top_n, h=data.value.horizon_days)
        if by_model
        else t("at_risk_note", n=top_n),
        "segments_table": None,
    }
    return _env.get_template("report.html.j2").render(**model)


def render_overview(
    data: WeekData, t: Translator, generated: dt.datetime, low_n: int, suffix: str = ""
) -> str:
    seg = data.segments.get(ALL) or next(iter(data.segments.values()))
    links = {s: file_name(data.week.label, s, "html", suffix) for s in data.segments}
    embed = _ChartEmbedder(t.locale)
    model = {
        **_common(data, t, "overview", generated, low_n, suffix),
        "overview": True,
        "cards_title": t.segment_name(seg.segment),
        "cards": vm.segment_cards(seg, t, low_n) + vv.value_cards(seg, data.value, t),
        "charts": _charts(data, seg, t, embed),
        "model": _model(data, seg, t, embed),
        "digest": digest_section(data, seg, t, embed),
        "insight": insight_section(data, "overview", t, embed(impact_chart(data.insight, t))),
        "segment_distribution": None,
        "at_risk": None,
        "at_risk_note": "",
        "segments_table": vm.segments_table(data, t, links),
    }
    return _env.get_template("report.html.j2").render(**model)


def render_email_html(model: dict[str, Any]) -> str:
    return _env.get_template("email.html.j2").render(**model)
