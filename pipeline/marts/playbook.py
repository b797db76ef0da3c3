"""`action_list`: each customer's action of the week by the playbook (docs/metrics.md, "action_list";
the rules: docs/settings.md, "playbook"), for the days customer_value keeps (the latest day and
every Sunday), from customer_snapshot and customer_value (sql/marts/action_list/).

The rules reach SQL as bound lists, one row per rule and combination of its listed values, in rule
order; SQL takes the first matching row per customer. The settings refuse a playbook that leaves a
customer without a rule (loyalty.settings.playbook), so every customer of a day gets one action.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb

from loyalty import engine
from loyalty.marts.summary import markdown_table
from loyalty.marts.value import day_built, record_day_built
from loyalty.settings import Settings
from loyalty.settings.playbook import ANY, PlaybookRule
from loyalty.vocab import PLAYBOOK_ANY_FLAG

MODEL = "marts/action_list"


def reason_of(when: str, tier: str, stage: str) -> str:
    """What a rule row matched, for the list's `reason`: the status or flag it names, else its
    lifecycle stage, else its tier, else `default` (a catch-all)."""
    if when != ANY:
        return when
    if stage != ANY:
        return f"lifecycle:{stage}"
    if tier != ANY:
        return f"tier:{tier}"
    return "default"


def playbook_params(rules: list[PlaybookRule]) -> dict[str, Any]:
    """The rules as parallel lists, one entry per (rule, when, tier, lifecycle) combination."""
    rows = [
        (i, when, tier, stage, rule.action, rule.owner)
        for i, rule in enumerate(rules)
        for when in rule.when
        for tier in rule.tier
        for stage in rule.lifecycle
    ]
    return {
        "pb_seq": list(range(len(rows))),
        "pb_rule": [r[0] for r in rows],
        "pb_when": [r[1] for r in rows],
        "pb_tier": [r[2] for r in rows],
        "pb_stage": [r[3] for r in rows],
        "pb_reason": [reason_of(r[1], r[2], r[3]) for r in rows],
        "pb_action": [r[4] for r in rows],
        "pb_owner": [r[5] for r in rows],
        "pb_any": ANY,
        "pb_any_flag": PLAYBOOK_ANY_FLAG,
    }


def action_days(
    conn: duckdb.DuckDBPyConnection,
    start: dt.date,
    end: dt.date,
    history_weeks: int | None = None,
) -> list[dt.date]:
    """The days of start..end the list is written for: the last day and every Sunday (with
    `history_weeks`, of that many weeks before the last day, as customer_value), plus the last
    Sunday on or before `end` (the current report week's, so that a changed playbook shows in this
    week's reports at the next nightly run); each only when its customer_snapshot is stored."""
    if history_weeks is not None:
        start = max(start, end - dt.timedelta(weeks=history_weeks))
    span = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    wanted = {d for d in span if d.isoweekday() == 7 or d == end}
    wanted.add(end - dt.timedelta(days=end.isoweekday() % 7))
    rows = conn.execute(
        "select as_of from snapshot_params where list_contains(?, as_of) order by 1",
        [sorted(wanted)],
    ).fetchall()
    return [d for (d,) in rows]


def compute_action_list(
    conn: duckdb.DuckDBPyConnection, settings: Settings, start: dt.date, end: dt.date
) -> list[dt.date]:
    """Replace the action list of the days of start..end (`action_days`) in one transaction, and
    drop earlier days that are not Sundays once a later day is stored. Returns the days written.
    The current week's Sunday, when it is before `start` (a nightly run of a weekday), is written
    again only when what it was written from changed: the playbook, or that Sunday's snapshot or
    customer_value (day_build_state); at 10 M orders that is 2.5 M rows a night not rewritten."""
    days = action_days(conn, start, end, settings.model.history_weeks)
    if not days:
        return days
    rules = playbook_params(settings.playbook.rules)
    inputs = {d: _inputs(conn, rules, d) for d in days}
    days = [d for d in days if d >= start or _built_from(conn, d) != inputs[d]]
    if not days:
        return days
    # replace_days deletes first..last: the days between are non-Sundays, dropped anyway below
    params = {**rules, "days": days, "start_date": days[0], "end_date": days[-1]}
    with engine.transaction(conn):
        engine.create_declared(conn, MODEL)
        # without the model's table (a database from before it), every status is NULL
        if not engine.table_exists(conn, "customer_value"):
            engine.execute_file(conn, "marts/customer_value/schema.sql")
        engine.replace_days(conn, MODEL, params)
        conn.execute(
            "delete from action_list "
            "where isodow(as_of) <> 7 and as_of < (select max(as_of) from action_list)"
        )
        for d in days:
            record_day_built(conn, "action_list", d, inputs[d])
    return days


def _inputs(conn: duckdb.DuckDBPyConnection, rules: dict[str, Any], day: dt.date) -> str:
    """What the list of `day` is computed from, as JSON: the playbook's rows, when the day's
    snapshot was computed and when its customer_value was written."""
    computed = conn.execute(
        "select computed_at from snapshot_params where as_of = ?", [day]
    ).fetchall()
    value = day_built(conn, "customer_value", day)
    return json.dumps(
        {
            "playbook": rules,
            "snapshot": str(computed[0][0]) if computed else None,
            "customer_value": str(value[0]) if value else None,
        },
        sort_keys=True,
    )


def _built_from(conn: duckdb.DuckDBPyConnection, day: dt.date) -> str | None:
    built = day_built(conn, "action_list", day)
    return built[1] if built else None


def owner_summary(conn: duckdb.DuckDBPyConnection, day: dt.date) -> str:
    """Markdown: customers and value at risk per owner on `day` (aggregates only, no customer)."""
    return markdown_table(
        conn,
        "select owner, count(*) as customers, sum(value_at_risk) as value_at_risk "
        "from action_list where as_of = $day group by owner order by customers desc, owner",
        {"day": day},
    )
