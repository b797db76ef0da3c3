"""A typed Excel workbook (xlsxwriter): numbers as numbers, dates as dates, formats per locale, and
tables with a frozen header and an autofilter. The report's sheets are in reports/excel.py.

Text is always written with `write_string` and the workbook is opened with `strings_to_formulas` off,
so a value such as `=HYPERLINK(...)` from an export stays text; text starting with = + - @
additionally gets Excel's quote prefix (shown as typed, never re-evaluated when edited).

In `constant_memory` mode each row is flushed to disk once the next row starts, so memory does not
grow with a sheet's length; every sheet is then written strictly top to bottom, left to right (a
cell written to an earlier row would be lost).

A missing, NaN or infinite number (an empty denominator in a mart) is an empty cell on every path.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from loyalty.reports import xlsx_rows
from loyalty.reports.i18n import Translator

EXCEL_MAX_ROWS = 1_048_575  # one row is the header
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# column kinds -> format name (self.fmt) and default width
KINDS: dict[str, tuple[str, int]] = {
    "text": ("text", 16),
    "int": ("integer", 11),
    "dec": ("decimal", 13),
    "money": ("money", 14),
    "pct": ("percent", 11),
    "pct_fine": ("percent_fine", 11),  # a small share that must not show as 0.0 %
    "pp": ("points", 11),  # a change of a rate, in percentage points (value × 100, signed)
    "signed": ("signed", 10),  # a signed change in points (NPS)
    "pts": ("score", 10),
    "score": ("score", 10),
    "date": ("date", 13),
    "datetime": ("datetime", 18),
    "bool": ("text", 10),  # TRUE / FALSE cells
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


class Book:
    def __init__(
        self, target: str | Path | io.BytesIO, t: Translator, constant_memory: bool = False
    ):
        self.t = t
        self.widths: dict[str, dict[int, float]] = {}
        self._encoders: dict[str, Callable[[Any], str | None]] = {}
        self._serial: Callable[[Any], float] = float  # the sheet's date -> Excel serial
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
        self.fmt["money"] = self.wb.add_format({**base, "num_format": t.excel_money()})
        self.fmt["text"] = self.wb.add_format(base)
        self.fmt["quoted"] = self.wb.add_format({**base, "quote_prefix": True})
        self.fmt["header"] = self.wb.add_format(
            {
                **base,
                "bold": True,
                "bg_color": "#1A365D",
                "font_color": "#FFFFFF",
                "text_wrap": True,
                "valign": "top",
                "border": 1,
            }
        )
        self.fmt["title"] = self.wb.add_format({**base, "bold": True, "font_size": 14})
        self.fmt["subtle"] = self.wb.add_format({**base, "font_color": "#52606D"})
        self.fmt["section"] = self.wb.add_format({**base, "bold": True, "font_size": 12})
        self.fmt["note"] = self.wb.add_format({**base, "bold": True, "font_color": "#975A16"})

    def text(self, ws: Worksheet, row: int, col: int, value: Any) -> None:
        s = "" if value is None else str(value)
        fmt = self.fmt["quoted"] if s.startswith(RISKY_PREFIXES) else self.fmt["text"]
        ws.write_string(row, col, s, fmt)

    def encoder(self, kind: str) -> Callable[[Any], str | None]:
        """What `cell` writes for a value of `kind`, as the cell's XML after its reference (None:
        no cell), for loyalty.reports.xlsx_rows. A format's index is taken at its first use, as
        xlsxwriter takes it, so the workbook is the same either way."""
        if kind in self._encoders:
            return self._encoders[kind]
        index: dict[str, int] = {}

        def style(name: str) -> int:
            if name not in index:
                index[name] = self.fmt[name]._get_xf_index()
            return index[name]

        fmt = KINDS[kind][0]

        def encode(value: Any) -> str | None:
            if value is None or (isinstance(value, float | Decimal) and finite(value) is None):
                return None
            if kind == "text":
                s = str(value)
                quoted = s.startswith(RISKY_PREFIXES)
                return f' s="{style("quoted" if quoted else "text")}"' + xlsx_rows.text_tail(s)
            if kind in ("date", "datetime"):
                if isinstance(value, dt.datetime) and value.tzinfo is not None:
                    value = value.replace(tzinfo=None)
                return xlsx_rows.number_tail(style(fmt), self._serial(value))
            if isinstance(value, bool):
                return f' t="b"><v>{1 if value else 0}</v></c>'
            number = finite(value)
            return None if number is None else xlsx_rows.number_tail(style(fmt), number)

        self._encoders[kind] = encode
        return encode

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
            if number is None:
                # NaN / inf of any numeric type (numpy, Decimal): empty, never an error
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
            width: float = max(
                KINDS[kind][1], min(40, len(label) * (2 if t.locale == "zh-CN" else 1) + 2)
            )
            if widths and c in widths:
                width = widths[c]
            seen = self.widths.setdefault(ws.name, {})
            seen[c] = max(width, seen.get(c, 0))
            ws.set_column(c, c, seen[c])
        if header_note:
            ws.write_string(top, len(columns) + 1, header_note, self.fmt["note"])
        rows = rows[: EXCEL_MAX_ROWS - top]
        if xlsx_rows.supported(ws):  # the same cells, written as XML in one go
            for row in rows:
                if len(row) != len(columns):
                    raise ValueError(f"a row of {len(row)} values for {len(columns)} columns")
            self._serial = ws._convert_date_time
            encoders = [self.encoder(kind) for _, kind in columns]
            by_row = {
                n: {c: self.encoder(k) for c, k in kinds.items()}
                for n, kinds in (row_kinds or {}).items()
            }
            xlsx_rows.write_rows(ws, top + 1, encoders, rows, by_row)
        else:
            for n, row in enumerate(rows):
                over = row_kinds.get(n, {}) if row_kinds else {}
                for c, ((_, kind), value) in enumerate(zip(columns, row, strict=True)):
                    self.cell(ws, top + 1 + n, c, over.get(c, kind), value)
        last = top + len(rows)
        if filter_and_freeze:
            ws.freeze_panes(top + 1, 0)
            ws.autofilter(top, 0, max(last, top), len(columns) - 1)
            ws.repeat_rows(0, top)  # the title and the header row on every printed page
        return last + 2

    def colour_status(
        self, ws: Worksheet, first: int, last: int, col: int, colours: Mapping[str, str]
    ) -> None:
        """Colour the cells of column `col` (rows first..last) by their text (a KPI status)."""
        if last < first:
            return
        for text, colour in colours.items():
            fmt = self.wb.add_format({"font_color": colour, "bold": True})
            ws.conditional_format(
                first,
                col,
                last,
                col,
                {"type": "cell", "criteria": "==", "value": f'"{text}"', "format": fmt},
            )

    def sheet(self, key: str) -> Worksheet:
        """A new sheet set up to print: landscape, one page wide (as many pages tall as needed)."""
        ws = self.wb.add_worksheet(self.t(key)[:31])
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_paper(9)  # A4
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        return ws

    def close(self) -> None:
        self.wb.close()
