"""What a run asks before it reuses what it stored (docs/metrics.md): whether stored snapshot days
still hold (`stored_days_current`: a one-day run carries the day before forward, the KPI board reads
stored days), and from which day a period mart's inputs changed since its last build
(`periods.changed_since`). Each answer is one query; these tests hold each rule on its own: a late
order or ticket reaches the days on or after its date only, a replaced key reaches every day, a
survey never reaches a snapshot day, other thresholds reach everything."""

from __future__ import annotations

import datetime as dt

from loyalty import engine
from loyalty.ingest import ingest_source
from loyalty.marts.periods import FULL, changed_since, compute_period_table
from loyalty.marts.snapshot import compute_snapshot, stored_days_current
from loyalty.marts.staging import build_staging
from loyalty.metric_params import snapshot_params_json
from loyalty.settings import Settings
from tests.test_ingest import ORDERS_HEADER
from tests.test_snapshot_scale import END, _loaded

TICKETS_HEADER = (
    "ticket_id,customer_id,opened_at,first_response_at,resolved_at,category,priority,channel,"
    "satisfaction\n"
)
SURVEYS_HEADER = "response_id,customer_id,responded_at,nps,csat,ces,comment\n"
FIRST = END - dt.timedelta(days=9)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def _land(settings: Settings, kind: str, name: str, text: str) -> None:
    (settings.landing_path / name).write_text(text, encoding="utf-8")
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, kind)


def _holds(settings: Settings, days: list[dt.date], params_json: str | None = None) -> bool:
    with engine.connect(settings) as conn:
        return stored_days_current(conn, days, params_json or snapshot_params_json(settings))


def test_stored_days_hold_until_a_load_reaches_them(tmp_path):
    settings = _loaded(tmp_path, None)
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, FIRST, END)
    stored = _days(FIRST, END)
    assert _holds(settings, stored)
    assert _holds(settings, [])
    assert not _holds(settings, stored, params_json='{"other": "thresholds"}')
    assert not _holds(settings, [FIRST - dt.timedelta(days=1)])  # never stored
    assert not _holds(settings, [FIRST, END + dt.timedelta(days=1)])

    # a late order dated on day END - 5: that day and the later ones no longer hold
    late_order = END - dt.timedelta(days=5)
    _land(
        settings,
        "orders",
        "orders_late.csv",
        ORDERS_HEADER + f"LATE-1,C000001,{late_order} 12:00:00,50.00,completed,,web\n",
    )
    before_it = _days(FIRST, late_order - dt.timedelta(days=1))
    assert _holds(settings, before_it)
    assert not _holds(settings, [late_order])
    assert not _holds(settings, [END])
    assert not _holds(settings, [*before_it, END])

    # stored again from that day on, every day holds; then a late ticket dated two days earlier
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, late_order, END)
    assert _holds(settings, stored)
    late_ticket = late_order - dt.timedelta(days=2)
    _land(
        settings,
        "tickets",
        "tickets_late.csv",
        TICKETS_HEADER + f"LATE-T1,C000002,{late_ticket} 09:00:00,,,billing,general,email,\n",
    )
    assert _holds(settings, _days(FIRST, late_ticket - dt.timedelta(days=1)))
    assert not _holds(settings, [late_ticket])
    assert not _holds(settings, [late_order])  # stored after the order, before the ticket
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, late_ticket, END)
    assert _holds(settings, stored)

    # an order dated after every stored day, and a survey answer on a stored day: nothing moves
    _land(
        settings,
        "orders",
        "orders_next.csv",
        ORDERS_HEADER
        + f"NEXT-1,C000003,{END + dt.timedelta(days=1)} 08:00:00,9.99,completed,,web\n",
    )
    _land(
        settings,
        "surveys",
        "surveys_late.csv",
        SURVEYS_HEADER + f"LATE-R1,C000004,{FIRST} 10:00:00,9,5,,\n",
    )
    assert _holds(settings, stored)

    # the same order delivered again with another amount replaces its key: no day holds
    _land(
        settings,
        "orders",
        "orders_restated.csv",
        ORDERS_HEADER + f"LATE-1,C000001,{late_order} 12:00:00,55.00,completed,,web\n",
    )
    with engine.connect(settings) as conn:
        replaced = engine.scalar(conn, "select sum(keys_replaced) from ingest_log")
    assert replaced >= 1
    assert not _holds(settings, [FIRST])


def _changed(settings: Settings, name: str, fingerprint: str | None = None):
    with engine.connect(settings) as conn:
        if fingerprint is None:
            fingerprint = engine.scalar(
                conn, "select params_json from period_build_state where table_name = ?", [name]
            )
        return changed_since(conn, name, fingerprint)


def test_a_period_mart_recomputes_from_the_first_day_that_changed(tmp_path):
    settings = _loaded(tmp_path, None)
    with engine.connect(settings) as conn:
        ingest_source(conn, settings, "surveys")
        build_staging(conn, settings, "stg_surveys")
        compute_snapshot(conn, settings, FIRST, END - dt.timedelta(days=2))
        compute_period_table(conn, settings, "report_periods")
        assert compute_period_table(conn, settings, "nps_period") == "full"
    assert _changed(settings, "nps_period") is None
    assert _changed(settings, "nps_period", fingerprint="{}") == FULL
    assert _changed(settings, "retention_period", fingerprint="{}") == FULL  # never built

    # a new snapshot day, then a survey answer dated before it, then an older ticket
    new_day = END - dt.timedelta(days=1)
    with engine.connect(settings) as conn:
        compute_snapshot(conn, settings, new_day, new_day)
    assert _changed(settings, "nps_period") == new_day
    answered = END - dt.timedelta(days=4)
    _land(
        settings,
        "surveys",
        "surveys_late.csv",
        SURVEYS_HEADER + f"LATE-R1,C000004,{answered} 10:00:00,9,5,,\n",
    )
    assert _changed(settings, "nps_period") == answered
    opened = END - dt.timedelta(days=6)
    _land(
        settings,
        "tickets",
        "tickets_late.csv",
        TICKETS_HEADER + f"LATE-T1,C000002,{opened} 09:00:00,,,billing,general,email,\n",
    )
    assert _changed(settings, "nps_period") == opened
    ordered = END - dt.timedelta(days=8)
    _land(
        settings,
        "orders",
        "orders_late.csv",
        ORDERS_HEADER + f"LATE-1,C000001,{ordered} 12:00:00,50.00,completed,,web\n",
    )
    assert _changed(settings, "nps_period") == ordered

    # built again: nothing changed since; then a replaced order key: everything
    with engine.connect(settings) as conn:
        assert compute_period_table(conn, settings, "nps_period") == f"from {ordered}"
    assert _changed(settings, "nps_period") is None
    _land(
        settings,
        "orders",
        "orders_restated.csv",
        ORDERS_HEADER + f"LATE-1,C000001,{ordered} 12:00:00,55.00,completed,,web\n",
    )
    assert _changed(settings, "nps_period") == FULL
