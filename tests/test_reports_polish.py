"""Issue 13's report fixes, each on the pipeline-built database (tests/test_reports_fixture_db.py):
windows and anchors of the KPI trend, neutral arrows on changes that round to zero, the cohort caption,
quarantined shares that never read 0.0 % with rows quarantined, open tickets, panels without data,
the few-orders warning, and the workbooks' page setup, signed changes, currency and status colours."""

from __future__ import annotations

import datetime as dt
import json
import re

import markupsafe
import openpyxl
import pytest

from loyalty import engine
from loyalty.reports.i18n import LABELS
from loyalty.reports.notes import LOW_ORDERS_SHARE
from loyalty.reports.render import write_week_reports
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

EN = LABELS["en"]


def _path(folder, seg, ext):
    return folder / f"loyalty_{fx.WEEK_LABEL}_{seg}.{ext}"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path_factory.mktemp("polish"), report_db)
    written = write_week_reports(settings, fx.WEEK)
    return settings, written.folder


def _figures(text: str) -> dict[str, tuple[list, dict]]:
    """{chart id: (traces, layout)} of every Plotly chart of a page."""
    decoder = json.JSONDecoder()
    out = {}
    for m in re.finditer(r'<div class="chart" id="chart-([\w_]+)">', text):
        call = text.find("Plotly.newPlot(", m.end())
        nxt = text.find('<div class="chart"', m.end())
        if call < 0 or (0 <= nxt < call):
            continue
        start = text.index(",", call) + 1
        data, end = decoder.raw_decode(text, text.index("[", start))
        layout, _ = decoder.raw_decode(text, text.index("{", end))
        out[m.group(1)] = (data, layout)
    return out


def _chart_block(text: str, chart: str) -> str:
    start = text.index(f'id="chart-{chart}"')
    end = text.find('<div class="chart"', start + 1)
    return text[start : end if end > 0 else len(text)]


def test_kpi_lines_and_weekly_tier_lines_share_the_week_end_and_name_their_window(rendered):
    settings, folder = rendered
    traces, _ = _figures(_path(folder, "A", "html").read_text(encoding="utf-8"))["kpi_trend"]
    window = EN["kpi_window"].format(days=settings.metrics.kpi_window_days)
    kpi = [t for t in traces if window in t["name"]]
    weekly = [t for t in traces if f"({EN['weekly']})" in t["name"]]
    assert kpi and len(weekly) == 2
    assert any(EN["kpi_tier_a_kept_rate"] in t["name"] for t in kpi)
    weeks = [fx.WEEK.back(i) for i in range(settings.reports.trend_weeks)]
    week_ends = {w.end.isoformat() for w in weeks}
    for t in kpi + weekly:
        assert {x[:10] for x in t["x"]} <= week_ends, t["name"]
    # the weekly kept rate of tier A equals retention_period's, at the week's end
    with engine.connect(settings, read_only=True) as conn:
        stored = dict(
            conn.execute(
                """select period_start, kept_rate from retention_period
                   where period_type = 'week' and tier = 'A' and kept_rate is not null
                     and period_start >= ?""",
                [weeks[-1].start],
            ).fetchall()
        )
    (kept,) = [t for t in weekly if t["name"].startswith(EN["kept_rate"])]
    got = {
        dt.date.fromisoformat(x[:10]) - dt.timedelta(days=6): y
        for x, y in zip(kept["x"], kept["y"], strict=True)
    }
    assert got == pytest.approx(stored)


def test_a_change_that_rounds_to_zero_is_neutral(tmp_path, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db)
    with engine.connect(settings) as conn:
        conn.execute(
            "update kpi_daily set change_7d = 0.00004 where as_of = ? and kpi = 'churn_rate'",
            [fx.DAY],
        )
        change = conn.execute(
            "select change_7d from kpi_daily where as_of = ? and kpi = 'churn_rate'", [fx.DAY]
        ).fetchone()[0]
    assert round(100 * change, 1) == 0
    written = write_week_reports(settings, fx.WEEK)
    text = _path(written.folder, "all", "html").read_text(encoding="utf-8")
    board = text[text.index('id="kpi-board"') : text.index('id="segment"')]
    card = board[board.index(EN["kpi_churn_rate"]) :]
    card = card[: card.index('<div class="card')] if '<div class="card' in card else card
    assert '<span class="tone-neutral">→ ±0.0 pp</span>' in card
    assert "+0.0 pp" not in board
    wb = openpyxl.load_workbook(_path(written.folder, "all", "xlsx"))
    ws = wb[EN["sheet_summary"]]
    row = next(r for r in ws.iter_rows(min_row=5) if r[0].value == EN["kpi_churn_rate"])
    assert row[4].value == 0


