"""The email's "biggest changes vs 7 days earlier" (docs/reports.md): the KPI board's changes,
significant ones first, never one measured on fewer than metrics.uncertainty.min_n (docs/metrics.md,
"Uncertainty")."""

from __future__ import annotations

from typing import Any

from loyalty.reports import intervals as iv
from loyalty.reports import viewmodel as vm
from loyalty.reports.i18n import Translator
from loyalty.reports.model import WeekData


def top_changes(data: WeekData, t: Translator, n: int = 3) -> list[dict[str, Any]]:
    """KPIs with the largest change vs 7 days earlier (rates in points, NPS in points / 100):
    significant changes first, then the others; a change on fewer than metrics.uncertainty.min_n
    never (docs/metrics.md, "Uncertainty")."""

    def size(k: dict[str, Any]) -> float:
        ch = k.get("change_7d") or 0
        return abs(ch) if k["is_rate"] else abs(ch) / 100

    # a change in money does not compare with a change in points: the model's value at risk has its
    # own headline (reports/value_view.py)
    min_n = data.uncertainty["min_n"]
    changed = (
        k
        for k in data.kpis
        if k.get("change_7d") and not k.get("is_money") and (k["n"] or 0) >= min_n
    )
    ranked = sorted(
        changed, key=lambda k: (bool(k.get("change_significant")), size(k)), reverse=True
    )[:n]
    out = []
    for k in ranked:
        arrow, tone = vm.trend_arrow(k)
        out.append(
            {
                "name": t.label_or(f"kpi_{k['kpi']}", k["kpi"]),
                "arrow": arrow,
                "tone": tone,
                "tone_colour": vm.TONE_COLOURS.get(tone, "#52606d"),
                "word": t("trend_up" if k["change_7d"] > 0 else "trend_down"),
                "change": vm.kpi_value_text(t, k, k["change_7d"], signed=True),
                "value": vm.kpi_value_text(t, k, k["value"]),
                "significance": t(iv.change_significance(k) or "not_significant"),
                "significant": bool(k.get("change_significant")),
            }
        )
    return out
