"""How the reports print uncertainty (docs/metrics.md, "Uncertainty"): a share with its Wilson
interval and n ("42.1% (38.0–46.3%, n = 512)"), NPS with its range, and whether a change vs 7 days
earlier is significant. The intervals and the test come from the marts (sql/macros.sql); nothing is
computed here but text."""

from __future__ import annotations

from typing import Any

from loyalty.reports import stats
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


def week_change(t: Translator, cards: dict[str, Any], key: str) -> str:
    """A segment card's change vs last week, "+1.2 pp vs last week (not significant)": the pooled
    two-proportion test for kept and repurchase rate, the difference over its standard errors for
    NPS (loyalty.reports.stats, the twin of the marts' macros), at metrics.uncertainty's alpha and
    min_n; empty when either week has no value."""
    last: dict[str, Any] = cards.get("last_week") or {}
    u: dict[str, Any] = cards.get("uncertainty") or {"alpha": 0.05, "min_n": 30}
    value = "week_nps" if key == "nps" else f"week_{key}_rate"
    found: list[Any] = [
        cards.get(value),
        last.get("nps" if key == "nps" else f"{key}_rate"),
        cards.get(f"week_{key}_n"),
        last.get(f"{key}_n"),
    ]
    if _missing(*found):
        return ""
    now, before, n_now, n_before = float(found[0]), float(found[1]), int(found[2]), int(found[3])
    diff = now - before
    if key == "nps":
        z = stats.difference_z(diff, cards.get("week_nps_se"), last.get("nps_se"))
        text = "±0.0" if round(diff, 1) == 0 else t.points(diff, signed=True)
    else:
        z = stats.two_proportion_z(now, n_now, before, n_before)
        text = f"±0.0 {t('pp')}" if round(100 * diff, 1) == 0 else f"{100 * diff:+.1f} {t('pp')}"
    sig = stats.significant(z, n_now, n_before, u["alpha"], u["min_n"])
    return t("vs_last_week", change=text, sig=t("significant" if sig else "not_significant"))
