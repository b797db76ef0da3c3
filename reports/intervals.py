"""How the reports print uncertainty (docs/metrics.md, "Uncertainty"): a share with its Wilson
interval and n ("42.1% (38.0–46.3%, n = 512)"), NPS with its range, and whether a change vs 7 days
earlier is significant. The intervals and the test come from the marts (sql/macros.sql); nothing is
computed here but text."""

from __future__ import annotations

from typing import Any

from loyalty.reports.i18n import Translator


def _missing(*values: Any) -> bool:
    return any(v is None or (isinstance(v, float) and v != v) for v in values)


def rate_range(t: Translator, low: float | None, high: float | None) -> str:
    """ "38.0–46.3%" (empty when there is no interval)."""
    if _missing(low, high):
        return ""
    assert low is not None and high is not None
    return f"{100 * low:,.1f}–{t.percent(high)}"


def points_range(t: Translator, low: float | None, high: float | None) -> str:
    """NPS range: "−3.2 – 12.0" (empty when there is none)."""
    if _missing(low, high):
        return ""
    return f"{t.points(low)} – {t.points(high)}"


def with_interval(
    t: Translator,
    value: float | None,
    low: float | None,
    high: float | None,
    n: int | None,
    points: bool = False,
) -> str:
    """ "42.1% (38.0–46.3%, n = 512)"; NPS "12.0 (−3.2 – 27.1, n = 40)"; "–" without a value."""
    text = t.points(value) if points else t.percent(value)
    if _missing(value):
        return text
    span = points_range(t, low, high) if points else rate_range(t, low, high)
    count = f"{t('n')} = {t.number(n)}" if n is not None else ""
    inside = ", ".join(x for x in (span, count) if x)
    return f"{text} ({inside})" if inside else text


def kpi_interval(t: Translator, kpi: dict[str, Any], confidence: float) -> str:
    """The KPI card's interval line ("95 % interval 38.0–46.3%"); empty for money and no data."""
    if kpi.get("is_money") or _missing(kpi.get("value")):
        return ""
    low, high = kpi.get("value_low"), kpi.get("value_high")
    span = rate_range(t, low, high) if kpi["is_rate"] else points_range(t, low, high)
    return f"{t('interval', level=f'{100 * confidence:g}')} {span}" if span else ""


def change_significance(kpi: dict[str, Any]) -> str:
    """ "significant", "not_significant" or "" (no change to test, or money): the key of the
    label beside the change."""
    if kpi.get("is_money") or _missing(kpi.get("change_7d")):
        return ""
    return "significant" if kpi.get("change_significant") else "not_significant"


def card_sub(t: Translator, low: float | None, high: float | None, n: int | None) -> str:
    """A segment card's second line: "38.0–46.3% · n = 512"."""
    count = f"{t('n')} = {t.number(n)}"
    span = rate_range(t, low, high)
    return f"{span} · {count}" if span else count
