"""The weekly reports of 2026-W46, rendered by `write_week_reports` (what the `weekly_reports` asset
runs) from a database the real pipeline built (tests/test_reports_fixture_db.py)."""

from __future__ import annotations

import re
import zipfile

import markupsafe
import openpyxl
import pytest

from loyalty import engine
from loyalty.reports.i18n import LABELS
from loyalty.reports.render import write_week_reports
from loyalty.vocab import KPI_NAMES
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)

SEGMENTS = ["all", "A", "B", "C", "D", "overview"]
# a resource reference (script/img/link/iframe src or href, CSS @import or url()) to the network
EXTERNAL_REF = re.compile(
    r"<(?:script|img|link|iframe|source|embed|object|video|audio)\b[^>]*?\b(?:src|href|data)\s*=\s*"
    r"[\"']?\s*(?:https?:)?//"
    r"|@import\s+(?:url\()?\s*[\"']?\s*(?:https?:)?//"
    r"|url\(\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)
DAY = fx.DAY
WEEK_START = fx.WEEK.start


def _render(folder, database, locale="en", **reports):
    settings = fx.workspace(folder, database, locale, reports=reports)
    return settings, write_week_reports(settings, fx.WEEK)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, report_db):  # noqa: F811
    settings, written = _render(tmp_path_factory.mktemp("reports_en"), report_db)
    return settings, written, settings.output_path / fx.WEEK_LABEL


def _same(cell, value) -> bool:
    """A workbook cell shows the database's value: empty for NULL, else equal (floats approx)."""
    return cell is None if value is None else cell == pytest.approx(value)


def _path(folder, seg, ext):
    return folder / f"loyalty_{fx.WEEK_LABEL}_{seg}.{ext}"