def test_cohort_caption_names_the_star_it_uses(rendered):
    settings, folder = rendered
    text = _path(folder, "all", "html").read_text(encoding="utf-8")
    block = _chart_block(text, "cohort")
    assert "*" in EN["cohort_note"] and not [k for k, v in EN.items() if "hatch" in v]
    assert f'<p class="note">{markupsafe.escape(EN["cohort_note"])}</p>' in block
    with engine.connect(settings, read_only=True) as conn:
        incomplete = engine.scalar(
            conn,
            "select count(*) from cohort_retention where row_type <> 'average' and not is_complete and share is not null",
        )
    traces, _ = _figures(text)["cohort"]
    starred = sum(cell.endswith("*") for row in traces[0]["text"] for cell in row)
    assert starred == incomplete


def test_quarantined_share_is_never_zero_with_rows_quarantined(tmp_path, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db)
    with engine.connect(settings) as conn:
        # a tiny share: a few rows among many
        conn.execute(
            """update ingest_log set rows_read = rows_read + 100000
               where source = 'orders' and status = 'loaded'"""
        )
        read, quarantined = conn.execute(
            """select sum(rows_read), sum(rows_quarantined) from ingest_log
               where source = 'orders'"""
        ).fetchone()
    assert quarantined > 0 and round(100 * quarantined / read, 1) == 0
    written = write_week_reports(settings, fx.WEEK)
    text = _path(written.folder, "all", "html").read_text(encoding="utf-8")
    section = text[text.index('id="data-quality"') :]
    row = re.search(r"<tr>\s*<td>orders</td>(.*?)</tr>", section, re.S).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[3] == f"{quarantined:,}"
    share = cells[4]
    assert share not in ("0.0%", "–") and float(share.rstrip("%")) == pytest.approx(
        100 * quarantined / read, rel=0.2
    )
    wb = openpyxl.load_workbook(_path(written.folder, "all", "xlsx"))
    ws = wb[EN["sheet_quality"]]
    cell = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "orders")[5]
    assert cell.value == pytest.approx(quarantined / read) and cell.number_format == "0.000%"


