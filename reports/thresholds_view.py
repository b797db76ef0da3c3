"""The "Thresholds used" table: the parameters stored with the snapshot (snapshot_params, the JSON of
loyalty.metric_params.snapshot_params_json) as one formatted row per setting, labels and values in
the report's locale; never JSON text."""

from __future__ import annotations

from typing import Any

from loyalty.reports.i18n import Translator


def _number(t: Translator, v: float | int) -> str:
    if isinstance(v, bool):
        return t("yes" if v else "no")
    if float(v).is_integer():
        return t.number(v)
    return f"{v:,.4g}"


def _span(values: list[Any]) -> str:
    return f"{min(values)}–{max(values)}" if len(values) > 1 else str(values[0])


def _text(t: Translator, v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool | int | float):
        return _number(t, v)
    if isinstance(v, list):
        return ", ".join(_text(t, x) for x in v)
    return str(v)


def threshold_rows(t: Translator, params: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(label, value) rows: nested settings flattened to one row each (`churn.inactive_days`), one
    row per segment-map rule, RFM bins unset shown as percent ranks."""
    rows: list[tuple[str, str]] = []

    def add(path: str, v: Any) -> None:
        if path == "segment_map" and isinstance(v, list):
            for rule in v:
                rows.append(
                    (
                        f"{t.value('th', path)}: {t.value('rfmseg', rule.get('segment'))}",
                        t("segment_rule", r=_span(rule.get("r", [])), fm=_span(rule.get("fm", []))),
                    )
                )
        elif path == "rfm_bins" and v is None:
            rows.append((t.value("th", path), t("percent_rank")))
        elif isinstance(v, dict):
            for key, sub in v.items():
                add(f"{path}.{key}", sub)
        else:
            rows.append((t.value("th", path), _text(t, v)))

    for key, value in params:
        add(key, value)
    return rows
