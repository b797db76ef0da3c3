"""The service-impact chart: per complete month, the matched difference in re-ordering (breached −
met SLA, in percentage points) with its 95 % interval, and the raw difference beside it. Built
from `InsightData` (no SQL); None when no month has a matched difference."""

from __future__ import annotations

import plotly.graph_objects as go

from loyalty.reports.charts import FONT, Draft
from loyalty.reports.i18n import Translator
from loyalty.reports.insight_model import InsightData
from loyalty.reports.insight_view import month_label


def impact_chart(ins: InsightData, t: Translator) -> go.Figure | None:
    months = [r for r in reversed(ins.impact_trend()) if r["reorder_rate_diff_adj"] is not None]
    if not months:
        return None
    x = [month_label(t, r["period_start"]) for r in months]
    matched = [100 * r["reorder_rate_diff_adj"] for r in months]
    fig = Draft()
    fig.add_scatter(
        x=x,
        y=matched,
        name=t("ins_diff_adj"),
        mode="markers",
        marker={"color": "#2b6cb0", "size": 10},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [100 * r["diff_high95"] - m for r, m in zip(months, matched, strict=True)],
            "arrayminus": [m - 100 * r["diff_low95"] for r, m in zip(months, matched, strict=True)],
            "color": "#2b6cb0",
            "thickness": 1.5,
        },
    )
    raw = [r for r in months if r["reorder_rate_diff"] is not None]
    fig.add_scatter(
        x=[month_label(t, r["period_start"]) for r in raw],
        y=[100 * r["reorder_rate_diff"] for r in raw],
        name=t("ins_diff_raw"),
        mode="markers",
        marker={"color": "#c05621", "size": 9, "symbol": "circle-open", "line": {"width": 2}},
    )
    fig.add_hline(y=0, line={"color": "#52606d", "width": 1})
    fig.update_yaxes(title={"text": t("pp")}, zeroline=False, range=[-105, 105])
    fig.update_xaxes(type="category")
    fig.update_layout(
        title={"text": t("ins_impact_chart"), "x": 0.01, "font": {"size": 15}},
        font={"family": FONT, "size": 12, "color": "#1f2933"},
        height=320,
        margin={"l": 56, "r": 20, "t": 48, "b": 44},
        legend={"orientation": "h", "y": -0.2},
        paper_bgcolor="white",
        plot_bgcolor="white",
    )
    return fig.figure()