def test_service_table_shows_open_tickets(rendered):
    settings, folder = rendered
    with engine.connect(settings, read_only=True) as conn:
        rows = conn.execute(
            """select priority, tickets - met - breached from service_period
               where period_type = 'week' and period_start = ?""",
            [fx.WEEK.start],
        ).fetchall()
    text = _path(folder, "all", "html").read_text(encoding="utf-8")
    section = text[text.index('id="service"') : text.index('id="data-quality"')]
    assert f">{EN['open_tickets']}</th>" in section
    labels = {p: EN.get(f"priority_{p}", p) for p, _ in rows}
    for priority, open_n in rows:
        row = re.search(rf"<td>{labels[priority]}</td>(.*?)</tr>", section, re.S).group(1)
        cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)
        assert cells[3] == f"{open_n:,}", priority
    wb = openpyxl.load_workbook(_path(folder, "all", "xlsx"))
    ws = wb[EN["sheet_service"]]
    header = [c.value for c in ws[1]]
    col = header.index(EN["open_tickets"])
    got = {r[0]: r[col] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert got == {labels[p]: n for p, n in rows}


def test_panels_without_data_say_so_and_a_week_without_orders_is_flagged(
    tmp_path,
    report_db,  # noqa: F811
):
    settings = fx.workspace(tmp_path, report_db)
    with engine.connect(settings) as conn:
        conn.execute(
            "delete from service_period where period_type = 'week' and period_start = ?",
            [fx.WEEK.start],
        )
        conn.execute("delete from nps_period where period_type = 'week'")
        # keep one order of the report week
        conn.execute(
            """delete from orders where ordered_at::date between ? and ?
               and order_id <> (select min(order_id) from orders
                                where ordered_at::date between ? and ? and lower(status) = 'completed')""",
            [fx.WEEK.start, fx.WEEK.end] * 2,
        )
        weekly = [
            engine.scalar(
                conn,
                """select count(*) from orders where lower(status) = 'completed'
                   and ordered_at::date between ? and ?""",
                [fx.WEEK.back(i).start, fx.WEEK.back(i).end],
            )
            for i in range(9)
        ]
    average = sum(weekly[1:]) / 8
    assert weekly[0] == 1 and weekly[0] < LOW_ORDERS_SHARE * average
    written = write_week_reports(settings, fx.WEEK)
    text = _path(written.folder, "all", "html").read_text(encoding="utf-8")
    for chart in ("sla", "nps_trend"):
        block = _chart_block(text, chart)
        assert EN["no_chart_data"] in block and "plotly-graph-div" not in block, chart
    warning = EN["low_orders_warning"].format(orders=1, average=f"{average:,.0f}", weeks=8)
    assert str(markupsafe.escape(warning)) in text


def test_no_warning_for_an_ordinary_week(rendered):
    settings, folder = rendered
    with engine.connect(settings, read_only=True) as conn:
        weekly = [
            engine.scalar(
                conn,
                """select count(*) from orders where lower(status) = 'completed'
                   and ordered_at::date between ? and ?""",
                [fx.WEEK.back(i).start, fx.WEEK.back(i).end],
            )
            for i in range(9)
        ]
    expected = weekly[0] < LOW_ORDERS_SHARE * sum(weekly[1:]) / 8
    text = _path(folder, "all", "html").read_text(encoding="utf-8")
    assert ('id="order-warning"' in text) == expected


def test_workbooks_print_landscape_one_page_wide_with_signed_changes_and_currency(rendered):
    settings, folder = rendered
    wb = openpyxl.load_workbook(_path(folder, "overview", "xlsx"))
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.page_setup.fitToWidth in (1, None) and ws.page_setup.fitToHeight == 0, ws.title
    assert wb[EN["sheet_segments"]].print_title_rows.replace("$", "") == "1:1"
    ws = wb[EN["sheet_summary"]]
    with engine.connect(settings, read_only=True) as conn:
        kpis = {
            r[0]: r[1:]
            for r in conn.execute(
                "select kpi, value, change_7d from kpi_daily where as_of = ?", [fx.DAY]
            ).fetchall()
        }
    rows = {r[0].value: r for r in ws.iter_rows(min_row=5) if r[0].value}
    churn = rows[EN["kpi_churn_rate"]]
    value, change = kpis["churn_rate"]
    if change is not None:
        expected = 0 if round(100 * change, 1) == 0 else 100 * change
        assert churn[4].value == pytest.approx(expected)
        assert churn[4].number_format.startswith('+0.0" pp"')
    nps = rows[EN["kpi_nps"]]
    assert nps[4].number_format.startswith("+0.0")
    segments = wb[EN["sheet_segments"]]
    header = [c.value for c in segments[1]]
    money = segments.cell(row=2, column=header.index(EN["monetary_total"]) + 1)
    assert "£" in money.number_format
    # the status column is coloured by its text
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    formulas = {f.strip('"') for r in rules for f in r.formula}
    assert {EN["flag_alert"], EN["flag_on_target"], EN["flag_off_target"]} <= formulas


def test_thresholds_are_rows_not_json(rendered):
    settings, folder = rendered
    with engine.connect(settings, read_only=True) as conn:
        stored = json.loads(
            engine.scalar(
                conn,
                """select params_json from snapshot_params
                   where as_of = (select max(as_of) from snapshot_params where as_of <= ?)""",
                [fx.DAY],
            )
        )
    wb = openpyxl.load_workbook(_path(folder, "A", "xlsx"))
    rows = dict(wb[EN["sheet_thresholds"]].iter_rows(min_row=2, values_only=True))
    assert not [v for v in rows.values() if str(v).startswith(("{", "["))]
    assert rows[EN["th:churn.inactive_days"]] == str(stored["churn"]["inactive_days"])
    assert rows[EN["th:tiers.A"]] == f"{stored['tiers']['A']:,.0f}"
    for rule in stored["segment_map"]:
        assert f"{EN['th:segment_map']}: {EN['rfmseg:' + rule['segment']]}" in rows
    text = _path(folder, "A", "html").read_text(encoding="utf-8")
    section = text[text.index('id="thresholds"') :]
    assert EN["th:churn.inactive_days"] in section and '{"' not in section
