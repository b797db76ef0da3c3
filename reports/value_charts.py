"""Plotly panels of the churn-and-value model (issue 11), built from `reports.model` data (no SQL):
the backtest by decile, the P(alive) distribution, value at risk by RFM segment and its weekly
trend. Each returns None when there is nothing to draw; the report then says so in one line."""

from __future__ import annotations

import plotly.graph_objects as go

from loyalty.reports.charts import TIER_COLOURS, Draft, _layout, date_axis
from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData, ValueData
from loyalty.reports.value import (
    DIMENSION_ALL,
    DIMENSION_SEGMENT,
    DIMENSION_TIER,
    P_ALIVE_BINS,
    STATUSES,
)
from loyalty.vocab import ALL

STATUS_COLOURS = {"active": "#1b7f5b", "at_risk": "#dd6b20", "lapsed": "#975a16", "lost": "#718096"}


def backtest(value: ValueData, t: Translator) -> go.Figure | None:
    """Predicted vs actual orders per decile of predicted orders (1 = highest)."""
    rows = value.backtest
    if not rows:
        return None
    x = [str(r["decile"]) for r in rows]
    fig = Draft()
    fig.add_bar(
        x=x,
        y=[r["predicted_orders"] for r in rows],
        name=t("predicted_orders"),
        marker_color="#2b6cb0",
        customdata=[r["customers"] for r in rows],
        hovertemplate="%{x}: %{y:,.1f} (n=%{customdata})<extra></extra>",
    )
    fig.add_bar(
        x=x,
        y=[r["actual_orders"] for r in rows],
        name=t("actual_orders"),
        marker_color="#c05621",
        customdata=[r["customers"] for r in rows],
        hovertemplate="%{x}: %{y:,} (n=%{customdata})<extra></extra>",
    )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title=t("decile"), type="category")
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, t("backtest"))


def p_alive_distribution(seg: SegmentData, t: Translator) -> go.Figure | None:
    """Customers per tenth of P(alive), stacked by status."""
    if not seg.p_alive_bins:
        return None
    labels = [
        f"{k * 100 // P_ALIVE_BINS}–{(k + 1) * 100 // P_ALIVE_BINS}" for k in range(P_ALIVE_BINS)
    ]
    counts = {(r["bin"], r["status"]): r["customers"] for r in seg.p_alive_bins}
    fig = Draft()
    for status in STATUSES:
        y = [counts.get((k, status), 0) for k in range(P_ALIVE_BINS)]
        if not any(y):
            continue
        fig.add_bar(
            x=labels,
            y=y,
            name=t.label_or(f"status_{status}", status),
            marker_color=STATUS_COLOURS[status],
            hovertemplate="%{x}: %{y:,}<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(
        title=f"{t('p_alive')} (%)",
        type="category",
        categoryorder="array",
        categoryarray=labels,
        tickangle=0,
    )
    fig.update_yaxes(title=t("customers"))
    figure = _layout(fig, t("p_alive_distribution"))
    figure.update_layout(legend={"y": -0.28, "traceorder": "normal"})  # below the axis title
    return figure


def risk_by_segment(value: ValueData, t: Translator) -> go.Figure | None:
    """Value at risk per RFM segment (company-wide), largest on top."""
    rows = [
        r
        for r in value.risk
        if r["dimension"] == DIMENSION_SEGMENT and r["at_risk_customers"] and r["value_at_risk"]
    ]
    if not value.model_used or not rows:
        return None
    rows.sort(key=lambda r: (-r["value_at_risk"], r["key"]))
    fig = Draft(
        go.Bar(
            y=[t.value("rfmseg", r["key"]) for r in rows],
            x=[r["value_at_risk"] for r in rows],
            orientation="h",
            marker_color="#dd6b20",
            text=[
                f"{t.money(r['value_at_risk'])} ({t.number(r['at_risk_customers'])})" for r in rows
            ],
            textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title=t("value_at_risk"), rangemode="tozero")
    return _layout(fig, t("risk_by_segment"), height=max(300, 80 + 28 * len(rows)))


def risk_trend(value: ValueData, seg: SegmentData, t: Translator) -> go.Figure | None:
    """Value at risk on the last day of each trend week: the whole base, and the tier in a tier
    report; a week without stored scores is a gap."""
    if not value.model_used:
        return None
    lines = [(DIMENSION_ALL, ALL, t.segment_name(ALL), "#2b6cb0")]
    if seg.segment != ALL:
        lines.append(
            (
                DIMENSION_TIER,
                seg.segment,
                t.segment_name(seg.segment),
                TIER_COLOURS.get(seg.segment, "#333"),
            )
        )
    fig = Draft()
    drawn = False
    for dimension, key, name, colour in lines:
        got = {
            r["as_of"]: r
            for r in value.risk_trend
            if r["dimension"] == dimension and r["key"] == key
        }
        y = [got[d]["value_at_risk"] if d in got else None for d in value.trend_days]
        drawn = drawn or any(v is not None for v in y)
        fig.add_scatter(
            x=value.trend_days,
            y=y,
            name=name,
            mode="lines+markers",
            line={"color": colour, "width": 2},
            customdata=[
                got[d]["at_risk_customers"] if d in got else None for d in value.trend_days
            ],
            hovertemplate="%{x|%Y-%m-%d}: %{y:,.2f} (%{customdata})<extra>%{fullData.name}</extra>",
        )
    if not drawn:
        return None
    fig.update_yaxes(title=t("value_at_risk"), rangemode="tozero")
    date_axis(fig, t)
    return _layout(fig, t("risk_trend"))
