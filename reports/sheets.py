"""The data sheets of the report workbooks (reports/excel.py), one function per sheet, each written
top to bottom (the segment workbooks are in `constant_memory` mode)."""

from __future__ import annotations

from loyalty.reports.export import csv_name
from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData, WeekData
from loyalty.reports.thresholds_view import threshold_rows
from loyalty.reports.xlsx import Book


def _bounds(t: Translator, *rates: str) -> list[tuple[str, str]]:
    """The interval columns of each rate: "<rate> · interval low", "<rate> · interval high" (NPS
    in points, shares in %)."""
    kind = "pts" if rates == ("nps",) else "pct"
    return [
        (f"{t(r)} · {t(side)}", kind) for r in rates for side in ("interval_low", "interval_high")
    ]


def retention_sheet(book: Book, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_retention")
    rep = {(r["period_start"], r["tier"]): r for r in seg.repurchase}
    columns = [
        (t("period_type"), "text"),
        (t("period_start"), "date"),
        (t("tier"), "text"),
        (t("start_count"), "int"),
        (t("end_count"), "int"),
        (t("new_count"), "int"),
        (t("kept_count"), "int"),
        (t("retention_rate"), "pct"),
        (t("kept_rate"), "pct"),
        (t("churn_rate"), "pct"),
        (t("activation_rate"), "pct"),
        (t("buyers"), "int"),
        (t("repeat_buyers"), "int"),
        (t("repurchase_rate"), "pct"),
        *_bounds(t, "kept_rate", "activation_rate", "repurchase_rate"),
    ]
    rows = []
    for r in seg.retention:
        p = rep.get((r["period_start"], r["tier"]), {})
        rows.append(
            [
                t.value("period", r["period_type"]),
                r["period_start"],
                t.value("tierkey", r["tier"]),
                r["start_count"],
                r["end_count"],
                r["new_count"],
                r["kept_count"],
                r["retention_rate"],
                r["kept_rate"],
                r["churn_rate"],
                r["activation_rate"],
                p.get("buyers"),
                p.get("repeat_buyers"),
                p.get("repurchase_rate"),
                r.get("kept_rate_low"),
                r.get("kept_rate_high"),
                r.get("activation_rate_low"),
                r.get("activation_rate_high"),
                p.get("repurchase_rate_low"),
                p.get("repurchase_rate_high"),
            ]
        )
    book.table(ws, 0, columns, rows)


def nps_sheet(book: Book, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_nps")
    columns = [
        (t("period_type"), "text"),
        (t("period_start"), "date"),
        (t("tier"), "text"),
        (t("responses"), "int"),
        (t("promoters"), "int"),
        (t("passives"), "int"),
        (t("detractors"), "int"),
        (t("nps"), "pts"),
        (t("nps_moe95"), "pts"),
        (t("low_sample"), "text"),
        (t("csat"), "pct"),
        (t("csat_n"), "int"),
        (t("ces_mean"), "score"),
        (t("ces_n"), "int"),
        *_bounds(t, "nps"),
        *_bounds(t, "csat"),
        (t("response_rate"), "pct"),
        *_bounds(t, "response_rate"),
        (t("active_customers"), "int"),
    ]
    rows = [
        [
            t.value("period", r["period_type"]),
            r["period_start"],
            t.value("tierkey", r["tier"]),
            r["responses"],
            r["promoters"],
            r["passives"],
            r["detractors"],
            r["nps"],
            r["nps_moe95"],
            t("low_sample") if r["low_sample"] else "",
            r["csat"],
            r["csat_n"],
            r["ces_mean"],
            r["ces_n"],
            r.get("nps_low"),
            r.get("nps_high"),
            r.get("csat_low"),
            r.get("csat_high"),
            r.get("response_rate"),
            r.get("response_rate_low"),
            r.get("response_rate_high"),
            r.get("active_customers"),
        ]
        for r in seg.nps
    ]
    book.table(ws, 0, columns, rows)


def service_sheet(book: Book, data: WeekData) -> None:
    t = book.t
    ws = book.sheet("sheet_service")
    columns = [
        (t("priority"), "text"),
        (t("tickets"), "int"),
        (t("met"), "int"),
        (t("breached"), "int"),
        (t("open_tickets"), "int"),
        (t("sla_rate"), "pct"),
        (t("complaint_sla_rate"), "pct"),
        (t("median_first_response_hours"), "dec"),
        (t("median_resolution_hours"), "dec"),
        (t("satisfaction_mean"), "dec"),
        (f"{t('sla_rate')} · {t('n')}", "int"),
        *_bounds(t, "sla_rate", "complaint_sla_rate"),
    ]
    rows = [
        [
            t.label_or(f"priority_{r['priority']}", r["priority"]),
            r["tickets"],
            r["met"],
            r["breached"],
            r.get("open_tickets"),
            r["sla_rate"],
            r["complaint_sla_rate"],
            r["median_first_response_hours"],
            r["median_resolution_hours"],
            r["satisfaction_mean"],
            r.get("sla_n"),
            r.get("sla_rate_low"),
            r.get("sla_rate_high"),
            r.get("complaint_sla_rate_low"),
            r.get("complaint_sla_rate_high"),
        ]
        for r in data.sla
    ]
    book.table(ws, 0, columns, rows)


def quality_sheet(book: Book, data: WeekData) -> None:
    t = book.t
    q = data.quality
    ws = book.sheet("sheet_quality")
    columns = [
        (t("source"), "text"),
        (t("files"), "int"),
        (t("rows_read"), "int"),
        (t("rows_loaded"), "int"),
        (t("rows_quarantined"), "int"),
        (t("quarantine_share"), "pct_fine"),
        (t("duplicates_replaced"), "int"),
    ]
    rows = [
        [
            t.value("source", s["source"]),
            s["files"],
            s["rows_read"],
            s["rows_loaded"],
            s["rows_quarantined"],
            s["quarantine_share"],
            s["duplicates_replaced"],
        ]
        for s in q["sources"]
    ]
    nxt = book.table(ws, 0, columns, rows)
    ws.write_string(nxt, 0, t("quarantine_by_reason"), book.fmt["section"])
    nxt = book.table(
        ws,
        nxt + 1,
        [(t("source"), "text"), (t("reason_code"), "text"), (t("rows"), "int")],
        [
            [t.value("source", r["source"]), t.value("qreason", r["reason_code"]), r["rows"]]
            for r in q["reasons"]
        ],
        filter_and_freeze=False,
    )
    ws.write_string(nxt, 0, t("completeness"), book.fmt["section"])
    nxt = book.table(
        ws,
        nxt + 1,
        [
            (t("source"), "text"),
            (t("column"), "text"),
            (t("rows"), "int"),
            (t("filled_share"), "pct"),
        ],
        [
            [
                t.value("source", c["source"]),
                t.value("column", c["column_name"]),
                c["rows"],
                c["filled_share"],
            ]
            for c in q["completeness"]
        ],
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


def thresholds_sheet(book: Book, data: WeekData) -> None:
    t = book.t
    ws = book.sheet("sheet_thresholds")
    book.table(
        ws,
        0,
        [(t("setting"), "text"), (t("value"), "text")],
        [list(x) for x in threshold_rows(t, data.thresholds)],
        widths={0: 48, 1: 30},
    )


def cap_note(t: Translator, shown: int, total: int, file: str, key: str) -> str:
    if total > shown:
        return t(f"{key}_capped", shown=t.number(shown), total=t.number(total), file=file)
    return t(f"{key}_complete", total=t.number(total), file=file)


def customers_sheet(book: Book, data: WeekData, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_customers")
    columns = [
        (t("customer_id"), "text"),
        (t("last_order"), "date"),
        (t("recency_days"), "int"),
        (t("frequency"), "int"),
        (t("monetary"), "money"),
        (t("r"), "int"),
        (t("f"), "int"),
        (t("m"), "int"),
        (t("rfm_score"), "score"),
        (t("tier"), "text"),
        (t("segment_name"), "text"),
        (t("lifecycle_stage"), "text"),
        (t("tags"), "text"),
    ]
    # tuples in the columns' order (sql/reports/customers.sql); segment, lifecycle and tags shown in
    # the locale
    rows = [
        (*r[:10], t.value("rfmseg", r[10]), t.value("lifecycle", r[11]), t.tags(r[12]))
        for r in seg.customers
    ]
    note = cap_note(
        t,
        len(rows),
        seg.customers_total,
        csv_name(data.week.label, seg.segment, "customers"),
        "customers_note",
    )
    book.table(ws, 0, columns, rows, widths={0: 18, 10: 20, 12: 36}, header_note=note)


def churn_sheet(book: Book, data: WeekData, seg: SegmentData) -> None:
    t = book.t
    ws = book.sheet("sheet_churn")
    columns = [
        (t("customer_id"), "text"),
        (t("masked_email"), "text"),
        (t("tier"), "text"),
        (t("segment_name"), "text"),
        (t("status"), "text"),
        (t("p_alive"), "pct"),
        (t("value_at_risk"), "money"),
        (t("last_order"), "date"),
        (t("recency_days"), "int"),
        (t("frequency"), "int"),
        (t("monetary"), "money"),
        (t("rfm_score"), "score"),
        (t("reason_inactive"), "text"),
        (t("reason_complaints"), "text"),
        (t("reason_activity_drop"), "text"),
        (t("flagged_since"), "date"),
    ]

    def yes(v: bool) -> str:
        return "✔" if v else ""

    def status(v: str | None) -> str:
        return "" if v is None else t.label_or(f"status_{v}", v)

    # tuples in the columns' order (sql/reports/churn_warnings.sql and churn_warnings_model.sql:
    # the model's status, p_alive and value at risk are empty in the rules' list); flags as ticks
    rows = [
        (
            *r[:3],
            t.value("rfmseg", r[3]),
            status(r[4]),
            *r[5:12],
            yes(r[12]),
            yes(r[13]),
            yes(r[14]),
            r[15],
        )
        for r in seg.churn_warnings
    ]
    note = cap_note(
        t,
        len(rows),
        seg.churn_warnings_total,
        csv_name(data.week.label, seg.segment, "churn_warnings"),
        "churn_note",
    )
    book.table(ws, 0, columns, rows, widths={0: 18, 1: 24, 3: 20}, header_note=note)
