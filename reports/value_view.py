"""Display strings of the churn-and-value model (issue 11) for the HTML reports, the workbooks and
the email: the note saying whether the model's scores are used (or, in one plain sentence, why not),
the captions of its panels, its cards, the model's at-risk table and the email headline."""

from __future__ import annotations

import re
from typing import Any

from loyalty.reports.i18n import Translator
from loyalty.reports.model import SegmentData, ValueData
from loyalty.reports.value import segment_risk
from loyalty.vocab import ALL

# model_quality.reason (a sentence written by loyalty.marts.value) -> the key of the fallback
# sentence in each locale, by the reason's words, first match wins; a reason matching nothing is
# quoted as stored (model_reason_other)
REASON_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("switched off", "disabled", "enabled"), "model_reason_disabled"),
    (("repeat customers at the backtest",), "model_reason_too_few_backtest"),
    (("repeat",), "model_reason_too_few"),
    (("converge",), "model_reason_not_converged"),
    (("finite",), "model_reason_not_finite"),
    (("cannot rank",), "model_reason_cannot_rank"),
    (("beat", "baseline"), "model_reason_not_better"),
)
_LEADING_COUNT = re.compile(r"^\s*(\d+)")


def reason_key(reason: str | None) -> str:
    words = (reason or "").lower()
    return next(
        (key for keys, key in REASON_WORDS if any(w in words for w in keys)),
        "model_reason_other",
    )


def _repeat_count(reason: str | None, stored: int | None) -> int | None:
    """The repeat buyers the guard counted (the reason's leading number), else the stored count."""
    found = _LEADING_COUNT.match(reason or "")
    return int(found.group(1)) if found else stored


def auc(t: Translator, v: float | None) -> str:
    return t.number(v, 2)


def model_note(value: ValueData, t: Translator) -> dict[str, Any]:
    """One plain sentence: the model is used (with its backtest AUC against the rule's), or why the
    rules are in charge. `used` drives the style (a warning colour when not used)."""
    q = value.quality
    if value.model_used and q:
        text = t(
            "model_used_note",
            calibration_end=t.date(q["calibration_end"]),
            h=q["horizon_days"],
            as_of=t.date(q["as_of"]),
            auc_model=auc(t, q["auc_model"]),
            auc_baseline=auc(t, q["auc_baseline"]),
            days=value.inactive_days,
        )
        return {"used": True, "text": text}
    if not q:
        return {"used": False, "text": t("model_reason_missing")}
    key = reason_key(q["reason"])
    text = t(
        key,
        repeat=t.number(_repeat_count(q["reason"], q["repeat_customers"])),
        h=value.horizon_days,
        min=t.number(value.min_repeat_customers),
        auc_model=auc(t, q["auc_model"]),
        auc_baseline=auc(t, q["auc_baseline"]),
        reason=q["reason"] or "–",
    )
    return {"used": False, "text": text}


def backtest_note(value: ValueData, t: Translator) -> str:
    q = value.quality
    if not q or not value.backtest:
        return ""
    return t(
        "backtest_note",
        calibration_end=t.date(q["calibration_end"]),
        h=q["horizon_days"],
        as_of=t.date(q["as_of"]),
        mae=t.number(q["mae_orders"], 2),
        bias=t.points(q["bias_orders"], 2, signed=True),
        auc_model=auc(t, q["auc_model"]),
        auc_baseline=auc(t, q["auc_baseline"]),
    )


def p_alive_note(bands: dict[str, float], t: Translator) -> str:
    return t("p_alive_note", **{k: t.number(v, 2) for k, v in bands.items()})


def panel_empty(value: ValueData, t: Translator) -> str:
    """The one line a model panel shows instead of empty axes."""
    return t("no_model_scores") if value.quality and not value.model_used else t("no_model_data")


def value_cards(seg: SegmentData, value: ValueData, t: Translator) -> list[dict[str, Any]]:
    """The segment's value at risk and expected value (CLV) over H, when the model is used."""
    risk = segment_risk(value, seg.segment)
    if not value.model_used or not risk:
        return []
    h = value.horizon_days
    return [
        {
            "label": t("value_at_risk_h", h=h),
            "value": t.money(risk["value_at_risk"]),
            "sub": f"{t.number(risk['at_risk_customers'])} {t('customers_n')}",
            "low_sample": False,
        },
        {
            "label": t("clv_h", h=h),
            "value": t.money(risk["clv"]),
            "sub": f"{t.number(risk['customers'])} {t('customers_n')}",
            "low_sample": False,
        },
    ]


def status_text(t: Translator, status: str | None) -> str:
    return "–" if status is None else t.label_or(f"status_{status}", status)


def at_risk_table_model(seg: SegmentData, t: Translator) -> dict[str, Any]:
    """The model's at-risk list: status at_risk only, by value at risk (the query's order)."""
    cols = [
        "customer_id",
        "masked_email",
        "tier",
        "segment_name",
        "status",
        "p_alive",
        "value_at_risk",
        "reasons",
        "flagged_since",
    ]
    rows = [
        [
            r["customer_id"],
            r["masked_email"] or "–",
            r["tier"],
            t.value("rfmseg", r["segment"]),
            status_text(t, r["status"]),
            t.percent(r["p_alive"], 0),
            t.money(r["value_at_risk"]),
            ", ".join(t(f"reason_{x}") for x in r["reasons"]) or "–",
            t.date(r["flagged_since"]),
        ]
        for r in seg.at_risk
    ]
    numeric = [False, False, False, False, False, True, True, False, False]
    return {"columns": [t(c) for c in cols], "rows": rows, "numeric": numeric}


def email_headline(value: ValueData, t: Translator) -> str | None:
    """Revenue at risk and the at-risk customers of the whole base, when the model is used."""
    risk = segment_risk(value, ALL)
    if not value.model_used or not risk:
        return None
    return t(
        "email_headline",
        h=value.horizon_days,
        value=t.money(risk["value_at_risk"]),
        n=t.number(risk["at_risk_customers"]),
    )
