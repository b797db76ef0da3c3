"""Insight marts (docs/metrics.md, "service_impact" and "say_do"): what happened after a ticket
(breached vs met SLA, like with like) and after an NPS answer (the say-do gap), per period.

Both look forward `impact.window_days` (`impact.say_do_days`) days from an event, so a period's
rows change as its windows elapse. Both recompute only the periods whose windows were still open
or whose data changed (say_do also: whose customer_value statuses changed). They read report_periods, so the period marts' step builds
report_periods first.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import duckdb

from loyalty import engine
from loyalty.marts.periods import (
    EVERY_PERIOD,
    FULL,
    PERIOD_KEY,
    changed_since,
    loads_seen,
    orders_from,
    record_build,
)
from loyalty.marts.summary import markdown_table
from loyalty.metric_params import metric_params, vocab_params
from loyalty.settings import Settings
from loyalty.sqlsafe import quote_ident

INSIGHT_TABLES = ("service_impact", "say_do")


def insight_params(settings: Settings) -> dict[str, Any]:
    """The windows of the insight marts and the vocabulary lists they iterate over."""
    return {
        **vocab_params(),
        "window_days": settings.impact.window_days,
        "say_do_days": settings.impact.say_do_window,
    }


def compute_insight_table(conn: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> str:
    """Build `name` in full; returns which path ran (say_do: the status from `customer_value` or
    from the snapshot's churn flags alone, when customer_value is not stored)."""
    if name not in INSIGHT_TABLES:
        raise ValueError(f"not an insight table: {name!r}")
    params = insight_params(settings)
    if name == "service_impact":
        return _build_service_impact(conn, settings, params)
    return _build_say_do(conn, settings, params)


def say_do_params(
    conn: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    since: dt.date,
    answers: tuple[dt.date, dt.date] | None = None,
) -> dict[str, Any]:
    """say_do's parameters for the periods ending on or after `since` and the answers on a day of
    `answers` (first, last; none when None): those of periods.orders_from, `answers_from` and
    `answers_to`, and `orders_window_from`, the first day of the orders a recomputed answer reads
    (dated after its day minus $say_do_days: on or after the first day read minus
    $say_do_days - 1). `states_from` is the day before the first day read."""
    bound = orders_from(conn, {**params, "since": since})
    first, last = answers if answers else (dt.date.max, dt.date.min)
    if first <= last and first < bound["orders_from"]:
        bound["orders_from"] = first
        bound["states_from"] = max(first, dt.date.min + dt.timedelta(days=1)) - dt.timedelta(days=1)
    bound.update(answers_from=first, answers_to=last)
    window = dt.timedelta(days=params["say_do_days"] - 1)
    bound["orders_window_from"] = max(bound["orders_from"], dt.date.min + window) - window
    return bound


def _value_days(conn: duckdb.DuckDBPyConnection, path: str) -> list[list[str]]:
    """The days customer_value holds, each with when it was written (day_build_state; empty when
    unknown): a say_do row reads the status of the last of these days before its window's end."""
    if path != "model":
        return []
    written = "null::varchar"
    join = ""
    if engine.table_exists(conn, "day_build_state"):
        written = "b.built_at::varchar"
        join = (
            "left join day_build_state as b "
            "on b.table_name = 'customer_value' and b.as_of = v.as_of"
        )
    rows = conn.execute(
        f"select v.as_of::varchar, coalesce({written}, '') "
        f"from (select distinct as_of from customer_value) as v {join} order by 1"
    ).fetchall()
    return [[day, built] for day, built in rows]


def _build_say_do(
    conn: duckdb.DuckDBPyConnection, settings: Settings, params: dict[str, Any]
) -> str:
    """say_do, incrementally: an answer's row reads the data of the $say_do_days (H) days before
    and after its day r (orders, the snapshot on r and at its window's end r + H, the status of
    the last customer_value day in (r, r + H]) and whether its window had elapsed by the last
    stored snapshot day L (r + H <= L); a period's answers decide which is each customer's latest.
    So a build recomputes every row of the periods ending on or after x, the first day whose data
    changed since (periods.changed_since: answers, orders, snapshots; an order's or answer's day
    is its timestamp's date, as staging has it), and in the periods before those only the rows
    whose answer is on a day from the first of x - H, v - H (v the first customer_value day written, added or dropped
    since) and L' - H (L' the earlier of the previous build's L and this one's) to the later L
    minus H: their windows' orders, snapshot day or status changed, or their window elapsed (or
    no longer has). Every other row is kept. In full for a first build, other settings, another
    status source or a replaced row. Returns how it was built."""
    path = "model" if engine.table_exists(conn, "customer_value") else "flags"
    source = "customer_value" if path == "model" else "churn flags"
    bound = {**metric_params(settings), **params}
    fingerprint = json.dumps({**bound, "status_from": path}, sort_keys=True, default=str)
    engine.execute_file(conn, "bookkeeping/period_build_state.sql")
    stored = conn.execute(
        "select inputs_json from period_build_state where table_name = 'say_do'"
    ).fetchall()
    before = json.loads(stored[0][0]) if stored and stored[0][0] else {}
    changed = changed_since(conn, "say_do", fingerprint)
    now_last = engine.scalar(conn, "select max(end_as_of) from report_periods")
    value_days = _value_days(conn, path)
    inputs = {"last_day": str(now_last), "value_days": value_days}
    record = ["say_do", dt.datetime.now(dt.UTC).replace(tzinfo=None), loads_seen(conn), fingerprint]
    since: dt.date | None = None
    answers: tuple[dt.date, dt.date] | None = None
    if changed != FULL and now_last is not None and before.get("last_day") not in (None, "None"):
        since, answers = _say_do_reach(
            params["say_do_days"],
            changed,
            dt.date.fromisoformat(before["last_day"]),
            now_last,
            # a customer_value day written, added or dropped since
            {tuple(d) for d in value_days} ^ {tuple(d) for d in before.get("value_days", [])},
        )
    with engine.transaction(conn), engine.intermediate(conn) as steps:
        # a view: the query reads the few customers and days it needs (a copy wrote 2.5 M rows a day)
        steps.view(f"marts/say_do/{path}/value_statuses", {})
        periods = say_do_params(conn, bound, EVERY_PERIOD if since is None else since, answers)
        if since is None:
            engine.create_table(conn, "marts/say_do", periods)
        else:
            engine.replace_keys(
                conn,
                "marts/say_do",
                periods,
                key=(*PERIOD_KEY, "customer_id"),
                keep="marts/say_do/say_do_kept",
            )
        record_build(conn, record, json.dumps(inputs, sort_keys=True))
    if since is None:
        return f"full (status from {source})"
    answered = f", answers {answers[0]} to {answers[1]}" if answers else ""
    return f"from {since}{answered} (status from {source})"


def _say_do_reach(
    days: int, changed: dt.date | None, stored_last: dt.date, now_last: dt.date, moved: set
) -> tuple[dt.date, tuple[dt.date, dt.date] | None]:
    """(since, answers) of an incremental say_do build (_build_say_do): the periods ending on or
    after `since` are recomputed in full, in the others the answers on a day from answers[0] to
    answers[1]. `since` after the last stored day when no data changed (no period in full)."""
    window, one = dt.timedelta(days=days), dt.timedelta(days=1)
    since = now_last + one if changed is None else changed
    if now_last < stored_last:  # days dropped: the periods that ended on them end earlier now
        since = min(since, now_last)
    firsts = [min(stored_last, now_last) - window]
    if changed is not None:
        firsts.append(changed - window)
    if moved:
        firsts.append(dt.date.fromisoformat(min(day for day, _ in moved)) - window)
    first, last = min(firsts), max(stored_last, now_last) - window
    return since, ((first, last) if first <= last else None)


def _build_service_impact(
    conn: duckdb.DuckDBPyConnection, settings: Settings, params: dict[str, Any]
) -> str:
    """service_impact, incrementally: the periods whose tickets' windows or SLA verdicts were
    still open on the last stored day of the previous build or of this one, and the periods whose
    tickets, windows or strata hold a day whose data changed since (a changed day x moves the
    outcome of tickets opened up to `window_days` before it); every other period is kept. In full
    for a first build, other settings or a replaced row (periods.changed_since)."""
    bound = {**metric_params(settings), **params}
    fingerprint = json.dumps(bound, sort_keys=True, default=str)
    engine.execute_file(conn, "bookkeeping/period_build_state.sql")
    changed = changed_since(conn, "service_impact", fingerprint)
    stored_last = (
        engine.scalar(conn, "select max(end_as_of) from service_impact")
        if changed != FULL
        else None
    )
    now_last = engine.scalar(conn, "select max(end_as_of) from report_periods")
    state = ["service_impact", dt.datetime.now(dt.UTC).replace(tzinfo=None), loads_seen(conn)]
    if changed == FULL or stored_last is None or now_last is None:
        with engine.transaction(conn):
            engine.create_table(
                conn, "marts/service_impact", orders_from(conn, {**bound, "since": EVERY_PERIOD})
            )
            record_build(conn, [*state, fingerprint])
        return "full"
    # a ticket opened on day t is settled once t + window_days and its SLA deadline have passed
    sla_days = math.ceil(
        max(bound["sla_urgent_hours"], bound["sla_important_hours"], bound["sla_general_hours"])
        / 24
    )
    reach = dt.timedelta(days=max(params["window_days"], sla_days) + 1)
    open_since = min(stored_last, now_last) - reach
    since = open_since if changed is None else min(open_since, changed - reach)
    with engine.transaction(conn):
        engine.replace_keys(
            conn,
            "marts/service_impact",
            orders_from(conn, {**bound, "since": since}),
            key=PERIOD_KEY,
            keep="marts/report_periods_before",
        )
        record_build(conn, [*state, fingerprint])
    return f"from {since}"


def compute_insights(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    for name in INSIGHT_TABLES:
        compute_insight_table(conn, settings, name)


def insight_summary(conn: duckdb.DuckDBPyConnection, name: str) -> str:
    """Markdown: per period type, the periods held and those with any counted outcome (no
    customer appears)."""
    table = quote_ident(name)
    counted = (
        "breached_customers + met_customers > 0" if name == "service_impact" else "window_elapsed"
    )
    return markdown_table(
        conn,
        f"select period_type, count(distinct period_start) as periods, "
        f"count(distinct period_start) filter (where {counted}) as periods_with_outcomes, "
        f"min(period_start) as first, max(period_start) as last from {table} "
        f"group by period_type order by period_type",
    )
