"""A table's rows written as XML in one go (loyalty.reports.xlsx_rows) are the cells xlsxwriter
writes one by one: the same workbook, part by part, byte for byte."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from loyalty.reports import xlsx_rows
from loyalty.reports.i18n import Translator
from loyalty.reports.xlsx import Book

COLUMNS = [
    ("Customer", "text"),
    ("Last order", "date"),
    ("At", "datetime"),
    ("Days", "int"),
    ("Value", "money"),
    ("Rate", "pct"),
    ("Score", "score"),
    ("Flag", "bool"),
    ("Share", "pct_fine"),
]
LONG = "x" * 40_000  # over Excel's 32,767 characters: cut as xlsxwriter cuts it
ROWS = [
    [
        "C-1",
        dt.date(2026, 11, 15),
        dt.datetime(2026, 11, 15, 8, 30),
        3,
        12.5,
        0.25,
        4.5,
        True,
        1e-9,
    ],
    ["=HYPERLINK(1)", None, None, None, None, None, None, False, None],
    [" padded ", dt.date(1999, 1, 1), None, np.int64(7), Decimal("1.10"), np.float32(0.5), 1, 1, 0],
    ["<r>not markup</r>", None, None, float("nan"), Decimal("NaN"), float("inf"), -1.5, 0, None],
    ['a & b < c > "d"\nline', None, None, 10**15, -0.1, 2 / 3, 0.1 + 0.2, None, 123456789.123],
    ["ctl \x01\x1f _x0041_ \ufffe", None, None, None, None, None, None, None, None],
    [None, None, None, None, None, None, None, None, None],  # a row of empty cells
    ["混合 中文", None, None, -0.0, 1e300, 1e-300, 5, None, None],
    [LONG, None, dt.datetime(2026, 1, 2, tzinfo=dt.UTC), 1, 2, 3, 4, None, None],
    ["+44 20", None, None, 1, 2, 3, 4, None, None],
    [None, None, None, None, None, None, None, None, None],  # the last row empty too
]
KINDS_OVER = {1: {3: "text"}, 4: {0: "int"}}  # per-row kinds (a KPI board's rows)


def _book(path: Path, raw: bool, rows=ROWS) -> None:
    book = Book(str(path), Translator("en", "GBP"), constant_memory=True)
    if not raw:  # xlsxwriter cell by cell: the table's old path
        xlsx_rows.supported = lambda ws: False  # type: ignore[assignment]
    try:
        ws = book.sheet("sheet_customers")
        ws.write_string(0, 0, "title", book.fmt["title"])
        nxt = book.table(ws, 2, COLUMNS, rows, row_kinds=KINDS_OVER, header_note="a note")
        book.text(ws, nxt, 0, "after the table")
        nxt = book.table(ws, nxt + 2, COLUMNS[:2], [["x", dt.date(2026, 1, 1)]] * 3)
        book.table(ws, nxt, COLUMNS[:2], [])  # a header only
        ws2 = book.sheet("sheet_churn")
        book.table(ws2, 0, COLUMNS, rows[:3])
        book.close()
    finally:
        xlsx_rows.supported = SUPPORTED  # type: ignore[assignment]


SUPPORTED = xlsx_rows.supported


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_raw_rows_equal_cells_written_one_by_one(tmp_path):
    rows = [r for r in ROWS if not str(r[0]).startswith("<r>")]
    _book(tmp_path / "cells.xlsx", raw=False, rows=rows)
    _book(tmp_path / "raw.xlsx", raw=True, rows=rows)
    cells, raw = _parts(tmp_path / "cells.xlsx"), _parts(tmp_path / "raw.xlsx")
    assert sorted(cells) == sorted(raw)
    for name in cells:
        assert raw[name] == cells[name], name
    # and the sheet holds what was written
    ws = openpyxl.load_workbook(tmp_path / "raw.xlsx")["Customers"]
    assert ws["A4"].value == "C-1" and ws["B4"].value == dt.datetime(2026, 11, 15)
    assert ws["A5"].value == "=HYPERLINK(1)" and ws["A5"].data_type == "s"
    assert ws["D5"].value is None
    assert ws["A6"].value == " padded " and ws["E6"].value == pytest.approx(1.1)


def test_text_that_looks_like_a_rich_string_stays_text(tmp_path):
    """xlsxwriter would write `<r>...</r>` as raw XML; the rows' writer escapes it."""
    _book(tmp_path / "raw.xlsx", raw=True)
    ws = openpyxl.load_workbook(tmp_path / "raw.xlsx")["Customers"]
    assert ws["A7"].value == "<r>not markup</r>"
    assert ws["D7"].value is None and ws["E7"].value is None and ws["G7"].value == -1.5
