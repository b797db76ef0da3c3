"""What the reports read of the playbook's action list and of the restatement log for ISO week W
(docs/metrics.md, "action_list" and "restatements"), into `reports.model.ActionsData`.

The action list of W is its last day's (action_list keeps the latest day and every Sunday); the
restatements shown are those recorded after the last weekly email of an earlier week (all of them
before any email). Each read is one query of sql/reports/; emails are masked in SQL.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from loyalty import engine
from loyalty.reports.model import ActionsData
from loyalty.settings import Settings
from loyalty.vocab import ALL, PERIOD_TYPES, RESTATED_FIGURES, TIERS
from loyalty.weeks import Week

# restatement rows read for the workbook sheet (the HTML shows the first RESTATED_SHOWN)
RESTATED_ROWS = 5_000
RESTATED_SHOWN = 10


def _tiers(segment: str) -> list[str]:
    return list(TIERS) if segment == ALL else [segment]


def owner_file(week_label: str, owner: str, taken: set[str]) -> str:
    """`loyalty_<week>_actions_<owner>.csv`: the owner's name with anything but letters, digits,
    `-` and `_` as `-` (a second owner with the same such name gets `-2`, ...)."""
    slug = re.sub(r"[^\w-]+", "-", owner, flags=re.UNICODE).strip("-_").lower() or "owner"
    name, n = slug, 1
    while name in taken:
        n += 1
        name = f"{slug}-{n}"
    taken.add(name)
    return f"loyalty_{week_label}_actions_{name}.csv"


def owner_files(week_label: str, owners: list[str]) -> dict[str, str]:
    taken: set[str] = set()
    return {o: owner_file(week_label, o, taken) for o in sorted(owners)}


def list_params(day: Any, segment: str, owner: str | None, limit: int | None) -> dict[str, Any]:
    return {"as_of": day, "tiers": _tiers(segment), "owner": owner, "row_limit": limit}


def read_actions(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    week: Week,
    segments: list[str],
    detail: bool = True,
) -> ActionsData:
    """The action list of W's last day (summary; with `detail`, each segment's top rows) and the
    restatements since the last email."""
    data = ActionsData(crm_export=settings.playbook.unmasked_crm_export)
    if engine.table_exists(conn, "action_list"):
        day = week.end
        summary = engine.query_file(conn, "reports/action_summary.sql", {"as_of": day})
        if summary:
            data.day = day
            data.summary = summary
            data.owner_files = owner_files(week.label, list({r["owner"] for r in summary}))
            for seg in segments:
                tiers = _tiers(seg)
                data.totals[seg] = sum(r["customers"] for r in summary if r["tier"] in tiers)
                if detail:
                    cap = settings.reports.workbook_customer_rows
                    data.rows[seg] = conn.execute(
                        engine.sql_text("reports/action_list.sql"),
                        list_params(day, seg, None, cap),
                    ).fetchall()
    if engine.table_exists(conn, "restatements"):
        data.restatements_stored = True
        if engine.table_exists(conn, "email_log"):
            (last,) = engine.query_file(conn, "reports/last_email.sql", {"week": week.label})
            data.since = last["sent_at"]
        (counts,) = engine.query_file(conn, "reports/restatements_count.sql", {"since": data.since})
        data.restated_total, data.restated_runs = counts["restated"], counts["runs"]
        data.restated = engine.query_file(
            conn,
            "reports/restatements_since.sql",
            {
                "since": data.since,
                "period_types": list(PERIOD_TYPES),
                "tables": list(RESTATED_FIGURES),
                "row_limit": RESTATED_ROWS,
            },
        )
    return data


def segment_summary(data: ActionsData, segment: str) -> list[dict[str, Any]]:
    """The segment's actions: customers and value at risk per (rule, action, owner), in rule
    order."""
    tiers = _tiers(segment)
    out: dict[int, dict[str, Any]] = {}
    for r in data.summary:
        if r["tier"] not in tiers:
            continue
        row = out.setdefault(
            r["rule_index"],
            {
                "rule_index": r["rule_index"],
                "action": r["action"],
                "owner": r["owner"],
                "customers": 0,
                "value_at_risk": 0.0,
                "valued_by_model": 0,
            },
        )
        row["customers"] += r["customers"]
        row["value_at_risk"] += r["value_at_risk"] or 0.0
        row["valued_by_model"] += r["valued_by_model"]
    return [out[k] for k in sorted(out)]