def _as_csv(text: str) -> str:
    """How a CSV writes text: formula-like text gets a leading quote (docs/reports.md)."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def _zh_path(folder, seg, ext):
    return folder / f"loyalty_{fx.WEEK_LABEL}_{seg}_zh-CN.{ext}"


def test_every_segment_and_the_overview_has_html_and_xlsx(rendered):
    _, written, folder = rendered
    for seg in SEGMENTS:
        assert _path(folder, seg, "html").stat().st_size > 0
        assert _path(folder, seg, "xlsx").stat().st_size > 0
    assert sum(len(v) for v in written.files.values()) == 12
    assert written.files["all"]["html"] == _path(folder, "all", "html")
    assert written.folder == folder
    assert not list(folder.glob("*.tmp"))


def test_html_opens_offline_with_plotly_inline_once(rendered):
    _, _, folder = rendered
    for seg in SEGMENTS:
        text = _path(folder, seg, "html").read_text(encoding="utf-8")
        assert not EXTERNAL_REF.findall(text), seg
        assert text.count("* plotly.js v") == 1, seg  # the bundle's banner: embedded exactly once
        assert not re.search(r"<script\b[^>]*\bsrc\s*=", text, re.IGNORECASE)  # all scripts inline
        assert not re.search(r"<link\b", text, re.IGNORECASE)
        assert "<style>" in text and 'class="plotly-graph-div' in text
        for chart in (
            "kpi_trend",
            "nps_trend",
            "tier_distribution",
            "tier_migration",
            "churn_reasons",
            "sla",
            "cohort",
        ):
            assert f'id="chart-{chart}"' in text, (seg, chart)


def test_html_escapes_input_text_and_shows_no_pii(rendered):
    _, _, folder = rendered
    text = _path(folder, "all", "html").read_text(encoding="utf-8")
    assert str(markupsafe.escape(fx.FORMULA_ID)) in text  # the at-risk list shows the id, escaped
    assert fx.FORMULA_ID not in text
    assert "z***@pii-example.org" in text  # masked email
    for pii in (fx.PII_NAME, fx.PII_EMAIL, fx.PII_PHONE):
        assert pii not in text
        for seg in SEGMENTS:
            assert pii.encode() not in _xlsx_text(_path(folder, seg, "xlsx"))


def test_html_board_flags_are_text_not_colour_only_and_low_samples_marked(rendered):
    _, _, folder = rendered
    text = _path(folder, "all", "html").read_text(encoding="utf-8")
    board = text[text.index('id="kpi-board"') : text.index('id="segment"')]
    assert re.search(r"(on target|off target|alert|no target)", board)
    assert board.count("n = ") == len(KPI_NAMES)  # n beside every KPI
    # fixture NPS n on DAY is below 30 or not: the mark follows the table
    with engine.connect(rendered[0], read_only=True) as conn:
        n = conn.execute(
            "select n from kpi_daily where as_of = ? and kpi = 'nps'", [DAY]
        ).fetchone()[0]
    assert ("low sample" in board) == (n < 30 or _any_low_n(rendered[0]))


def _any_low_n(settings) -> bool:
    with engine.connect(settings, read_only=True) as conn:
        return bool(
            conn.execute(
                "select count(*) from kpi_daily where as_of = ? and n < 30", [DAY]
            ).fetchone()[0]
        )


def _xlsx_text(path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return b"".join(z.read(n) for n in z.namelist() if n.endswith(".xml"))


def _table(ws, header_row: int) -> list[dict]:
    header = [c.value for c in ws[header_row]]
    out = []
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if row[0] is None:
            break
        out.append(dict(zip(header, row, strict=False)))
    return out


def test_workbook_numbers_equal_the_database(rendered):
    settings, _, folder = rendered
    wb = openpyxl.load_workbook(_path(folder, "all", "xlsx"))
    assert wb.sheetnames == [
        "Summary",
        "Customers",
        "Retention",
        "Churn warnings",
        "Model",
        "NPS",
        "Service",
        "Service impact",
        "Say-do gap",
        "Actions",
        "Restatements",
        "Data quality",
        "Thresholds",
    ]
    board = {r["KPI"]: r for r in _table(wb["Summary"], 4)}
    customers = {r["Customer"]: r for r in _table(wb["Customers"], 1)}
    retention = _table(wb["Retention"], 1)
    service = {r["Priority"]: r for r in _table(wb["Service"], 1)}
    with engine.connect(settings, read_only=True) as conn:
        kpis = conn.execute("select kpi, value, n from kpi_daily where as_of = ?", [DAY]).fetchall()
        snap = conn.execute(
            "select customer_id, monetary::double, rfm_score, tier, last_order_at::date "
            "from customer_snapshot where as_of = ?",
            [DAY],
        ).fetchall()
        kept = conn.execute(
            "select tier, kept_rate, start_count from retention_period "
            "where period_type = 'week' and period_start = ?",
            [WEEK_START],
        ).fetchall()
        sla = conn.execute(
            "select priority, sla_rate, tickets from service_period "
            "where period_type = 'week' and period_start = ?",
            [WEEK_START],
        ).fetchall()
    names = {
        "churn_rate": "Churn rate",
        "tier_a_kept_rate": "Tier-A kept rate",
        "complaint_timeliness": "Complaint resolution timeliness",
        "tier_d_activation": "Tier-D activation",
        "nps": "NPS",
        "csat": "CSAT (satisfied share)",
        "repurchase_rate": "Repurchase rate",
        "revenue_at_risk": "Revenue at risk (model)",
    }
    assert len(board) == len(kpis) == len(KPI_NAMES)
    for kpi, value, n in kpis:
        assert _same(board[names[kpi]]["Value"], value), kpi
        assert board[names[kpi]]["n"] == n
    assert len(customers) == len(snap)
    for cid, monetary, score, tier, last in snap:
        row = customers[cid]
        assert row["Value"] == pytest.approx(monetary)
        assert row["RFM score"] == pytest.approx(score)
        assert row["Tier"] == tier
        assert row["Last order"].date() == last
    this_week = {r["Tier"]: r for r in retention if r["Period start"].date() == WEEK_START}
    assert len(this_week) == len(kept) == 5
    for tier, rate, start in kept:
        assert _same(this_week[tier]["Kept rate"], rate), tier
        assert this_week[tier]["Active at start"] == start
    assert len(service) == len(sla) == 4
    for prio, rate, tickets in sla:
        assert _same(service[prio]["SLA rate"], rate), prio
        assert service[prio]["Tickets"] == tickets


def test_segment_workbook_holds_only_that_tier(rendered):
    settings, _, folder = rendered
    wb = openpyxl.load_workbook(_path(folder, "B", "xlsx"))
    rows = _table(wb["Customers"], 1)
    with engine.connect(settings, read_only=True) as conn:
        n = conn.execute(
            "select count(*) from customer_snapshot where as_of = ? and tier = 'B'", [DAY]
        ).fetchone()[0]
    assert len(rows) == n and {r["Tier"] for r in rows} == {"B"}


def test_workbook_formats_frozen_header_and_autofilter(rendered):
    _, _, folder = rendered
    wb = openpyxl.load_workbook(_path(folder, "all", "xlsx"))
    ws = wb["Customers"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
    assert ws["B2"].is_date and ws["B2"].number_format == "dd mmm yyyy"
    # money in the report currency (settings reports.currency, GBP by default)
    assert isinstance(ws["E2"].value, float) and ws["E2"].number_format.startswith('"£"#,##0.00')
    assert ws.column_dimensions["A"].width >= 15
    ret = wb["Retention"]
    assert ret.freeze_panes == "A2" and ret.auto_filter.ref
    kept = [row[8] for row in ret.iter_rows(min_row=2) if row[8].value is not None]
    assert kept and all(c.number_format == "0.0%" for c in kept)  # kept rate
    summary = wb["Summary"]
    assert summary.freeze_panes == "A5" and summary.auto_filter.ref.startswith("A4:")
    for name in wb.sheetnames:
        assert wb[name].freeze_panes, name


def test_formula_like_text_stays_text(rendered):
    _, _, folder = rendered
    path = _path(folder, "all", "xlsx")
    wb = openpyxl.load_workbook(path)
    cells = [c for row in wb["Customers"].iter_rows() for c in row if c.value == fx.FORMULA_ID]
    assert cells and all(c.data_type == "s" for c in cells)
    assert all(c.quotePrefix for c in cells)
    churn = [c for row in wb["Churn warnings"].iter_rows() for c in row if c.value == fx.FORMULA_ID]
    assert churn
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_overview_workbook_has_no_customer_rows(rendered):
    _, _, folder = rendered
    wb = openpyxl.load_workbook(_path(folder, "overview", "xlsx"))
    assert "Customers" not in wb.sheetnames and "Churn warnings" not in wb.sheetnames
    assert fx.FORMULA_ID.encode() not in _xlsx_text(_path(folder, "overview", "xlsx"))
    segs = _table(wb["Segments"], 1)
    assert [r["Segment"] for r in segs] == ["All customers", "Tier A", "Tier B", "Tier C", "Tier D"]


def test_thresholds_used_are_printed(rendered):
    _, _, folder = rendered
    text = _path(folder, "A", "html").read_text(encoding="utf-8")
    section = text[text.index('id="thresholds"') :]
    assert LABELS["en"]["th:active_days"] in section
    assert LABELS["en"]["th:churn.inactive_days"] in section


def test_zh_cn_labels_in_html_and_excel(tmp_path, report_db):  # noqa: F811
    settings, written = _render(tmp_path, report_db, "zh-CN")
    folder = written.folder
    assert not _path(folder, "all", "html").exists()  # a zh-CN run never overwrites English files
    text = _zh_path(folder, "all", "html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in text
    for label in ("客户忠诚度报告", "关键指标看板", "流失风险客户", "数据质量", "2026年11月15日"):
        assert label in text
    assert "KPI board" not in text
    wb = openpyxl.load_workbook(_zh_path(folder, "A", "xlsx"))
    assert wb.sheetnames[:3] == ["摘要", "客户", "留存"]
    assert wb["客户"]["A1"].value == "客户编号"
    assert wb["客户"]["B2"].number_format == 'yyyy"年"m"月"d"日"'


def test_both_locales_have_the_same_keys():
    assert set(LABELS["en"]) == set(LABELS["zh-CN"])
    for key, text in LABELS["en"].items():
        assert re.findall(r"{\w+}", text) == re.findall(r"{\w+}", LABELS["zh-CN"][key]), key


def test_an_empty_denominator_nan_is_an_empty_cell(tmp_path, report_db):  # noqa: F811
    settings = fx.workspace(tmp_path, report_db)
    with engine.connect(settings) as conn:
        conn.execute("update nps_period set nps = 'nan'::double, nps_moe95 = null where tier = 'A'")
    written = write_week_reports(settings, fx.WEEK)
    wb = openpyxl.load_workbook(_path(written.folder, "A", "xlsx"))
    rows = _table(wb["NPS"], 1)
    assert rows and all(r["NPS"] is None for r in rows)


def test_nan_and_inf_are_empty_cells_on_every_numeric_path(tmp_path, report_db):  # noqa: F811
    """A NaN or inf KPI value (rate KPIs get a per-row percent format), card or sheet number is an
    empty cell, never `TypeError: NAN/INF not supported in write_number()`."""
    settings = fx.workspace(tmp_path, report_db)
    with engine.connect(settings) as conn:
        conn.execute(
            "update kpi_daily set value = 'nan'::double, change_7d = 'inf'::double "
            "where as_of = ? and kpi in ('churn_rate', 'nps')",
            [DAY],
        )
        conn.execute(
            "update retention_period set kept_rate = 'nan'::double, churn_rate = '-inf'::double"
        )
        conn.execute("update service_period set sla_rate = 'nan'::double")
        repurchase = engine.scalar(
            conn, "select value from kpi_daily where as_of = ? and kpi = 'repurchase_rate'", [DAY]
        )
    assert repurchase is not None
    folder = write_week_reports(settings, fx.WEEK).folder
    for seg in ("all", "A", "overview"):
        wb = openpyxl.load_workbook(_path(folder, seg, "xlsx"))
        board = {r["KPI"]: r for r in _table(wb["Summary"], 4)}
        for name in ("Churn rate", "NPS"):
            assert (
                board[name]["Value"] is None and board[name]["Change vs 7 days earlier"] is None
            ), seg
        assert board["Repurchase rate"]["Value"] == pytest.approx(repurchase)
        retention = _table(wb["Retention"], 1)
        assert retention and all(
            r["Kept rate"] is None and r["Churn rate"] is None for r in retention
        )
        service = _table(wb["Service"], 1)
        assert service and all(r["SLA rate"] is None for r in service)


def test_cell_writes_nan_inf_of_any_numeric_type_as_empty(tmp_path):
    from decimal import Decimal

    import numpy as np

    from loyalty.reports.i18n import Translator
    from loyalty.reports.xlsx import Book

    path = tmp_path / "cells.xlsx"
    for constant_memory in (False, True):
        book = Book(str(path), Translator("en", "GBP"), constant_memory=constant_memory)
        ws = book.wb.add_worksheet("x")
        values = [
            float("nan"),
            float("inf"),
            -float("inf"),
            np.float64("nan"),
            np.float32("inf"),
            Decimal("NaN"),
            Decimal("Infinity"),
            None,
            1.5,
            Decimal("2.25"),
            np.int64(3),
        ]
        for r, v in enumerate(values):
            for c, kind in enumerate(("int", "dec", "money", "pct", "pts", "score", "text")):
                book.cell(ws, r, c, kind, v)
        book.close()
        got = [
            [c.value for c in row] for row in openpyxl.load_workbook(path)["x"].iter_rows(max_col=6)
        ]
        assert all(v is None for row in got[:8] for v in row)
        assert [row[1] for row in got[8:]] == [1.5, 2.25, 3]


def test_customer_sheets_capped_in_sql_with_note_and_full_csv(tmp_path, report_db):  # noqa: F811
    import csv

    settings, written = _render(tmp_path, report_db, workbook_customer_rows=5)
    folder = written.folder
    # per segment: customers, churn warnings and the customers behind the say-do cells
    assert sum(len(v) for v in written.csvs.values()) == 15
    with engine.connect(settings, read_only=True) as conn:
        for seg in ("all", "B"):
            where = "" if seg == "all" else f" and tier = '{seg}'"
            top5 = [
                r[0]
                for r in conn.execute(
                    "select customer_id from customer_snapshot where as_of = ?"
                    + where
                    + " order by monetary desc, customer_id limit 5",
                    [DAY],
                ).fetchall()
            ]
            total = conn.execute(
                "select count(*) from customer_snapshot where as_of = ?" + where, [DAY]
            ).fetchone()[0]
            ids = {
                r[0]
                for r in conn.execute(
                    "select customer_id from customer_snapshot where as_of = ?" + where, [DAY]
                ).fetchall()
            }
            at_risk = conn.execute(
                "select count(*) from customer_snapshot where as_of = ? and churn_risk" + where,
                [DAY],
            ).fetchone()[0]
            assert total > 5 and at_risk > 5, seg

            wb = openpyxl.load_workbook(_path(folder, seg, "xlsx"))
            ws = wb["Customers"]
            rows = _table(ws, 1)
            assert [r["Customer"] for r in rows] == top5  # exactly 5, the top 5 by value, in order
            assert ws.max_row == 6 and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:M6"
            csv_name = f"loyalty_{fx.WEEK_LABEL}_{seg}_customers.csv"
            note = (
                f"Showing the top 5 of {total} customers by value; the full list is in {csv_name}"
            )
            header = [c.value for c in ws[1]]
            assert note in header
            summary = [c.value for row in wb["Summary"].iter_rows() for c in row if c.value]
            assert note in summary
            churn = _table(wb["Churn warnings"], 1)
            assert len(churn) == 5
            assert f"Showing the top 5 of {at_risk} at-risk customers by value" in " ".join(
                str(v) for v in [c.value for c in wb["Churn warnings"][1]] if v
            )

            with open(folder / csv_name, newline="", encoding="utf-8") as f:
                lines = list(csv.DictReader(f))
            # formula-like text is written with a leading quote in the CSVs (docs/reports.md)
            assert len(lines) == total and {r["customer_id"] for r in lines} == {
                _as_csv(i) for i in ids
            }
            assert list(lines[0]) == [
                "customer_id",
                "last_order",
                "recency_days",
                "frequency",
                "monetary",
                "r",
                "f",
                "m",
                "rfm_score",
                "tier",
                "segment",
                "lifecycle_stage",
                "tags",
            ]
            assert [r["customer_id"] for r in lines[:5]] == [_as_csv(i) for i in top5]
            raw = (folder / csv_name).read_text(encoding="utf-8")
            churn_csv = (folder / f"loyalty_{fx.WEEK_LABEL}_{seg}_churn_warnings.csv").read_text(
                encoding="utf-8"
            )
            assert len(list(csv.DictReader(churn_csv.splitlines()))) == at_risk
            for pii in (fx.PII_NAME, fx.PII_EMAIL, fx.PII_PHONE):
                assert pii not in raw and pii not in churn_csv
            if seg == "all":
                assert "z***@pii-example.org" in churn_csv
        top_at_risk = [
            r[0]
            for r in conn.execute(
                "select customer_id from customer_snapshot where as_of = ? and churn_risk "
                "order by monetary desc, customer_id limit 50",
                [DAY],
            ).fetchall()
        ]
    # the HTML at-risk list is its own top N (50), not cut to the sheet's 5 rows
    assert len(top_at_risk) > 5
    html_text = _path(folder, "all", "html").read_text(encoding="utf-8")
    for cid in top_at_risk:
        assert str(markupsafe.escape(cid)) in html_text
