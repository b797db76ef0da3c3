"""Excel workbooks (xlsxwriter): one per segment plus an overview.

Cells are typed (numbers as numbers, dates as dates) with number/percent/date formats per locale; every
table has a frozen header and an autofilter. Text is always written with `write_string` and the
workbook is opened with `strings_to_formulas` off, so a value such as `=HYPERLINK(...)` from an export
stays text; text starting with = + - @ additionally gets Excel's quote prefix (shown as typed, never
re-evaluated when edited).

Segment workbooks are written in xlsxwriter's `constant_memory` mode: each row is flushed to disk once
the next row starts, so memory does not grow with a sheet's length. Every sheet is therefore written
strictly top to bottom, left to right (a cell written to an earlier row would be lost). The customer
sheets hold at most `reports.workbook_customer_rows` rows (the top by value, chosen in SQL); the note in
the header row and on the summary sheet names the CSV that holds every customer (reports/export.py).

A missing, NaN or infinite number (an empty denominator in a mart) is an empty cell on every path.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from loyalty.reports.export import csv_name
from loyalty.reports.i18n import Translator
from loyalty.reports.queries import EXCEL_MAX_ROWS, SegmentData, WeekData
from xlsxwriter.worksheet import Worksheet

RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# column kinds -> format name and default width
KINDS = {
    "text": (None, 16),
    "int": ("integer", 11),
    "dec": ("decimal", 13),
    "money": ("decimal", 14),
    "pct": ("percent", 11),
    "pts": ("score", 10),
    "score": ("score", 10),
    "date": ("date", 13),
    "datetime": ("datetime", 18),
}


def finite(value: Any) -> float | None:
    """The value as a float, or None for None, NaN and ±inf (any numeric type, Decimal included)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class _Book:
    def __init__(self, target: str | Path | io.BytesIO, t: Translator, constant_memory: bool = False):
        self.t = t
        self.widths: dict[str, dict[int, float]] = {}
        self.wb = xlsxwriter.Workbook(
            target,
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "remove_timezone": True,
                # rows flushed to a temporary file as soon as the next row starts (rows in order)
                "constant_memory": constant_memory,
            },
        )
        base = {"font_name": "Calibri", "font_size": 11}
        self.fmt = {
            name: self.wb.add_format({**base, "num_format": t.excel[name]}) for name in t.excel
        }
        self.fmt["text"] = self.wb.add_format(base)
        self.fmt["quoted"] = self.wb.add_format({**base, "quote_prefix": True})
        self.fmt["header"] = self.wb.add_format(
            {**base, "bold": True, "bg_color": "#1A365D", "font_color": "#FFFFFF", "text_wrap": True,
             "valign": "top", "border": 1}
        )
        self.fmt["title"] = self.wb.add_format({**base, "bold": True, "font_size": 14})
        self.fmt["subtle"] = self.wb.add_format({**base, "font_color": "#52606D"})
        self.fmt["section"] = self.wb.add_format({**base, "bold": True, "font_size": 12})
        self.fmt["note"] = self.wb.add_format({**base, "bold": True, "font_color": "#975A16"})

    def text(self, ws: Worksheet, row: int, col: int, value: Any) -> None:
        s = "" if value is None else str(value)
        fmt = self.fmt["quoted"] if s.startswith(RISKY_PREFIXES) else self.fmt["text"]
        ws.write_string(row, col, s, fmt)

    def cell(self, ws: Worksheet, row: int, col: int, kind: str, value: Any) -> None:
        if value is None or (isinstance(value, float | Decimal) and finite(value) is None):
            # an empty denominator (NULL or NaN from the mart) is an empty cell, not an error
            ws.write_blank(row, col, None)
            return
        if kind == "text":
            self.text(ws, row, col, value)
        elif kind in ("date", "datetime"):
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.replace(tzinfo=None)
            ws.write_datetime(row, col, value, self.fmt[KINDS[kind][0]])
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value)
        else:
            number = finite(value)
            if number is None:  # NaN / inf of any numeric type (numpy, Decimal): empty, never an error
                ws.write_blank(row, col, None)
            else:
                ws.write_number(row, col, number, self.fmt[KINDS[kind][0]])

    def table(
        self,
        ws: Worksheet,
        top: int,
        columns: Sequence[tuple[str, str]],
        rows: Sequence[Sequence[Any]],
        filter_and_freeze: bool = True,
        widths: dict[int, float] | None = None,
        row_kinds: Mapping[int, Mapping[int, str]] | None = None,
        header_note: str | None = None,
    ) -> int:
        """Header at row `top`, typed rows below; returns the next free row.

        row_kinds[i][c] overrides column c's kind in data row i (cells are written once, in order:
        constant_memory). header_note is written in the header row, one column right of the table."""
        t = self.t
        for c, (label, kind) in enumerate(columns):
            ws.write_string(top, c, label, self.fmt["header"])
            width = max(KINDS[kind][1], min(40, len(label) * (2 if t.locale == "zh-CN" else 1) + 2))
            if widths and c in widths:
                width = widths[c]
            seen = self.widths.setdefault(ws.name, {})
            seen[c] = max(width, seen.get(c, 0))
            ws.set_column(c, c, seen[c])
        if header_note:
            ws.write_string(top, len(columns) + 1, header_note, self.fmt["note"])
        rows = rows[:EXCEL_MAX_ROWS - top]
        for n, row in enumerate(rows):
            over = row_kinds.get(n, {}) if row_kinds else {}
            for c, ((_, kind), value) in enumerate(zip(columns, row, strict=True)):
                self.cell(ws, top + 1 + n, c, over.get(c, kind), value)
        last = top + len(rows)
        if filter_and_freeze:
            ws.freeze_panes(top + 1, 0)
            ws.autofilter(top, 0, max(last, top), len(columns) - 1)
        return last + 2

    def sheet(self, key: str) -> Worksheet:
        return self.wb.add_worksheet(self.t(key)[:31])

    def close(self) -> None:
        self.wb.close()


