"""One-line notes of the reports: the few-orders warning and shares that must not read 0.0 %."""

from __future__ import annotations

from loyalty.reports.i18n import Translator
from loyalty.reports.model import WeekData


def share_text(t: Translator, share: float | None, count: int | None) -> str:
    """A share of rows that is never shown as 0.0 % when some rows are counted: more decimals (up to
    4) until it is non-zero, else "< 0.0001%"."""
    if share is None or not count:
        return t.percent(share)
    for digits in range(1, 5):
        if round(100 * share, digits) != 0:
            return t.percent(share, digits)
    return "< " + t.percent(0.000001, 4)


LOW_ORDERS_SHARE = 0.10  # a week with fewer orders than this share of the recent average is flagged


def order_warning(data: WeekData, t: Translator) -> str | None:
    """One line when the report week has almost no counted orders: fewer than LOW_ORDERS_SHARE of
    the weekly average of the weeks before it (no line when there is no history to compare)."""
    v = data.order_volume
    if not v or not v["average"]:
        return None
    if v["orders"] >= LOW_ORDERS_SHARE * v["average"]:
        return None
    average = t.number(v["average"], 0 if v["average"] >= 10 else 1)
    if v["orders"] == 0:
        return t("no_orders_warning", average=average, weeks=v["weeks"])
    return t("low_orders_warning", orders=t.number(v["orders"]), average=average, weeks=v["weeks"])
