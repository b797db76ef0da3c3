"""A table's data rows written straight into the sheet's XML (loyalty.reports.xlsx, books opened in
`constant_memory` mode): the same cells, byte for byte, as xlsxwriter's `write_string`,
`write_number`, `write_datetime`, `write_boolean` and `write_blank` called cell by cell
(tests/test_xlsx_rows.py compares the two), at a fraction of the cost.

xlsxwriter spends about 15 us per cell (argument checks, a row table, then the XML of each cell);
a segment workbook holds tens of thousands of rows (customers, churn warnings, actions), which made
the workbooks most of a small company's weekly report step. Here each cell's XML is one f-string.

It uses what xlsxwriter's constant_memory mode itself relies on (a pinned xlsxwriter, 3.x): the
rows of a sheet go to its temporary row file (`ws.fh`) in order, the row before a new one is
flushed by `_write_single_row`, and the sheet's dimensions are kept by `_check_dimensions`. One
difference, on purpose: xlsxwriter writes a text that starts with `<r>` and ends with `</r>` as raw
rich-string XML; here it is escaped like any other text (an export's value never becomes markup).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

_ESCAPE = re.compile('["&<>\n]')
_CONTROL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")  # an escape-like literal: its _ is escaped
_CONTROL = re.compile("([\x00-\x08\x0b-\x1f])")
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f_\ufffe\uffff]")  # what the three above change
_MAX_STRING = 32767  # UTF-16 units


def supported(ws: Worksheet) -> bool:
    """Whether `ws` takes raw rows: a constant_memory sheet with default row heights and no row
    formats (what Book's sheets are)."""
    return bool(
        ws.constant_memory
        and not ws.row_info
        and ws.excel_version != 2010
        and ws.default_row_height == ws.original_row_height
    )


@lru_cache(maxsize=8192)  # a table's texts repeat (tiers, segments, stages, tags)
def text_tail(s: str) -> str:
    """An inline-string cell's XML after its reference and style: `<c r=".." s=".."` + this."""
    if len(s) > _MAX_STRING // 2 and len(s.encode("utf-16-le")) // 2 > _MAX_STRING:
        s = s.encode("utf-16-le")[: 2 * _MAX_STRING].decode("utf-16-le", errors="ignore")
    if _SPECIAL.search(s):
        s = _CONTROL_ESCAPE.sub(r"_x005F\1", s)
        s = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", s)
        s = s.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if s and (s[0].isspace() or s[-1].isspace()) else ""
    if _ESCAPE.search(s):
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f' t="inlineStr"><is><t{space}>{s}</t></is></c>'


def number_tail(style: int, number: float) -> str:
    return f' s="{style}"><v>{number:.16G}</v></c>'


def write_rows(
    ws: Worksheet,
    first: int,
    encoders: Sequence[Callable[[Any], str | None]],
    rows: Sequence[Sequence[Any]],
    row_encoders: Mapping[int, Mapping[int, Callable[[Any], str | None]]] | None = None,
) -> None:
    """Rows `rows` at sheet rows first.. (0-based); column c's value v is written as
    `<c r="<ref>"` + encoders[c](v), or not at all when that is None (an empty cell);
    row_encoders[i][c] replaces encoders[c] in data row i. Every earlier row of the sheet must be
    written before (rows in order)."""
    if not rows:
        return
    # the row before `first` (the header) goes to the row file; the next write is `first`
    ws._write_single_row(first)
    out = ws.fh
    names = [xl_col_to_name(c) for c in range(len(encoders))]
    last_row = last_col = -1
    for n, row in enumerate(rows):
        r = first + n + 1  # Excel's 1-based row number
        over = row_encoders.get(n) if row_encoders else None
        parts: list[str] = []
        for c, value in enumerate(row):
            tail = (over.get(c, encoders[c]) if over else encoders[c])(value)
            if tail is not None:
                parts.append(f'<c r="{names[c]}{r}"{tail}')
                last_col = max(last_col, c)
        if parts:
            out.write(f'<row r="{r}">' + "".join(parts) + "</row>")
            last_row = r - 1
    if last_row >= 0:  # as the cells written one by one would have left them
        ws._check_dimensions(last_row, last_col)
    # nothing may be written into these rows any more; the next row written after them starts fresh
    ws.previous_row = first + len(rows)
    ws.table.clear()


def date_value(value: Any) -> Any:
    """A date or datetime as xlsxwriter takes it: an aware datetime made naive (its wall time)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value
