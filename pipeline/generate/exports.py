"""`generate`: the synthetic exports of a seed, written to a folder (docs/generator.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from loyalty.contracts import CUSTOMERS, ORDERS, SURVEYS, TICKETS
from loyalty.generate.bad_rows import BadRows
from loyalty.generate.calendar import DAY, DEFAULT_END, Calendar, make_calendar
from loyalty.generate.chunks import concat, make_chunks
from loyalty.generate.customers import make_customers
from loyalty.generate.frames import (
    Widths,
    customer_frame,
    order_frame,
    survey_frame,
    ticket_frame,
    width,
)
from loyalty.generate.orders import drop_changes
from loyalty.generate.returns import add_returns
from loyalty.generate.writer import Writer, slices

# (name suffix of the file, its rows): one file per group
Groups = list[tuple[str, np.ndarray]]


def generate(
    out_dir,
    customers: int,
    days: int,
    seed: int,
    end: date = DEFAULT_END,
    formats=("csv",),
    split: str | None = None,
    bad_rows: bool = False,
    bad_row_log: list[dict] | None = None,
    returns: float = 0.0,
) -> dict:
    """Write synthetic exports to `out_dir`; return {file name: data rows written}.

    split: None (one file per kind), "monthly" (orders, tickets and surveys per calendar month,
    e.g. orders_2026-10.csv) or "drop" (orders_<end-5>_history.csv with every order up to end - 5
    days plus a daily drop orders_<end>.csv with the last 7 days, overlapping the history by two
    days, where a few of the repeated orders have a later status: refunded). bad_rows inserts the
    deliberately bad CSV rows listed in docs/generator.md into the last file of each kind; their
    (file, line, reason) are appended to bad_row_log when given. returns: the share of completed
    orders that come back as a return row linked to its order (loyalty.generate.returns); with
    any, the order files get the original_order_id column.
    """
    if not 0 <= returns <= 1:
        raise ValueError("returns is a share of the completed orders, from 0 to 1")
    formats = _checked_arguments(customers, days, split, formats)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cal = make_calendar(end, days)

    cust = make_customers(customers, seed, cal)
    chunks = make_chunks(seed, cust, cal)
    orders = concat(chunks, "orders", "ts")
    if returns:
        orders = add_returns(orders, cal, seed, returns)
    tickets = concat(chunks, "tickets", "opened")
    surveys = concat(chunks, "surveys", "ts")
    del chunks
    widths = Widths(
        customer=width(customers, 6),
        order=width(len(orders["ts"]) + 10, 7),
        ticket=width(len(tickets["opened"]) + 10, 7),
        survey=width(len(surveys["ts"]) + 10, 7),
    )
    bad = BadRows(orders, tickets, surveys, widths, cal, seed) if bad_rows else None
    files = _Files(out, formats, bad, bad_row_log if bad_row_log is not None else [])
    _write_orders(files, orders, cal, widths, split, seed)
    files.write(
        "tickets",
        TICKETS.names,
        _groups(tickets["opened"], split),
        lambda rows, _name: ticket_frame(tickets, rows, widths),
    )
    files.write(
        "surveys",
        SURVEYS.names,
        _groups(surveys["ts"], split),
        lambda rows, _name: survey_frame(surveys, rows, widths),
    )
    files.write(
        "customers",
        CUSTOMERS.names,
        [("", np.arange(customers))],
        lambda rows, _name: customer_frame(cust, rows, widths),
    )
    return files.counts


def _checked_arguments(
    customers: int, days: int, split: str | None, formats: Iterable[str]
) -> tuple[str, ...]:
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be positive")
    if split not in (None, "monthly", "drop"):
        raise ValueError(f"unknown split {split!r}; use 'monthly' or 'drop'")
    formats = tuple(formats)
    if not formats or set(formats) - {"csv", "parquet"}:
        raise ValueError(f"formats must be csv and/or parquet, got {formats!r}")
    return formats


def _write_orders(
    files: _Files,
    orders: dict[str, np.ndarray],
    cal: Calendar,
    widths: Widths,
    split: str | None,
    seed: int,
) -> None:
    """The order files; with split "drop", the daily drop reports a few orders of the overlap
    with a later status."""
    drop_name = "_" + cal.end.isoformat()
    changed = drop_changes(orders, cal, seed) if split == "drop" else None

    def frame(rows: np.ndarray, name: str) -> pl.DataFrame:
        o = orders
        if changed is not None and name == drop_name:
            o = dict(orders, status=changed[0], refund=changed[1])
        return order_frame(o, rows, widths, rows + 1)

    # the return link only when there are returns (not in the shipped sample)
    columns = [n for n in ORDERS.names if n != "original_order_id" or "original" in orders]
    files.write("orders", columns, _order_groups(orders, cal, split), frame)


def _order_groups(orders: dict[str, np.ndarray], cal: Calendar, split: str | None) -> Groups:
    if split != "drop":
        return _groups(orders["ts"], split)
    all_rows = np.arange(len(orders["ts"]))
    day = (orders["ts"] - cal.base) // DAY
    history = all_rows[day <= cal.days - 6]
    drop = all_rows[day >= cal.days - 7]
    # named by export date so that loading in name order applies the drop after the history
    history_name = f"_{(cal.end - timedelta(days=5)).isoformat()}_history"
    return [(history_name, history), ("_" + cal.end.isoformat(), drop)]


def _groups(ts: np.ndarray, split: str | None) -> Groups:
    """One file, or one per calendar month ("monthly")."""
    if split == "monthly":
        return [("_" + m, r) for m, r in _month_groups(ts)]
    return [("", np.arange(len(ts)))]


def _month_groups(ts: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(YYYY-MM, row indices) per calendar month of sorted epoch seconds."""
    months = (ts // DAY).astype("datetime64[D]").astype("datetime64[M]")
    bounds = np.flatnonzero(np.diff(months.astype(np.int64))) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(ts)]])
    return [(str(months[a]), np.arange(a, b)) for a, b in zip(starts, stops, strict=True)]


class _Files:
    """Writes the files of each kind, a slice at a time, with the bad rows in the last file of a
    kind; counts the data rows per file and logs where the bad rows went."""

    def __init__(
        self, out: Path, formats: tuple[str, ...], bad: BadRows | None, bad_row_log: list[dict]
    ):
        self.out, self.formats, self.bad, self.log = out, formats, bad, bad_row_log
        self.counts: dict[str, int] = {}

    def write(
        self,
        kind: str,
        columns: list[str],
        groups: Groups,
        make_frame: Callable[[np.ndarray, str], pl.DataFrame],
    ) -> None:
        for i, (name, rows) in enumerate(groups):
            writer = Writer(self.out, f"{kind}{name}", self.formats, columns)
            last = i == len(groups) - 1
            bad = self.bad
            inserts = bad.inserts(kind, rows) if (bad and last and "csv" in self.formats) else {}
            offset = 0
            try:
                for part in slices(rows) if len(rows) else [rows]:
                    stop = offset + len(part)
                    local = {
                        k - offset: v
                        for k, v in inserts.items()
                        if offset <= k < stop or k == stop == len(rows)
                    }
                    writer.write(make_frame(part, name), local)
                    offset = stop
            finally:
                writer.close()
            for record, line, text in writer.bad:
                assert bad is not None and writer.csv_path is not None  # only CSV gets bad rows
                self.log.append(
                    {
                        "file": writer.csv_path.name,
                        "record": record,
                        "line": line,
                        "reason": bad.reason(text),
                        "row": text,
                    }
                )
            for path in writer.paths:
                self.counts[path.name] = writer.rows if path.suffix == ".csv" else len(rows)
