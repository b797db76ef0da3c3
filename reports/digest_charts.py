"""Plotly figures of the NPS and CSAT digest (reports/digest_view.py): the week's score
distribution per scale and the weekly NPS and CSAT per tier with their intervals as error bars.
Each returns None when it has nothing to draw (the panel then says so in one line)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go

from loyalty.reports.charts import TIER_COLOURS, Draft, _layout, date_axis
from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData
from loyalty.vocab import ALL, TIERS

NPS_CLASS_COLOURS = {"detractor": "#c0392b", "passive": "#c99a2e", "promoter": "#1b7f5b"}
CSAT_COLOURS = {1: "#c0392b", 2: "#dd6b20", 3: "#c99a2e", 4: "#2f855a", 5: "#1b7f5b"}


def _nps_class(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def score_distribution(seg: SegmentData, t: Translator, scale: str) -> go.Figure | None:
    """Answers per score of the week: NPS 0-10 coloured by class, or CSAT 1-5."""
    counts = seg.digest.get("scores", {}).get(scale) or []
    if not any(n for _, n in counts):
        return None
    total = sum(n for _, n in counts)
    if scale == "nps":
        colours = [NPS_CLASS_COLOURS[_nps_class(s)] for s, _ in counts]
    else:
        colours = [CSAT_COLOURS.get(s, "#2b6cb0") for s, _ in counts]
    fig = Draft(
        go.Bar(
            x=[str(s) for s, _ in counts],
            y=[n for _, n in counts],
            marker_color=colours,
            text=[f"{n:,} ({100 * n / total:.0f}%)" if n else "" for _, n in counts],
            textposition="auto",
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    fig.update_xaxes(title=t("score"), type="category")
    # whole answers on the axis (no 0.2 of an answer)
    fig.update_yaxes(title=t("answers"), rangemode="tozero", tickformat=",d")
    if max(n for _, n in counts) <= 10:
        fig.update_yaxes(dtick=1)
    title = t("kpi_nps") if scale == "nps" else t("csat")
    return _layout(fig, f"{t('score_distribution')} · {title}", height=300)


def _tier_rows(seg: SegmentData, value: str) -> dict[str, list[dict[str, Any]]]:
    """nps_period weekly rows with a value, per tier: every tier in the `all` report, else the
    segment's own."""
    tiers = [ALL, *TIERS] if seg.segment == ALL else [seg.segment]
    return {
        tier: [r for r in seg.nps if r["tier"] == tier and r.get(value) is not None]
        for tier in tiers
    }


def tier_trend(seg: SegmentData, t: Translator, scale: str, min_n: int) -> go.Figure | None:
    """Weekly NPS (points, ± z × its standard error) or CSAT (share, Wilson interval) per tier,
    each point at its week's last day; hollow markers for fewer than `min_n` answers."""
    value, n_col = ("nps", "responses") if scale == "nps" else ("csat", "csat_n")
    rows = _tier_rows(seg, value)
    if not any(rows.values()):
        return None
    fig = Draft()
    for tier, pts in rows.items():
        if not pts:
            continue
        scale_by = 1.0 if scale == "nps" else 100.0
        y = [scale_by * r[value] for r in pts]
        high = [
            scale_by * (r.get(f"{value}_high") or r[value]) - v for r, v in zip(pts, y, strict=True)
        ]
        low = [
            v - scale_by * (r.get(f"{value}_low") or r[value]) for r, v in zip(pts, y, strict=True)
        ]
        fig.add_scatter(
            x=[r["period_start"] + dt.timedelta(days=6) for r in pts],
            y=y,
            name=t.segment_name(tier),
            mode="lines+markers",
            line={"color": TIER_COLOURS.get(tier, "#4a5568"), "width": 3 if tier == ALL else 1.5},
            marker={
                "size": 8,
                "symbol": ["circle-open" if (r[n_col] or 0) < min_n else "circle" for r in pts],
            },
            error_y={"type": "data", "array": high, "arrayminus": low, "thickness": 1, "width": 3},
            customdata=[[r[n_col]] for r in pts],
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1f} ("
            + t("n")
            + "=%{customdata[0]})<extra></extra>",
        )
    if scale == "nps":
        fig.update_yaxes(range=[-100, 100], zeroline=True)
    else:
        fig.update_yaxes(range=[0, 100], ticksuffix="%")
    date_axis(fig, t)
    return _layout(fig, t("tier_nps_trend" if scale == "nps" else "tier_csat_trend"))
