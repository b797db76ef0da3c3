"""Plotly figures for the reports and the email, built from `reports.model` data (no SQL here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData, WeekData
from loyalty.vocab import ALL, CHURN_FLAGS, RATE_KPIS, TIERS

FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
    '"PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif'
)
# Every figure's look is plotly's "plotly_white", set as the default template: a figure that names
# its template gets a deep copy of it validated on every assignment (about 8 ms a figure, 3 s of
# the reports of a CDNOW-sized week), the default one is applied from plotly's cached copy (about
# 1 ms). The same HTML either way. Every module that draws a figure imports this one.
pio.templates.default = "plotly_white"

TIER_COLOURS = {"A": "#1b7f5b", "B": "#3a7dc9", "C": "#c99a2e", "D": "#c0392b"}
PALETTE = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#4a5568"]


class Draft:
    """A figure's traces and layout gathered as they are drawn, made into a `go.Figure` once
    (`figure`): the same figure as drawing on a `go.Figure` (the same JSON), but plotly validates
    and merges the layout on each of its update calls (about 4 ms a figure against under 1 ms made
    at once; a CDNOW-sized week draws about 100 figures). The methods are go.Figure's, for what the
    reports use: an axis update sets the one x or y axis (there are no subplots)."""

    def __init__(self, trace: object | None = None) -> None:
        self.data: list[object] = [] if trace is None else [trace]
        self.layout: dict[str, Any] = {}

    def add_scatter(self, **props: object) -> None:
        self.data.append({"type": "scatter", **props})

    def add_bar(self, **props: object) -> None:
        self.data.append({"type": "bar", **props})

    def add_hline(self, y: float, line: dict[str, object]) -> None:
        """A horizontal line across the plot at `y` (as go.Figure.add_hline draws it)."""
        shape = {"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y}
        self.layout.setdefault("shapes", []).append({**shape, "yref": "y", "line": line})

    def update_layout(self, **props: object) -> None:
        _merge(self.layout, props)

    def update_xaxes(self, **props: object) -> None:
        _merge(self.layout, {"xaxis": props})

    def update_yaxes(self, **props: object) -> None:
        _merge(self.layout, {"yaxis": props})

    def figure(self) -> go.Figure:
        return go.Figure(data=self.data, layout=self.layout)


def _merge(into: dict, props: dict) -> None:
    """Nested properties merged as plotly's updates merge them: a dict into a dict, key by key;
    anything else replaces."""
    for key, value in props.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, dict) else value


def date_axis(fig: Draft, t: Translator) -> None:
    """Dates on the x axis without English month names in zh-CN (plotly.js ships English only)."""
    if t.locale == "zh-CN":
        fig.update_xaxes(tickformat="%Y-%m-%d", hoverformat="%Y-%m-%d")


def _layout(fig: Draft, title: str, height: int = 340) -> go.Figure:
    """The reports' look (title, font, size, margins, legend below), and the figure made."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        font={"family": FONT, "size": 12, "color": "#1f2933"},
        height=height,
        margin={"l": 56, "r": 20, "t": 48, "b": 44},
        legend={"orientation": "h", "y": -0.18},
        paper_bgcolor="white",
        plot_bgcolor="white",
    )
    return fig.figure()


def kpi_trend(data: WeekData, seg: SegmentData, t: Translator) -> go.Figure | None:
    """The rate KPIs (each over its trailing window ending on the week's last day) and, in a tier
    report, the tier's weekly kept and repurchase rates; every point at its week's last day, and the
    legend names each line's window."""
    fig = Draft()
    kpis = [k for k in dict.fromkeys(r["kpi"] for r in data.kpi_trend) if k in RATE_KPIS]
    window = t("kpi_window", days=data.kpi_window_days)
    drawn = False
    for i, k in enumerate(kpis):
        pts = [r for r in data.kpi_trend if r["kpi"] == k and r["value"] is not None]
        drawn = drawn or bool(pts)
        fig.add_scatter(
            x=[r["as_of"] for r in pts],
            y=[r["value"] for r in pts],
            name=f"{t.label_or(f'kpi_{k}', k)} ({window})",
            mode="lines+markers",
            line={"color": PALETTE[i % len(PALETTE)], "width": 2},
        )
    if seg.segment != ALL:
        for key, dash in (("kept_rate", "dash"), ("repurchase_rate", "dot")):
            pts = [r for r in seg.segment_trend if r[key] is not None]
            drawn = drawn or bool(pts)
            fig.add_scatter(
                x=[r["week_end"] for r in pts],
                y=[r[key] for r in pts],
                name=f"{t(key)} · {t.segment_name(seg.segment)} ({t('weekly')})",
                mode="lines+markers",
                line={"color": TIER_COLOURS.get(seg.segment, "#333"), "dash": dash},
            )
    if not drawn:
        return None
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    date_axis(fig, t)
    return _layout(fig, t("kpi_trend"))


def nps_trend(seg: SegmentData, t: Translator) -> go.Figure | None:
    """Weekly NPS at each week's last day (the KPI trend's anchor), with its 95 % margin."""
    pts = [r for r in seg.nps_trend if r["nps"] is not None]
    if not pts:
        return None
    x = [r["period_start"] + dt.timedelta(days=6) for r in pts]
    y = [r["nps"] for r in pts]
    moe = [r["nps_moe95"] or 0 for r in pts]
    fig = Draft()
    fig.add_scatter(
        x=x + x[::-1],
        y=[a + b for a, b in zip(y, moe, strict=True)]
        + [a - b for a, b in zip(y, moe, strict=True)][::-1],
        fill="toself",
        mode="lines",
        fillcolor="rgba(43,108,176,0.15)",
        line={"width": 0},
        hoverinfo="skip",
        name=t("nps_band"),
    )
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines+markers",
        name=t("nps"),
        line={"color": "#2b6cb0", "width": 2},
        marker={
            "size": 8,
            "symbol": ["circle-open" if r["low_sample"] else "circle" for r in pts],
        },
        customdata=[[r["responses"], t("low_sample") if r["low_sample"] else ""] for r in pts],
        hovertemplate="%{x|%Y-%m-%d}: %{y:.1f} ("
        + t("n")
        + "=%{customdata[0]}) %{customdata[1]}<extra></extra>",
    )
    fig.update_yaxes(range=[-100, 100], zeroline=True)
    date_axis(fig, t)
    return _layout(fig, t("nps_trend"))


