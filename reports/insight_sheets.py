"""The insight sheets of the workbooks (reports/excel.py): Service impact (the service_impact rows
the report shows) and Say-do gap (the cells of the month shown and, in segment workbooks, the
customers behind them: ids only, never a contact field). Typed cells, each sheet written top to
bottom (the segment workbooks are in `constant_memory` mode)."""

from __future__ import annotations

from typing import Any

from loyalty.reports import insight_view as iv
from loyalty.reports.export import csv_name
from loyalty.reports.insight import BEHAVIOURS, NPS_CLASSES
from loyalty.reports.model import WeekData
from loyalty.reports.xlsx import Book
from loyalty.vocab import ALL


def _pp(v: Any) -> float | None:
    """A difference of shares as percentage points (the `pp` cell kind shows value x 100)."""
    return None if v is None else 100 * float(v)


def _header(book: Book, ws: Any, title: str, lines: list[str]) -> int:
    ws.write_string(0, 0, title, book.fmt["title"])
    for i, line in enumerate(lines, start=1):
        ws.write_string(i, 0, line, book.fmt["subtle"])
    return len(lines) + 2


def service_impact_sheet(book: Book, data: WeekData) -> None:
    t = book.t
    ins = data.insight
    ws = book.sheet("sheet_service_impact")
    lines, empty = iv.impact_lines(ins, t, data.week.end)
    top = _header(
        book,
        ws,
        t("ins_impact"),
        [
            empty or t("ins_impact_note", days=ins.window_days, day=t.date(data.week.end)),
            *lines,
            t("ins_section_note"),
        ],
    )
    columns = [
        (t("ins_month"), "date"),
        (t("priority"), "text"),
        (t("ins_window_days"), "int"),
        (t("tickets"), "int"),
        (t("ins_pending"), "int"),
        (t("ins_outside"), "int"),
        (t("ins_breached_n"), "int"),
        (t("ins_met_n"), "int"),
        (t("ins_reorder_breached"), "pct"),
        (t("ins_reorder_met"), "pct"),
        (t("ins_diff_raw"), "pp"),
        (t("ins_matched_n"), "int"),
        (t("ins_strata"), "int"),
        (t("ins_reorder_breached_adj"), "pct"),
        (t("ins_reorder_met_adj"), "pct"),
        (t("ins_diff_adj"), "pp"),
        (t("ins_diff_low"), "pp"),
        (t("ins_diff_high"), "pp"),
        (t("ins_breached_orders_adj"), "dec"),
        (t("ins_met_orders_adj"), "dec"),
        (t("ins_breached_value_adj"), "money"),
        (t("ins_met_value_adj"), "money"),
        (t("ins_breached_value"), "money"),
        (t("ins_met_value"), "money"),
        (t("ins_breached_nps"), "pts"),
        (t("ins_breached_nps_n"), "int"),
        (t("ins_met_nps"), "pts"),
        (t("ins_met_nps_n"), "int"),
    ]
    rows = [
        [
            r["period_start"],
            t.label_or(f"priority_{r['priority']}", r["priority"]),
            r["window_days"],
            r["tickets"],
            r["tickets_pending"],
            r["customers_outside_population"],
            r["breached_customers"],
            r["met_customers"],
            r["breached_reorder_rate"],
            r["met_reorder_rate"],
            _pp(r["reorder_rate_diff"]),
            r["matched_customers"],
            r["strata"],
            r["breached_reorder_rate_adj"],
            r["met_reorder_rate_adj"],
            _pp(r["reorder_rate_diff_adj"]),
            _pp(r["diff_low95"]),
            _pp(r["diff_high95"]),
            r["breached_orders_per_customer_adj"],
            r["met_orders_per_customer_adj"],
            r["breached_value_per_customer_adj"],
            r["met_value_per_customer_adj"],
            r["breached_value"],
            r["met_value"],
            r["breached_next_nps"],
            r["breached_nps_n"],
            r["met_next_nps"],
            r["met_nps_n"],
        ]
        for r in ins.impact
    ]
    book.table(ws, top, columns, rows, widths={0: 13, 1: 12})


def say_do_sheet(book: Book, data: WeekData, segment: str, customers: bool = True) -> None:
    """The say-do cells of `segment` (`all` in the overview) and, with `customers`, the customers
    behind them (the top reports.workbook_customer_rows; every one in the CSV beside)."""
    t = book.t
    ins = data.insight
    seg = segment if segment in ins.say_do_cells else ALL
    ws = book.sheet("sheet_say_do")
    lines, empty = iv.say_do_lines(ins, seg, t, data.week.end)
    file = csv_name(data.week.label, seg, iv.SAY_DO_CSV)
    note = t(
        "ins_say_do_note",
        month=iv.month_label(t, ins.say_do_period),
        days=ins.say_do_days,
    )
    top = _header(book, ws, t("ins_say_do"), [empty or note, *lines, t("ins_section_note")])
    cell_columns = [
        (t("ins_nps_class"), "text"),
        (t("ins_behaviour"), "text"),
        (t("customers"), "int"),
        (t("ins_orders_after"), "int"),
        (t("ins_value_after"), "money"),
        (t("ins_value_before"), "money"),
        (t("ins_at_risk_end"), "int"),
    ]
    cell_rows = []
    for cls in NPS_CLASSES if not empty else ():
        for behaviour in BEHAVIOURS:
            c = iv.say_do_cell(ins, seg, cls, behaviour)
            cell_rows.append(
                [
                    t(f"ins_class_{cls}"),
                    t(f"ins_behaviour_{behaviour}"),
                    c["customers"],
                    c["orders_after"],
                    c["value_after"],
                    c["value_before"],
                    c["at_risk_at_end"],
                ]
            )
    nxt = book.table(
        ws, top, cell_columns, cell_rows, filter_and_freeze=not customers, widths={0: 18, 1: 20}
    )
    if not customers or empty:
        return
    found = ins.say_do_customers.get(seg, [])
    total = ins.say_do_totals.get(seg, 0)
    key = "ins_customers_capped" if total > len(found) else "ins_customers_complete"
    columns = [
        (t("customer_id"), "text"),
        (t("tier"), "text"),
        (t("ins_nps_score"), "int"),
        (t("ins_nps_class"), "text"),
        (t("ins_answered_on"), "date"),
        (t("ins_behaviour"), "text"),
        (t("ins_orders_after"), "int"),
        (t("ins_value_after"), "money"),
        (t("ins_orders_before"), "int"),
        (t("ins_value_before"), "money"),
        (t("ins_window_end"), "date"),
        (t("ins_status_end"), "text"),
        (t("ins_status_source"), "text"),
    ]
    # tuples in the columns' order (sql/reports/say_do_customers.sql), labels in the locale
    rows = [
        (
            *r[:3],
            t(f"ins_class_{r[3]}"),
            r[4],
            t(f"ins_behaviour_{r[5]}"),
            *r[6:11],
            "" if r[11] is None else t.label_or(f"status_{r[11]}", r[11]),
            "" if r[12] is None else t.label_or(f"ins_source_{r[12]}", r[12]),
        )
        for r in found
    ]
    note = t(key, shown=t.number(len(rows)), total=t.number(total), file=file)
    book.table(ws, nxt, columns, rows, header_note=note)
