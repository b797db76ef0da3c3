"""The Model sheet of the workbooks (overview and segments): whether the churn-and-value model's
scores are used (or why not), the backtest's quality row, the parameters of both fits (score and
backtest) with their figures, and the backtest by decile. Typed cells, written top to bottom (the
segment workbooks are in `constant_memory` mode)."""

from __future__ import annotations

from loyalty.reports import value_view as vv
from loyalty.reports.model import WeekData
from loyalty.reports.xlsx import Book

# model_quality's columns in display order, with their cell kinds
QUALITY: tuple[tuple[str, str], ...] = (
    ("as_of", "date"),
    ("horizon_days", "int"),
    ("calibration_end", "date"),
    ("customers", "int"),
    ("repeat_customers", "int"),
    ("mae_orders", "dec"),
    ("bias_orders", "dec"),
    ("auc_model", "dec"),
    ("auc_baseline", "dec"),
    ("model_beats_baseline", "bool"),
    ("model_used", "bool"),
    ("reason", "text"),
)


def model_sheet(book: Book, data: WeekData) -> None:
    t = book.t
    value = data.value
    ws = book.sheet("sheet_model")
    ws.set_column(0, 0, 30)
    note = vv.model_note(value, t)
    ws.write_string(0, 0, t("model_section"), book.fmt["title"])
    ws.write_string(1, 0, note["text"], book.fmt["subtle" if note["used"] else "note"])
    ws.freeze_panes(2, 0)  # the title and the model-used (or why not) sentence stay in view

    row = 3
    ws.write_string(row, 0, t("model_quality"), book.fmt["section"])
    q = value.quality or {}
    for i, (key, kind) in enumerate(QUALITY, start=row + 1):
        book.text(ws, i, 0, t("model_day") if key == "as_of" else t(key))
        shown = q.get(key)
        if key == "reason" and shown and t.locale != "en":
            shown = note["text"]  # the stored reason is English: the locale's sentence instead
        book.cell(ws, i, 1, kind, shown)
    row += len(QUALITY) + 2

    ws.write_string(row, 0, t("model_fits"), book.fmt["section"])
    fit_columns = [
        (t("purpose"), "text"),
        (t("model"), "text"),
        (t("parameter"), "text"),
        (t("value"), "dec"),
        (t("n_customers"), "int"),
        (t("n_repeat"), "int"),
        (t("log_likelihood"), "dec"),
        (t("converged"), "bool"),
        (t("fit_seconds"), "dec"),
    ]
    fit_rows = [
        [
            t.label_or(f"purpose_{f['purpose']}", f["purpose"]),
            t.label_or(f"model_{f['model']}", f["model"]),
            f["parameter"],
            f["value"],
            f["n_customers"],
            f["n_repeat"],
            f["log_likelihood"],
            f["converged"],
            f["fit_seconds"],
        ]
        for f in value.fits
    ]
    row = book.table(
        ws, row + 1, fit_columns, fit_rows, filter_and_freeze=False, widths={0: 30, 1: 24}
    )

    ws.write_string(row, 0, t("model_backtest"), book.fmt["section"])
    backtest_columns = [
        (t("decile"), "int"),
        (t("customers"), "int"),
        (t("predicted_orders"), "dec"),
        (t("actual_orders"), "int"),
        (t("predicted_value"), "money"),
        (t("actual_value"), "money"),
    ]
    backtest_rows = [
        [
            b["decile"],
            b["customers"],
            b["predicted_orders"],
            b["actual_orders"],
            b["predicted_value"],
            b["actual_value"],
        ]
        for b in value.backtest
    ]
    book.table(ws, row + 1, backtest_columns, backtest_rows, filter_and_freeze=False)