def cohort_heatmap(data: WeekData, t: Translator) -> go.Figure | None:
    c = data.cohort
    if not c:
        return None
    ylabels = [co["cohort"].strftime("%Y-%m") for co in c["cohorts"]]
    z, text = [], []
    for co in c["cohorts"]:
        row, trow = [], []
        for k in c["ks"]:
            cell = co["cells"].get(k)
            share = cell["share"] if cell else None
            row.append(share)
            if share is None:
                trow.append("")
            else:
                trow.append(f"{100 * share:.0f}%" + ("*" if not cell["complete"] else ""))
        z.append(row)
        text.append(trow)
    if c["average"]:
        ylabels.append(t("cohort_average"))
        z.append(c["average"])
        text.append(["" if v is None else f"{100 * v:.0f}%" for v in c["average"]])
    fig = Draft(
        go.Heatmap(
            z=z,
            x=[f"+{k}" for k in c["ks"]],
            y=ylabels,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y} %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title=t("month_offset"), type="category")
    height = max(300, 60 + 26 * len(ylabels))
    return _layout(fig, f"{t('cohort')} (* {t('incomplete')})", height=height)


def tier_distribution(data: WeekData, seg: SegmentData, t: Translator) -> go.Figure | None:
    rows = data.tier_distribution
    if not any(r["customers"] for r in rows):
        return None
    colours = [
        TIER_COLOURS.get(r["tier"], "#888")
        if seg.segment in (ALL, r["tier"])
        else "rgba(150,150,150,0.45)"
        for r in rows
    ]
    fig = Draft(
        go.Bar(
            x=[r["tier"] for r in rows],
            y=[r["customers"] for r in rows],
            marker_color=colours,
            text=[f"{r['customers']:,} ({100 * r['share']:.0f}%)" for r in rows],
            textposition="auto",
        )
    )
    fig.update_xaxes(title=t("tier"), categoryorder="array", categoryarray=list(TIERS))
    fig.update_yaxes(title=t("customers"))
    return _layout(fig, t("tier_distribution"))


def tier_migration(seg: SegmentData, t: Translator) -> go.Figure | None:
    if not any(r["customers"] for r in seg.migration):
        return None
    order = [*TIERS, "new", "left"]
    prev = [p for p in order if any(r["prev_tier"] == p for r in seg.migration)]
    cur = [c for c in order if any(r["cur_tier"] == c for r in seg.migration)]
    counts = {(r["prev_tier"], r["cur_tier"]): r["customers"] for r in seg.migration}

    def lab(x: str) -> str:
        return {"new": t("new_customer"), "left": t("gone_customer")}.get(x, x)

    z = [[counts.get((p, c), 0) for c in cur] for p in prev]
    fig = Draft(
        go.Heatmap(
            z=z,
            x=[lab(c) for c in cur],
            y=[lab(p) for p in prev],
            text=[[f"{v:,}" for v in row] for row in z],
            texttemplate="%{text}",
            colorscale="Purples",
            hovertemplate="%{y} → %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_yaxes(title=t("prev_tier"), autorange="reversed", type="category")
    fig.update_xaxes(title=t("cur_tier"), type="category", side="top")
    figure = _layout(fig, t("tier_migration"))
    figure.update_layout(margin={"t": 96}, title={"y": 0.97})  # room for the top axis title
    return figure


def churn_reasons(seg: SegmentData, t: Translator) -> go.Figure | None:
    if not seg.cards.get("customers"):
        return None  # no customers in the segment on D: nothing to count
    labels = [t(f"reason_{k}") for k in CHURN_FLAGS] + [t("churn_risk_any")]
    values = [seg.churn_reasons[k] for k in CHURN_FLAGS] + [seg.churn_reasons["churn_risk"]]
    fig = Draft(
        go.Bar(
            y=labels,
            x=values,
            orientation="h",
            marker_color=["#dd6b20", "#c53030", "#d69e2e", "#4a5568"],
            text=[f"{v:,}" for v in values],
            textposition="auto",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=t("customers"))
    return _layout(fig, t("churn_reasons"), height=300)


def sla_by_priority(data: WeekData, t: Translator) -> go.Figure | None:
    rows = data.sla
    if not any(r["tickets"] for r in rows):
        return None  # no ticket opened in the week
    fig = Draft(
        go.Bar(
            x=[t.label_or(f"priority_{r['priority']}", r["priority"]) for r in rows],
            y=[r["sla_rate"] for r in rows],
            marker_color=["#4a5568" if r["priority"] == ALL else "#2b6cb0" for r in rows],
            text=[
                ("–" if r["sla_rate"] is None else f"{100 * r['sla_rate']:.0f}%")
                + f" ({t('n')}={(r['met'] or 0) + (r['breached'] or 0)})"
                for r in rows
            ],
            textposition="auto",
        )
    )
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], title=t("sla_rate"))
    fig.update_xaxes(title=t("priority"))
    return _layout(fig, t("sla"))
