"""`reports.charts.Draft` gathers a figure's traces and layout and makes the `go.Figure` once: the
figure must be the one drawing on a `go.Figure` call by call gives (nested updates merged, not
replaced; a later scalar replacing an earlier one; the horizontal line plotly's add_hline draws)."""

from __future__ import annotations

import json

import plotly.graph_objects as go

from loyalty.reports.charts import Draft


def _draw(fig) -> None:
    fig.add_scatter(x=[1, 2, 3], y=[0.1, 0.5, 0.2], name="a", line={"color": "#123456", "width": 2})
    fig.add_bar(x=[1, 2, 3], y=[3, 1, 2], marker_color="#c05621", name="b")
    fig.add_hline(y=0, line={"color": "#52606d", "width": 1})
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title="day", type="category")
    fig.update_yaxes(dtick=1, title={"text": "share"})
    fig.update_layout(
        title={"text": "T", "x": 0.01, "font": {"size": 15}},
        margin={"l": 56, "r": 20, "t": 48, "b": 44},
        height=340,
        barmode="group",
    )
    fig.update_layout(margin={"t": 96}, title={"y": 0.97}, height=300)


def test_a_draft_makes_the_figure_that_drawing_on_a_go_figure_makes():
    drawn = go.Figure()
    _draw(drawn)
    draft = Draft()
    _draw(draft)
    made = draft.figure()
    assert json.loads(made.to_json()) == json.loads(drawn.to_json())
    # the merges themselves, not only their agreement with plotly
    layout = made.layout
    assert (layout.margin.l, layout.margin.t, layout.height) == (56, 96, 300)
    assert (layout.title.text, layout.title.x, layout.title.y) == ("T", 0.01, 0.97)
    assert (layout.yaxis.tickformat, layout.yaxis.dtick, layout.yaxis.title.text) == (
        ".0%",
        1,
        "share",
    )


def test_a_draft_started_from_a_trace_keeps_it_first():
    bar = go.Bar(x=["A", "B"], y=[1, 2])
    draft = Draft(bar)
    draft.add_scatter(x=["A", "B"], y=[2, 1])
    drawn = go.Figure(go.Bar(x=["A", "B"], y=[1, 2]))
    drawn.add_scatter(x=["A", "B"], y=[2, 1])
    assert json.loads(draft.figure().to_json()) == json.loads(drawn.to_json())