def _title(book: _Book, ws: Worksheet, data: WeekData, segment: str) -> int:
    t = book.t
    w = data.week
    ws.write_string(0, 0, f"{t('report_title')} — {t.segment_name(segment)}", book.fmt["title"])
    ws.write_string(1, 0, f"{t('week')} {w.label}: {t.date(w.start)} – {t.date(w.end)}", book.fmt["subtle"])
    return 3


def _kpi_rows(data: WeekData, t: Translator) -> tuple[list, list]:
    from loyalty.reports.viewmodel import flag_key

    columns = [
        (t("kpi"), "text"), (t("value"), "dec"), (t("target"), "dec"), (t("direction"), "text"),
        (t("change_7d"), "dec"), (t("flag"), "text"), (t("n"), "int"), (t("low_sample"), "text"),
        (t("owner"), "text"),
    ]
    rows = []
    for k in data.kpis:
        fk = flag_key(k["flag"])
        rows.append(
            [
                t.label_or(f"kpi_{k['kpi']}", k["kpi"]),
                k["value"],
                k["target"],
                t("lower_better" if k["direction"] == "lower" else "higher_better"),
                k["change_7d"],
                t(f"flag_{fk}") if fk != "unknown" else str(k["flag"]),
                k["n"],
                t("low_sample") if k["low_sample"] else "",
                k["owner"],
            ]
        )
    return columns, rows


def _write_kpis(book: _Book, ws: Worksheet, data: WeekData, top: int) -> int:
    columns, rows = _kpi_rows(data, book.t)
    # rate KPIs in %, NPS in points: a per-row kind, so each cell is written once (and NaN stays empty)
    pct = {1: "pct", 2: "pct", 4: "pct"}
    kinds = {i: pct for i, k in enumerate(data.kpis) if k["is_rate"]}
    return book.table(ws, top, columns, rows, widths={0: 30, 3: 16, 5: 12, 8: 16}, row_kinds=kinds)


