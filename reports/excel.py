"""The report's Excel workbooks: one per segment plus an overview, written with reports/xlsx.py.

Segment workbooks are written in `constant_memory` mode, so every sheet is written strictly top to
bottom, left to right. The customer sheets hold at most `reports.workbook_customer_rows` rows (the top
by value, chosen in SQL); the note in the header row and on the summary sheet names the CSV that holds
every customer (reports/export.py).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xlsxwriter.worksheet import Worksheet

from loyalty.reports import intervals as iv
from loyalty.reports import sheets
from loyalty.reports.actions_sheets import actions_sheet, actions_summary_sheet, restatements_sheet
from loyalty.reports.export import csv_name
from loyalty.reports.i18n import Translator
from loyalty.reports.insight_sheets import say_do_sheet, service_impact_sheet
from loyalty.reports.model import SegmentData, WeekData
from loyalty.reports.model_sheet import model_sheet
from loyalty.reports.viewmodel import FLAG_COLOURS, flag_key, shown_change
from loyalty.reports.xlsx import Book
from loyalty.vocab import ALL


def _title(book: Book, ws: Worksheet, data: WeekData, segment: str) -> int:
    t = book.t
    w = data.week
    ws.write_string(0, 0, f"{t('report_title')} — {t.segment_name(segment)}", book.fmt["title"])
    ws.write_string(
        1, 0, f"{t('week')} {w.label}: {t.date(w.start)} – {t.date(w.end)}", book.fmt["subtle"]
    )
    return 3


def _kpi_rows(data: WeekData, t: Translator) -> tuple[list, list]:
    columns = [
        (t("kpi"), "text"),
        (t("value"), "dec"),
        (t("target"), "dec"),
        (t("direction"), "text"),
        (t("change_7d"), "dec"),
        (t("flag"), "text"),
        (t("n"), "int"),
        (t("low_sample"), "text"),
        (t("owner"), "text"),
        (t("interval_low"), "dec"),
        (t("interval_high"), "dec"),
        (t("change_significant"), "text"),
    ]
    rows = []
    for k in data.kpis:
        fk = flag_key(k["flag"])
        change = shown_change(k)  # 0.0 when it rounds to zero where shown
        if change is not None and k["is_rate"]:
            change = 100 * change  # a rate's change in percentage points
        rows.append(
            [
                t.label_or(f"kpi_{k['kpi']}", k["kpi"]),
                k["value"],
                k["target"],
                t("lower_better" if k["direction"] == "lower" else "higher_better"),
                change,
                t(f"flag_{fk}") if fk != "unknown" else str(k["flag"]),
                k["n"],
                t("low_sample") if k["low_sample"] else "",
                t.value("owner", k["owner"]) if k["owner"] else "",
                k.get("value_low"),
                k.get("value_high"),
                t(iv.change_significance(k)) if iv.change_significance(k) else "",
            ]
        )
    return columns, rows


def _write_kpis(book: Book, ws: Worksheet, data: WeekData, top: int) -> int:
    columns, rows = _kpi_rows(data, book.t)
    # rate KPIs in % with their change in signed percentage points, NPS in points with a signed
    # change, money in the currency: a per-row kind, so each cell is written once (NaN stays empty)
    pct = {1: "pct", 2: "pct", 4: "pp", 9: "pct", 10: "pct"}
    money = {1: "money", 2: "money", 4: "money"}
    kinds: dict[int, dict[int, str]] = {i: {4: "signed"} for i in range(len(data.kpis))}
    kinds.update({i: pct for i, k in enumerate(data.kpis) if k["is_rate"]})
    kinds.update({i: money for i, k in enumerate(data.kpis) if k.get("is_money")})
    nxt = book.table(
        ws, top, columns, rows, widths={0: 30, 3: 16, 4: 14, 5: 12, 8: 16}, row_kinds=kinds
    )
    t = book.t
    book.colour_status(
        ws,
        top + 1,
        top + len(rows),
        5,
        {t(f"flag_{key}"): colour for key, colour in FLAG_COLOURS.items()},
    )
    return nxt


def _write_cards(book: Book, ws: Worksheet, seg: SegmentData, top: int) -> int:
    t = book.t
    c = seg.cards
    ws.write_string(top, 0, t("segment_cards"), book.fmt["section"])
    items = [
        ("customers", c["customers"], "int"),
        ("active_customers", c["active_customers"], "int"),
        ("at_risk_customers", c["at_risk_customers"], "int"),
        ("monetary_total", c["monetary_total"], "money"),
        ("avg_score", c["avg_score"], "score"),
        ("week_kept_rate", c["week_kept_rate"], "pct"),
        ("week_retention_rate", c["week_retention_rate"], "pct"),
        ("week_repurchase_rate", c["week_repurchase_rate"], "pct"),
        ("week_nps", c["week_nps"], "pts"),
        ("value_at_risk", c["value_at_risk"], "money"),
        ("clv", c["clv"], "money"),
    ]
    for i, (key, value, kind) in enumerate(items, start=top + 1):
        book.text(ws, i, 0, t(key))
        book.cell(ws, i, 1, kind, value)
    return top + len(items) + 2


def _write_full_lists(book: Book, ws: Worksheet, data: WeekData, seg: SegmentData, top: int) -> int:
    """Summary lines: how many customers the sheets show and which CSV holds them all."""
    t = book.t
    ws.write_string(top, 0, t("full_lists"), book.fmt["section"])
    lines = [
        sheets.cap_note(
            t,
            len(seg.customers),
            seg.customers_total,
            csv_name(data.week.label, seg.segment, "customers"),
            "customers_note",
        ),
        sheets.cap_note(
            t,
            len(seg.churn_warnings),
            seg.churn_warnings_total,
            csv_name(data.week.label, seg.segment, "churn_warnings"),
            "churn_note",
        ),
    ]
    for i, line in enumerate(lines, start=top + 1):
        ws.write_string(i, 0, line, book.fmt["note"])
    return top + len(lines) + 2


def write_segment_workbook(
    target: str | Path | io.BytesIO, data: WeekData, segment: str, t: Translator
) -> None:
    seg = data.segments[segment]
    book = Book(target, t, constant_memory=True)
    try:
        ws = book.sheet("sheet_summary")
        nxt = _write_kpis(book, ws, data, _title(book, ws, data, segment))
        nxt = _write_cards(book, ws, seg, nxt)
        _write_full_lists(book, ws, data, seg, nxt)
        sheets.customers_sheet(book, data, seg)
        sheets.retention_sheet(book, seg)
        sheets.churn_sheet(book, data, seg)
        model_sheet(book, data)
        sheets.nps_sheet(book, seg)
        sheets.service_sheet(book, data)
        service_impact_sheet(book, data)
        say_do_sheet(book, data, segment)
        actions_sheet(book, data, segment)
        restatements_sheet(book, data)
        sheets.quality_sheet(book, data)
        sheets.thresholds_sheet(book, data)
    finally:
        book.close()


def write_overview_workbook(target: str | Path | io.BytesIO, data: WeekData, t: Translator) -> None:
    """The overview: aggregates only, no customer rows (it is the email attachment)."""
    book = Book(target, t)
    try:
        ws = book.sheet("sheet_summary")
        nxt = _write_kpis(book, ws, data, _title(book, ws, data, "overview"))
        if ALL in data.segments:
            _write_cards(book, ws, data.segments[ALL], nxt)
        ws = book.sheet("sheet_segments")
        columns = [
            (t("segment"), "text"),
            (t("customers"), "int"),
            (t("active_customers"), "int"),
            (t("at_risk_customers"), "int"),
            (t("monetary_total"), "money"),
            (t("avg_score"), "score"),
            (t("week_kept_rate"), "pct"),
            (t("n"), "int"),
            (t("week_retention_rate"), "pct"),
            (t("week_repurchase_rate"), "pct"),
            (t("n"), "int"),
            (t("week_nps"), "pts"),
            (t("nps_moe95"), "pts"),
            (t("n"), "int"),
            (t("value_at_risk"), "money"),
            (t("clv"), "money"),
        ]
        rows = []
        for name, seg in data.segments.items():
            c = seg.cards
            rows.append(
                [
                    t.segment_name(name),
                    c["customers"],
                    c["active_customers"],
                    c["at_risk_customers"],
                    c["monetary_total"],
                    c["avg_score"],
                    c["week_kept_rate"],
                    c["week_kept_n"],
                    c["week_retention_rate"],
                    c["week_repurchase_rate"],
                    c["week_repurchase_n"],
                    c["week_nps"],
                    c["week_nps_moe95"],
                    c["week_nps_n"],
                    c["value_at_risk"],
                    c["clv"],
                ]
            )
        book.table(ws, 0, columns, rows, widths={0: 18})
        model_sheet(book, data)
        if ALL in data.segments:
            sheets.retention_sheet(book, data.segments[ALL])
            sheets.nps_sheet(book, data.segments[ALL])
        sheets.service_sheet(book, data)
        service_impact_sheet(book, data)
        say_do_sheet(book, data, ALL, customers=False)
        actions_summary_sheet(book, data)
        restatements_sheet(book, data)
        sheets.quality_sheet(book, data)
        sheets.thresholds_sheet(book, data)
    finally:
        book.close()


def overview_workbook_bytes(data: WeekData, t: Translator) -> bytes:
    buf = io.BytesIO()
    write_overview_workbook(buf, data, t)
    return buf.getvalue()


def write_book_file(path: Path, writer: Callable[..., None], *args: Any) -> None:
    """`writer(<temporary name>, *args)`, then the file renamed to `path`: a reader never opens
    a half-written workbook."""
    tmp = path.with_name(path.name + ".tmp")
    writer(str(tmp), *args)
    os.replace(tmp, path)


def write_segment_book(path: Path, data: WeekData, segment: str, t: Translator) -> None:
    write_book_file(path, write_segment_workbook, data, segment, t)


def book_claims(payload: Path) -> Path:
    """The folder of the claims of the books of a week's payload (loyalty.reports.render)."""
    return payload.parent / "claims"


def claim(claims: Path, job: int) -> bool:
    """Take book `job` for this process: True for exactly one of the processes that ask (the
    claim file is created exclusively)."""
    try:
        os.close(os.open(claims / str(job), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def book_failure(path: Path, segment: str, e: Exception) -> str:
    """What failed writing a workbook: its file, its segment and the kind of error, never a row."""
    cause = e.__cause__ or e.__context__ if not isinstance(e, OSError) else e
    detail = f" ({cause.strerror}: {cause.filename})" if isinstance(cause, OSError) else ""
    return f"workbook {Path(path).name} ({segment}): {type(e).__name__}{detail}"
