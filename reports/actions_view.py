"""Display strings of the actions panel (the playbook's action list) and the restatements panel, for
the HTML reports, the workbooks and the email. A panel without data says so in one line."""

from __future__ import annotations

import re
from typing import Any

from loyalty.reports.actions import RESTATED_SHOWN, segment_summary
from loyalty.reports.i18n import Translator
from loyalty.reports.model import WeekData
from loyalty.vocab import CHURN_FLAGS, CUSTOMER_STATUSES, PLAYBOOK_ANY_FLAG, RESTATED_FIGURES

# figures shown as shares, as NPS points, else as counts
SHARE_FIGURES = frozenset(
    m for _, (_, ms) in RESTATED_FIGURES.items() for m in ms if m.endswith("_rate") or m == "csat"
)
POINT_FIGURES = frozenset({"nps"})
_LOAD = re.compile(r"load (\d+) \(([^)]*)\)")
_DAYS = re.compile(r"^snapshot days (\S+) recomputed$")


def reason_text(t: Translator, reason: str | None, churn_reasons: str | None = None) -> str:
    """A list row's reason token (sql/marts/action_list) as the locale's words."""
    if not reason:
        return "–"
    if reason == "default":
        return t("reason_default")
    if reason.startswith("lifecycle:"):
        return t.value("lifecycle", reason.split(":", 1)[1])
    if reason.startswith("tier:"):
        return t.segment_name(reason.split(":", 1)[1])
    if reason in CUSTOMER_STATUSES:
        return t(f"status_{reason}")
    if reason in CHURN_FLAGS:
        return t(f"reason_{reason}")
    if reason == PLAYBOOK_ANY_FLAG:
        flags = t.tags(churn_reasons) if churn_reasons else ""
        return f"{t('reason_churn_risk')} ({flags})" if flags else t("reason_churn_risk")
    return reason


def action_text(t: Translator, action: str) -> str:
    return t.value("action", action)


def owner_text(t: Translator, owner: str) -> str:
    return t.value("owner", owner)


def actions_panel(data: WeekData, segment: str, t: Translator) -> dict[str, Any]:
    """The segment's actions: per rule, its action, owner, customers and value at risk."""
    actions = data.actions
    if actions.day is None:
        return {"note": "", "empty": t("no_actions", day=t.date(data.week.end)), "table": None}
    rows = segment_summary(actions, segment)
    # how many customers the model valued: shown only when it valued any
    by_model = any(r["valued_by_model"] for r in rows)
    columns = [t("pb_rule"), t("pb_action"), t("owner"), t("customers"), t("value_at_risk")]
    table = {
        "columns": columns + ([t("valued_by_model")] if by_model else []),
        "numeric": [True, False, False, True, True] + ([True] if by_model else []),
        "rows": [
            [
                str(r["rule_index"] + 1),
                action_text(t, r["action"]),
                owner_text(t, r["owner"]),
                t.number(r["customers"]),
                t.money(r["value_at_risk"]),
            ]
            + ([t.number(r["valued_by_model"])] if by_model else [])
            for r in rows
        ],
    }
    return {
        "note": t("actions_note", day=t.date(actions.day)),
        "empty": t("no_rows"),
        "table": table,
    }


def figure_text(t: Translator, metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric in SHARE_FIGURES:
        return t.percent(value)
    if metric in POINT_FIGURES:
        return t.points(value)
    return t.number(value)


def change_text(t: Translator, metric: str, old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return "–"
    if metric in SHARE_FIGURES:
        return f"{100 * (new - old):+.1f} {t('pp')}"
    if metric in POINT_FIGURES:
        return t.points(new - old, signed=True)
    return f"{new - old:+,.0f}"


def key_text(t: Translator, table: str, key: str) -> str:
    if RESTATED_FIGURES.get(table, ("tier",))[0] == "priority":
        return t.label_or(f"priority_{key}", key)
    return t.segment_name(key)


def cause_text(t: Translator, kind: str, cause: str) -> str:
    """The stored cause in the locale's words: the loads (file and load id), the settings' keys, or
    the snapshot days computed again."""
    if kind == "load":
        loads = _LOAD.findall(cause)
        return "; ".join(t("cause_load", id=i, file=f) for i, f in loads) or cause
    if kind == "setting":
        keys, _, rest = cause.partition("; ")
        text = t("cause_setting", keys=keys)
        loads = _LOAD.findall(rest)
        return "; ".join([text, *(t("cause_load", id=i, file=f) for i, f in loads)])
    days = _DAYS.match(cause)
    return t("cause_recomputed_days", days=days.group(1)) if days else t("cause_recomputed")


def restatement_row(t: Translator, r: dict[str, Any]) -> list[str]:
    return [
        f"{t.value('period', r['period_type'])} {t.date(r['period_start'])}",
        f"{t(r['metric'])} · {key_text(t, r['table_name'], r['key'])}",
        figure_text(t, r["metric"], r["old_value"]),
        figure_text(t, r["metric"], r["new_value"]),
        change_text(t, r["metric"], r["old_value"], r["new_value"]),
        cause_text(t, r["cause_kind"], r["cause"]),
    ]


def restatements_panel(data: WeekData, t: Translator) -> dict[str, Any]:
    """The restatements since the last email: one short table (the first RESTATED_SHOWN rows)."""
    a = data.actions
    if not a.restatements_stored:
        return {"note": "", "empty": t("no_restatement_log"), "table": None, "more": ""}
    note = (
        t("restatements_note", since=t.datetime(a.since))
        if a.since
        else t("restatements_note_never")
    )
    if not a.restated:
        return {"note": "", "empty": t("no_restatements"), "table": None, "more": ""}
    shown = a.restated[:RESTATED_SHOWN]
    table = {
        "columns": [
            t("rs_period"),
            t("rs_figure"),
            t("rs_old_value"),
            t("rs_new_value"),
            t("rs_change"),
            t("rs_cause"),
        ],
        "numeric": [False, False, True, True, True, False],
        "rows": [restatement_row(t, r) for r in shown],
    }
    more = (
        t("restatements_more", shown=len(shown), total=t.number(a.restated_total))
        if a.restated_total > len(shown)
        else ""
    )
    return {"note": note, "empty": "", "table": table, "more": more}


def email_restatements(data: WeekData, t: Translator) -> str:
    """The email's line about restatements since the last email ("" when there are none)."""
    n = data.actions.restated_total
    if not n:
        return ""
    return t(
        "email_restatements",
        n=t.number(n),
        panel=t("restatements_panel"),
        sheet=t("sheet_restatements"),
    )
