"""Formatting a slice of rows as a polars frame in the contract's columns: ids zero-padded, codes
as their labels, empty values as nulls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from loyalty.generate.customers import Customers
from loyalty.generate.labels import (
    COMMENTS,
    MEMBER_LEVELS,
    ORDER_CHANNELS,
    ORDER_STATUSES,
    PRIORITIES,
    REGIONS,
    TICKET_CATEGORIES,
    TICKET_CHANNELS,
)


@dataclass
class Widths:
    """Digits of the zero-padded ids, per kind."""

    customer: int
    order: int
    ticket: int
    survey: int


def width(count: int, minimum: int) -> int:
    return max(minimum, len(str(count)))


def _ids(prefix: str, numbers: np.ndarray, digits: int) -> pl.Series:
    s = pl.Series(numbers.astype(np.int64)).cast(pl.String).str.zfill(digits)
    return (prefix + s) if prefix else s


def _ts(seconds: np.ndarray, empty: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(pa.array(seconds, mask=empty)) if empty is not None else pl.Series(seconds)
    return pl.from_epoch(s, time_unit="s")


def _labels(labels, codes: np.ndarray, empty: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(list(labels), dtype=pl.String).gather(pl.Series(codes.astype(np.int64)))
    if empty is not None and empty.any():
        s = s.scatter(np.flatnonzero(empty), None)
    return s


def _ints(values: np.ndarray, empty: np.ndarray) -> pl.Series:
    return pl.Series(pa.array(values.astype(np.int64), mask=empty))


def _money(cents: np.ndarray, empty: np.ndarray | None = None) -> pl.Series:
    s = pl.Series(pa.array(cents.astype(np.int64), mask=empty)).cast(pl.Decimal(18, 2))
    return (s / 100).cast(pl.Decimal(18, 2))


def order_frame(
    o: dict[str, np.ndarray], rows: np.ndarray, w: Widths, id_numbers: np.ndarray
) -> pl.DataFrame:
    refund = o["refund"][rows]
    columns = {
        "order_id": _ids("O", id_numbers, w.order),
        "customer_id": _ids("C", o["cust"][rows] + 1, w.customer),
        "ordered_at": _ts(o["ts"][rows]),
        "amount": _money(o["cents"][rows]),
        "status": _labels(ORDER_STATUSES, o["status"][rows]),
        "refund_amount": _money(refund, refund == 0),
        "channel": _labels(ORDER_CHANNELS, o["channel"][rows]),
    }
    if "original" in o:  # returns (loyalty.generate.returns): the order a return returns
        original = o["original"][rows]
        ids = _ids("O", np.maximum(original, 0) + 1, w.order)
        columns["original_order_id"] = ids.scatter(np.flatnonzero(original < 0), None)
    return pl.DataFrame(columns)


def ticket_frame(t: dict[str, np.ndarray], rows: np.ndarray, w: Widths) -> pl.DataFrame:
    first, resolved, sat = t["first"][rows], t["resolved"][rows], t["satisfaction"][rows]
    return pl.DataFrame(
        {
            "ticket_id": _ids("T", rows + 1, w.ticket),
            "customer_id": _ids("C", t["cust"][rows] + 1, w.customer),
            "opened_at": _ts(t["opened"][rows]),
            "first_response_at": _ts(first, first < 0),
            "resolved_at": _ts(resolved, resolved < 0),
            "category": _labels(TICKET_CATEGORIES, t["category"][rows]),
            "priority": _labels(PRIORITIES, t["priority"][rows]),
            "channel": _labels(TICKET_CHANNELS, t["channel"][rows]),
            "satisfaction": _ints(sat, sat == 0),
        }
    )


def survey_frame(s: dict[str, np.ndarray], rows: np.ndarray, w: Widths) -> pl.DataFrame:
    nps, csat, ces, comment = (s[k][rows] for k in ("nps", "csat", "ces", "comment"))
    return pl.DataFrame(
        {
            "response_id": _ids("R", rows + 1, w.survey),
            "customer_id": _ids("C", s["cust"][rows] + 1, w.customer),
            "responded_at": _ts(s["ts"][rows]),
            "nps": _ints(nps, nps < 0),
            "csat": _ints(csat, csat < 0),
            "ces": _ints(ces, ces < 0),
            "comment": _labels(COMMENTS, np.maximum(comment, 0), comment < 0),
        }
    )


def customer_frame(c: Customers, rows: np.ndarray, w: Widths) -> pl.DataFrame:
    number = _ids("", rows + 1, w.customer)
    orders = c.orders[rows]
    level = np.searchsorted(np.array([3, 8, 20]), orders, side="right")
    phone_tail = pl.Series((rows + 1) % 1000).cast(pl.String).str.zfill(3)
    return pl.DataFrame(
        {
            "customer_id": "C" + number,
            "signed_up_at": _ts(c.signup[rows]),
            "name": "Customer " + number,
            "email": "c" + number + "@example.com",
            "phone": "+44 7700 900" + phone_tail,  # Ofcom's range reserved for drama
            "region": _labels(REGIONS, c.region[rows]),
            "member_level": _labels(MEMBER_LEVELS, level),
        }
    )