def _write_cards(book: _Book, ws: Worksheet, seg: SegmentData, top: int) -> int:
    t = book.t
    c = seg.cards
    ws.write_string(top, 0, t("segment_cards"), book.fmt["section"])
    items = [
        ("customers", c["customers"], "int"), ("active_customers", c["active_customers"], "int"),
        ("at_risk_customers", c["at_risk_customers"], "int"),
        ("monetary_total", c["monetary_total"], "money"), ("avg_score", c["avg_score"], "score"),
        ("week_kept_rate", c["week_kept_rate"], "pct"),
        ("week_retention_rate", c["week_retention_rate"], "pct"),
        ("week_repurchase_rate", c["week_repurchase_rate"], "pct"), ("week_nps", c["week_nps"], "pts"),
    ]
    for i, (key, value, kind) in enumerate(items, start=top + 1):
        book.text(ws, i, 0, t(key))
        book.cell(ws, i, 1, kind, value)
    return top + len(items) + 2


def _retention_sheet(book: _Book, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_retention")
    rep = {(r["period_start"], r["tier"]): r for r in seg.repurchase}
    columns = [
        (t("period_type"), "text"), (t("period_start"), "date"), (t("tier"), "text"),
        (t("start_count"), "int"), (t("end_count"), "int"), (t("new_count"), "int"),
        (t("kept_count"), "int"), (t("retention_rate"), "pct"), (t("kept_rate"), "pct"),
        (t("churn_rate"), "pct"), (t("activation_rate"), "pct"), (t("buyers"), "int"),
        (t("repeat_buyers"), "int"), (t("repurchase_rate"), "pct"),
    ]
    rows = []
    for r in seg.retention:
        p = rep.get((r["period_start"], r["tier"]), {})
        rows.append(
            [r["period_type"], r["period_start"], r["tier"], r["start_count"], r["end_count"],
             r["new_count"], r["kept_count"], r["retention_rate"], r["kept_rate"], r["churn_rate"],
             r["activation_rate"], p.get("buyers"), p.get("repeat_buyers"), p.get("repurchase_rate")]
        )
    book.table(ws, 0, columns, rows)


def _nps_sheet(book: _Book, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_nps")
    columns = [
        (t("period_type"), "text"), (t("period_start"), "date"), (t("tier"), "text"),
        (t("responses"), "int"), (t("promoters"), "int"), (t("passives"), "int"),
        (t("detractors"), "int"), (t("nps"), "pts"), (t("nps_moe95"), "pts"),
        (t("low_sample"), "text"), (t("csat"), "pct"), (t("csat_n"), "int"), (t("ces_mean"), "score"),
        (t("ces_n"), "int"),
    ]
    rows = [
        [r["period_type"], r["period_start"], r["tier"], r["responses"], r["promoters"], r["passives"],
         r["detractors"], r["nps"], r["nps_moe95"], t("low_sample") if r["low_sample"] else "",
         r["csat"], r["csat_n"], r["ces_mean"], r["ces_n"]]
        for r in seg.nps
    ]
    book.table(ws, 0, columns, rows)


def _service_sheet(book: _Book, data: WeekData) -> None:
    t = book.t
    ws = book.sheet("sheet_service")
    columns = [
        (t("priority"), "text"), (t("tickets"), "int"), (t("met"), "int"), (t("breached"), "int"),
        (t("sla_rate"), "pct"), (t("complaint_sla_rate"), "pct"),
        (t("median_first_response_hours"), "dec"), (t("median_resolution_hours"), "dec"),
        (t("satisfaction_mean"), "dec"),
    ]
    rows = [
        [t.label_or(f"priority_{r['priority']}", r["priority"]), r["tickets"], r["met"], r["breached"],
         r["sla_rate"], r["complaint_sla_rate"], r["median_first_response_hours"],
         r["median_resolution_hours"], r["satisfaction_mean"]]
        for r in data.sla
    ]
    book.table(ws, 0, columns, rows)


def _quality_sheet(book: _Book, data: WeekData) -> None:
    t = book.t
    q = data.quality
    ws = book.sheet("sheet_quality")
    columns = [
        (t("source"), "text"), (t("files"), "int"), (t("rows_read"), "int"), (t("rows_loaded"), "int"),
        (t("rows_quarantined"), "int"), (t("quarantine_share"), "pct"),
        (t("duplicates_replaced"), "int"),
    ]
    rows = [
        [s["source"], s["files"], s["rows_read"], s["rows_loaded"], s["rows_quarantined"],
         s["quarantine_share"], s["duplicates_replaced"]]
        for s in q["sources"]
    ]
    nxt = book.table(ws, 0, columns, rows)
    ws.write_string(nxt, 0, t("quarantine_by_reason"), book.fmt["section"])
    nxt = book.table(
        ws, nxt + 1, [(t("source"), "text"), (t("reason_code"), "text"), (t("rows"), "int")],
        [[r["source"], r["reason_code"], r["rows"]] for r in q["reasons"]], filter_and_freeze=False,
    )
    ws.write_string(nxt, 0, t("completeness"), book.fmt["section"])
    nxt = book.table(
        ws, nxt + 1,
        [(t("source"), "text"), (t("column"), "text"), (t("rows"), "int"), (t("filled_share"), "pct")],
        [[c["source"], c["column"], c["rows"], c["filled_share"]] for c in q["completeness"]],
        filter_and_freeze=False,
    )
    f = q["freshness"]
    ws.write_string(nxt, 0, t("freshness"), book.fmt["section"])
    book.text(ws, nxt + 1, 0, t("last_order_day"))
    book.cell(ws, nxt + 1, 1, "date", f["last_order_day"])
    book.text(ws, nxt + 2, 0, t("days_behind"))
    book.cell(ws, nxt + 2, 1, "int", f["days_behind"])
    book.text(ws, nxt + 3, 0, t("flag"))
    book.text(ws, nxt + 3, 1, t("stale" if f["stale"] else "fresh"))


def _thresholds_sheet(book: _Book, data: WeekData) -> None:
    t = book.t
    ws = book.sheet("sheet_thresholds")
    book.table(ws, 0, [(t("setting"), "text"), (t("value"), "text")],
               [list(x) for x in data.thresholds], widths={0: 28, 1: 60})


def _cap_note(t: Translator, shown: int, total: int, file: str, key: str) -> str:
    if total > shown:
        return t(f"{key}_capped", shown=t.number(shown), total=t.number(total), file=file)
    return t(f"{key}_complete", total=t.number(total), file=file)


def _customers_sheet(book: _Book, data: WeekData, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_customers")
    columns = [
        (t("customer_id"), "text"), (t("last_order"), "date"), (t("recency_days"), "int"),
        (t("frequency"), "int"), (t("monetary"), "money"), (t("r"), "int"), (t("f"), "int"),
        (t("m"), "int"), (t("rfm_score"), "score"), (t("tier"), "text"), (t("segment_name"), "text"),
        (t("lifecycle_stage"), "text"), (t("tags"), "text"),
    ]
    rows = seg.customers  # tuples in CUSTOMER_FIELDS order, the columns' order
    note = _cap_note(t, len(rows), seg.customers_total,
                     csv_name(data.week.label, seg.segment, "customers"), "customers_note")
    book.table(ws, 0, columns, rows, widths={0: 18, 10: 20, 12: 36}, header_note=note)


def _churn_sheet(book: _Book, data: WeekData, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_churn")
    columns = [
        (t("customer_id"), "text"), (t("masked_email"), "text"), (t("tier"), "text"),
        (t("segment_name"), "text"), (t("last_order"), "date"), (t("recency_days"), "int"),
        (t("frequency"), "int"), (t("monetary"), "money"), (t("rfm_score"), "score"),
        (t("reason_inactive"), "text"), (t("reason_complaints"), "text"),
        (t("reason_activity_drop"), "text"), (t("flagged_since"), "date"),
    ]

    def yes(v: bool) -> str:
        return "✔" if v else ""

    # tuples in CHURN_FIELDS order; the three reason flags shown as ticks
    rows = [(*r[:9], yes(r[9]), yes(r[10]), yes(r[11]), r[12]) for r in seg.churn_warnings]
    note = _cap_note(t, len(rows), seg.churn_warnings_total,
                     csv_name(data.week.label, seg.segment, "churn_warnings"), "churn_note")
    book.table(ws, 0, columns, rows, widths={0: 18, 1: 24, 3: 20}, header_note=note)


def _write_full_lists(book: _Book, ws: Worksheet, data: WeekData, seg: SegmentData, top: int) -> int:
    """Summary lines: how many customers the sheets show and which CSV holds them all."""
    t = book.t
    ws.write_string(top, 0, t("full_lists"), book.fmt["section"])
    lines = [
        _cap_note(t, len(seg.customers), seg.customers_total,
                  csv_name(data.week.label, seg.segment, "customers"), "customers_note"),
        _cap_note(t, len(seg.churn_warnings), seg.churn_warnings_total,
                  csv_name(data.week.label, seg.segment, "churn_warnings"), "churn_note"),
    ]
    for i, line in enumerate(lines, start=top + 1):
        ws.write_string(i, 0, line, book.fmt["note"])
    return top + len(lines) + 2


def write_segment_workbook(
    target: str | Path | io.BytesIO, data: WeekData, segment: str, t: Translator
) -> None:
    seg = data.segments[segment]
    book = _Book(target, t, constant_memory=True)
    try:
        ws = book.sheet("sheet_summary")
        nxt = _write_kpis(book, ws, data, _title(book, ws, data, segment))
        nxt = _write_cards(book, ws, seg, nxt)
        _write_full_lists(book, ws, data, seg, nxt)
        _customers_sheet(book, data, seg)
        _retention_sheet(book, seg)
        _churn_sheet(book, data, seg)
        _nps_sheet(book, seg)
        _service_sheet(book, data)
        _quality_sheet(book, data)
        _thresholds_sheet(book, data)
    finally:
        book.close()


def write_overview_workbook(target: str | Path | io.BytesIO, data: WeekData, t: Translator) -> None:
    """The overview: aggregates only, no customer rows (it is the email attachment)."""
    book = _Book(target, t)
    try:
        ws = book.sheet("sheet_summary")
        nxt = _write_kpis(book, ws, data, _title(book, ws, data, "overview"))
        if "all" in data.segments:
            _write_cards(book, ws, data.segments["all"], nxt)
        ws = book.sheet("sheet_segments")
        columns = [
            (t("segment"), "text"), (t("customers"), "int"), (t("active_customers"), "int"),
            (t("at_risk_customers"), "int"), (t("monetary_total"), "money"), (t("avg_score"), "score"),
            (t("week_kept_rate"), "pct"), (t("n"), "int"), (t("week_retention_rate"), "pct"),
            (t("week_repurchase_rate"), "pct"), (t("n"), "int"), (t("week_nps"), "pts"),
            (t("nps_moe95"), "pts"), (t("n"), "int"),
        ]
        rows = []
        for name, seg in data.segments.items():
            c = seg.cards
            rows.append(
                [t.segment_name(name), c["customers"], c["active_customers"], c["at_risk_customers"],
                 c["monetary_total"], c["avg_score"], c["week_kept_rate"], c["week_kept_n"],
                 c["week_retention_rate"], c["week_repurchase_rate"], c["week_repurchase_n"],
                 c["week_nps"], c["week_nps_moe95"], c["week_nps_n"]]
            )
        book.table(ws, 0, columns, rows, widths={0: 18})
        if "all" in data.segments:
            _retention_sheet(book, data.segments["all"])
            _nps_sheet(book, data.segments["all"])
        _service_sheet(book, data)
        _quality_sheet(book, data)
        _thresholds_sheet(book, data)
    finally:
        book.close()


def overview_workbook_bytes(data: WeekData, t: Translator) -> bytes:
    buf = io.BytesIO()
    write_overview_workbook(buf, data, t)
    return buf.getvalue()
