"""The deliberately bad rows of --bad-rows (docs/generator.md lists them): each must be
quarantined by the loader."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from loyalty.generate.calendar import Calendar, random_stream
from loyalty.generate.frames import Widths


class BadRows:
    """The bad rows of each kind, and why each is bad.

    They are inserted at a third, a half and two thirds of the last file of their kind; ids of new
    rows continue after the last generated id so they never collide by accident.
    """

    def __init__(
        self,
        orders: dict[str, np.ndarray],
        tickets: dict[str, np.ndarray],
        surveys: dict[str, np.ndarray],
        widths: Widths,
        cal: Calendar,
        seed: int,
    ):
        self.orders, self.w, self.cal = orders, widths, cal
        self.kinds: dict[str, str] = {}
        rng = random_stream(seed, 3)
        who = (
            int(orders["cust"][rng.integers(0, len(orders["cust"]))]) if len(orders["cust"]) else 0
        )
        self.customer = "C" + str(who + 1).zfill(widths.customer)
        self.end = cal.end.isoformat()
        next_month = (cal.end.replace(day=1) + timedelta(days=32)).replace(day=1)
        self.bad_day = (
            f"{self.end[:8]}{(next_month - timedelta(days=1)).day + 1}"  # e.g. 2026-11-31
        )
        self.next_id = {
            "orders": len(orders["ts"]),
            "tickets": len(tickets["opened"]),
            "surveys": len(surveys["ts"]),
        }
        self.reasons = {
            "ragged": "unparseable line: 3 fields where the header has 7",
            "no_customer": "missing key: empty customer_id",
            "duplicate": "duplicate key: the next line has the same order_id (and another amount)",
            "bad_date": f"bad type: opened_at {self.bad_day} is not a date",
            "critical": "out of range: priority 'critical' (allowed urgent, important, general)",
            "nps11": "out of range: nps 11 (allowed 0..10)",
        }

    def _new_id(self, kind: str, prefix: str, width: int) -> str:
        self.next_id[kind] += 1
        return prefix + str(self.next_id[kind]).zfill(width)

    def inserts(self, kind: str, rows: np.ndarray) -> dict[int, list[str]]:
        """CSV lines to insert into the file of `rows`, by position (0 .. len(rows))."""
        n, w, end, c = len(rows), self.w, self.end, self.customer
        at = [n // 3, n // 2, (2 * n) // 3]
        lines: dict[int, list[str]] = {}

        def add(pos: int, key: str, text: str) -> None:
            self.kinds[text] = key
            lines.setdefault(pos, []).append(text)

        if kind == "orders":
            o1 = self._new_id("orders", "O", w.order)
            o2 = self._new_id("orders", "O", w.order)
            link = "," if "original" in self.orders else ""  # the return link's empty field
            add(at[0], "ragged", f"{o1},{c},{end} 10:15:00")
            add(at[1], "no_customer", f"{o2},,{end} 11:30:00,25.00,completed,,web{link}")
            if n:  # an earlier, conflicting copy of the row at the insertion point: the file's
                # later line (the original) is the version to keep, the inserted one is the bad row
                add(at[2], "duplicate", self._conflicting_copy(int(rows[at[2]])) + link)
        elif kind == "tickets":
            t1 = self._new_id("tickets", "T", w.ticket)
            t2 = self._new_id("tickets", "T", w.ticket)
            add(at[0], "bad_date", f"{t1},{c},{self.bad_day} 09:15:00,,,delivery,general,email,")
            add(
                at[1],
                "critical",
                f"{t2},{c},{end} 08:05:00,{end} 08:20:00,,complaint,critical,phone,",
            )
        elif kind == "surveys":
            r1 = self._new_id("surveys", "R", w.survey)
            add(at[1], "nps11", f"{r1},{c},{end} 12:00:00,11,5,,")
        return lines

    def _conflicting_copy(self, dup: int) -> str:
        """Order `dup` (a row number) with another amount and no refund."""
        o, w = self.orders, self.w
        return ",".join(
            [
                "O" + str(dup + 1).zfill(w.order),
                "C" + str(int(o["cust"][dup]) + 1).zfill(w.customer),
                _fmt_ts(o["ts"][dup]),
                f"{(int(o['cents'][dup]) + 1000) / 100:.2f}",
                "completed",
                "",
                "web",
            ]
        )

    def reason(self, text: str) -> str:
        return self.reasons[self.kinds[text]]


def _fmt_ts(seconds) -> str:
    return str(np.datetime64(int(seconds), "s")).replace("T", " ")
