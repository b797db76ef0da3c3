"""The report's per-segment reads, made once for every segment (reports/queries.py `segment_reads`,
reports/digest.py `read_digests`, the say-do cells in reports/insight.py): each query groups by tier
and for `all` at once, and each segment takes its rows. Every segment's figures must equal the same
figures counted here in Python from the rows of the view (`customer_snapshot`) and of `say_do`, one
segment at a time (P(alive)'s bins: tests/test_reports_value.py; the NPS digest:
tests/test_reports_digest.py): a row given to the wrong segment, a tier's rows missing from `all`,
or `all` limited to the tiers where it means everyone, each fails."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from typing import Any

import pytest

from loyalty import engine
from loyalty.reports.insight import RISK_STATUSES
from loyalty.reports.queries import week_data
from loyalty.vocab import ALL, CHURN_FLAGS, TIER_KEYS, TIERS
from tests import test_reports_fixture_db as fx
from tests.test_reports_fixture_db import report_db  # noqa: F401 (fixture)


def _rows(conn, query: str, params: list | None = None) -> list[dict[str, Any]]:
    rel = conn.execute(query, params or [])
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def _members(rows: list[dict], segment: str, key: str = "tier") -> list[dict]:
    """A segment's rows: a tier's own, or for `all` every row whose tier is one of the tiers."""
    return [r for r in rows if (r[key] in TIERS if segment == ALL else r[key] == segment)]


@pytest.fixture(scope="module")
def read(tmp_path_factory, report_db):  # noqa: F811
    settings = fx.workspace(
        tmp_path_factory.mktemp("segment_reads"),
        report_db,
        reports={"segments": list(TIER_KEYS), "comments_per_class": 2},
    )
    with engine.connect(settings, read_only=True) as conn:
        data = week_data(conn, settings, fx.WEEK)
        day, week_ago = fx.DAY, fx.DAY - dt.timedelta(days=7)
        raw = {
            "snapshot": _rows(conn, "select * from customer_snapshot where as_of = ?", [day]),
            "week_ago": _rows(
                conn, "select customer_id, tier from customer_snapshot where as_of = ?", [week_ago]
            ),
            "say_do": _rows(
                conn,
                "select * from say_do where period_type = 'month' and period_start = ? "
                "and window_elapsed",
                [data.insight.say_do_period],
            ),
        }
    return settings, data, raw


def test_every_segments_counts_and_distribution_are_its_customers(read):
    _, data, raw = read
    for seg in TIER_KEYS:
        mine = _members(raw["snapshot"], seg)
        shown = data.segments[seg]
        assert shown.customers_total == len(mine) > 0, seg
        assert shown.cards["active_customers"] == sum(r["is_active"] for r in mine), seg
        assert shown.cards["monetary_total"] == pytest.approx(
            float(sum(r["monetary"] for r in mine)), abs=1e-6
        )
        assert math.isclose(
            shown.cards["avg_score"], sum(r["rfm_score"] for r in mine) / len(mine), rel_tol=1e-12
        )
        assert shown.churn_reasons == {
            **{flag: sum(bool(r[flag]) for r in mine) for flag in CHURN_FLAGS},
            "churn_risk": shown.cards["at_risk_customers"],
        }
        by_segment = Counter(r["segment"] for r in mine)
        expected = sorted(by_segment.items(), key=lambda kv: (-kv[1], kv[0]))
        assert [(r["segment"], r["customers"]) for r in shown.segment_distribution] == expected


def test_every_segments_tier_moves(read):
    _, data, raw = read
    before = {r["customer_id"]: r["tier"] for r in raw["week_ago"]}
    after = {r["customer_id"]: r["tier"] for r in raw["snapshot"]}
    moves = Counter(
        (before.get(c, "new"), after.get(c, "left")) for c in before.keys() | after.keys()
    )
    assert any(a != b for a, b in moves if a in TIERS and b in TIERS), "the week moves tiers"
    for seg in TIER_KEYS:
        shown = data.segments[seg]
        wanted = sorted(
            (a, b, n)
            for (a, b), n in moves.items()
            if (seg == ALL and (a in TIERS or b in TIERS)) or seg in (a, b)
        )
        assert [(r["prev_tier"], r["cur_tier"], r["customers"]) for r in shown.migration] == wanted


def test_every_segments_say_do_cells_are_its_answers(read):
    _, data, raw = read
    people = raw["say_do"]
    assert {p["tier"] for p in people} & set(TIERS), "the month's answers have tiers"
    for seg in TIER_KEYS:
        mine = people if seg == ALL else [p for p in people if p["tier"] == seg]
        cells: dict[tuple, list] = defaultdict(lambda: [0, 0, 0.0, 0.0, 0])
        for p in mine:
            c = cells[(p["nps_class"], p["behaviour"])]
            c[0] += 1
            c[1] += p["orders_after"]
            c[2] += float(p["value_after"])
            c[3] += float(p["value_before"])
            c[4] += p["status_at_end"] in RISK_STATUSES
        shown = data.insight.say_do_cells[seg]
        assert [(r["nps_class"], r["behaviour"]) for r in shown] == sorted(cells), seg
        for r in shown:
            n, orders, after, before, risk = cells[(r["nps_class"], r["behaviour"])]
            assert (r["customers"], r["orders_after"], r["at_risk_at_end"]) == (n, orders, risk)
            assert r["value_after"] == pytest.approx(after) and r["value_before"] == pytest.approx(
                before
            )
        assert data.insight.say_do_totals[seg] == len(mine)


def test_a_tier_without_customers_shows_the_counts_of_no_rows(tmp_path, report_db):  # noqa: F811
    """A segment whose tier holds nobody on D has no row in the grouped read: its cards are what
    an aggregate over no rows gives (0 customers, 0.0 value, no average score), as when each
    segment was counted on its own, and its lists and distributions are empty."""
    settings = fx.workspace(tmp_path, report_db, reports={"segments": list(TIER_KEYS)})
    with engine.connect(settings) as conn:
        for part in ("customer_state_current", "customer_state_closed"):  # the view's two tables
            conn.execute(f"update {part} set tier = 'B' where tier = 'C'")
        (empty,) = _rows(
            conn,
            "select count(*) as customers, count(*) filter (where is_active) as active, "
            "coalesce(sum(monetary), 0)::double as money, avg(rfm_score) as score "
            "from customer_snapshot where as_of = ? and tier = 'C'",
            [fx.DAY],
        )
        data = week_data(conn, settings, fx.WEEK)
    shown = data.segments["C"]
    assert empty == {"customers": 0, "active": 0, "money": 0.0, "score": None}
    assert (
        shown.customers_total,
        shown.cards["active_customers"],
        shown.cards["monetary_total"],
        shown.cards["avg_score"],
    ) == tuple(empty.values())
    assert all(shown.churn_reasons[flag] == 0 for flag in CHURN_FLAGS)
    assert shown.segment_distribution == [] and shown.customers == [] and shown.at_risk == []
    assert data.segments["B"].customers_total > 0
