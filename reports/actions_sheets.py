"""The workbook sheets of the playbook's action list and of the restatement log (reports/excel.py),
each written top to bottom (the segment workbooks are in `constant_memory` mode).

Segment workbooks: Actions (the segment's customers with their action, masked email, at most
`reports.workbook_customer_rows`, the owners' CSV files named) and Restatements. The overview (the
email attachment, aggregates only): Actions as counts per rule and tier, and Restatements.
"""

from __future__ import annotations

from loyalty.reports import actions_view as av
from loyalty.reports.actions import segment_summary
from loyalty.reports.actions_export import CRM_FOLDER, crm_file
from loyalty.reports.model import WeekData
from loyalty.reports.xlsx import Book
from loyalty.vocab import TIERS

# sql/reports/action_list.sql's columns, in order: label key and cell kind
LIST_COLUMNS = (
    ("customer_id", "text"),
    ("masked_email", "text"),
    ("tier", "text"),
    ("segment_name", "text"),
    ("lifecycle_stage", "text"),
    ("status", "text"),
    ("reasons", "text"),
    ("action_reason", "text"),
    ("pb_action", "text"),
    ("owner", "text"),
    ("value_at_risk", "money"),
    ("pb_valued_by", "text"),
)


def _note(book: Book, data: WeekData, shown: int, total: int) -> str:
    t = book.t
    a = data.actions
    capped = t("actions_rows_capped", shown=t.number(shown), total=t.number(total))
    lines = [capped if shown < total else t("actions_rows_complete", total=t.number(total))]
    lines.append(t("actions_files", files=", ".join(a.owner_files.values())))
    return " · ".join(lines)


def actions_sheet(book: Book, data: WeekData, segment: str) -> None:
    """The segment's customers with their action (or the one line saying there is no list)."""
    t = book.t
    ws = book.sheet("sheet_actions")
    a = data.actions
    if a.day is None:
        ws.write_string(0, 0, t("no_actions", day=t.date(data.week.end)), book.fmt["note"])
        ws.freeze_panes(1, 0)
        return
    rows = a.rows.get(segment, [])
    total = a.totals.get(segment, len(rows))
    out = []
    for cid, email, tier, seg, stage, status, reasons, reason, action, owner, var, src in rows:
        out.append(
            [
                cid,
                email,
                tier,
                t.value("rfmseg", seg),
                t.value("lifecycle", stage),
                t(f"status_{status}") if status else "",
                t.tags(reasons),
                av.reason_text(t, reason, reasons),
                av.action_text(t, action),
                av.owner_text(t, owner),
                var,
                t.value("value_source", src),
            ]
        )
    note = _note(book, data, len(out), total)
    if a.crm_export:
        note += " · " + t("actions_crm_file", file=f"{CRM_FOLDER}/{crm_file(data.week.label)}")
    book.table(
        ws,
        0,
        [(t(key), kind) for key, kind in LIST_COLUMNS],
        out,
        widths={8: 48, 9: 16},
        header_note=note,
    )


def actions_summary_sheet(book: Book, data: WeekData) -> None:
    """Overview: per playbook rule its action, owner, customers and value at risk, all and by tier."""
    t = book.t
    ws = book.sheet("sheet_actions")
    a = data.actions
    if a.day is None:
        ws.write_string(0, 0, t("no_actions", day=t.date(data.week.end)), book.fmt["note"])
        ws.freeze_panes(1, 0)
        return
    by_tier = {tier: {r["rule_index"]: r for r in segment_summary(a, tier)} for tier in TIERS}
    columns = [
        (t("pb_rule"), "int"),
        (t("pb_action"), "text"),
        (t("owner"), "text"),
        (t("customers"), "int"),
        (t("value_at_risk"), "money"),
        *[(t.segment_name(tier), "int") for tier in TIERS],
    ]
    rows = [
        [
            r["rule_index"] + 1,
            av.action_text(t, r["action"]),
            av.owner_text(t, r["owner"]),
            r["customers"],
            r["value_at_risk"],
            *[by_tier[tier].get(r["rule_index"], {}).get("customers", 0) for tier in TIERS],
        ]
        for r in segment_summary(a, "all")
    ]
    book.table(ws, 0, columns, rows, widths={1: 60, 2: 16})


def restatements_sheet(book: Book, data: WeekData) -> None:
    """Every restatement since the last email (or the one line saying there is none)."""
    t = book.t
    ws = book.sheet("sheet_restatements")
    a = data.actions
    if not a.restated:
        key = "no_restatements" if a.restatements_stored else "no_restatement_log"
        ws.write_string(0, 0, t(key), book.fmt["note"])
        ws.freeze_panes(1, 0)
        return
    columns = [
        (t("rs_restated_at"), "datetime"),
        (t("rs_period"), "text"),
        (t("period_start"), "date"),
        (t("rs_figure"), "text"),
        (t("rs_old_value"), "text"),
        (t("rs_new_value"), "text"),
        (t("rs_change"), "text"),
        (t("rs_cause"), "text"),
    ]
    rows = []
    for r in a.restated:
        period, figure, old, new, change, cause = av.restatement_row(t, r)
        rows.append([r["restated_at"], period, r["period_start"], figure, old, new, change, cause])
    book.table(ws, 0, columns, rows, widths={1: 22, 3: 30, 7: 48})
