"""Everything the reports read from the database for ISO week W as of its last day D.

Each read is one query of sql/reports/ run through `engine.query_file` with named parameters (values
are bound, never formatted into SQL); this module turns the rows into the plain data of
`reports.model`. The marts are written by the metrics assets and read here with their real columns
(README "Database tables"). No metric is computed here beyond counting rows of a snapshot: every rate
comes from its mart. Names and orders (tiers, KPIs, priorities, churn flags) come from
`loyalty.vocab`.

Tables read: customer_snapshot, kpi_daily, retention_period, repurchase_period, nps_period,
service_period, cohort_retention, snapshot_params (the thresholds used), ingest_log, quarantine and
the contract tables (completeness, freshness), customers.email (masked inside SQL: the raw address
never reaches Python); the churn-and-value model's tables through reports/value.py.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb

from loyalty import engine
from loyalty.contracts import CONTRACTS
from loyalty.metric_params import snapshot_params_json
from loyalty.reports import insight, lists, value
from loyalty.reports.actions import read_actions
from loyalty.reports.digest import digest_of, read_digests
from loyalty.reports.model import SegmentData, ValueData, WeekData
from loyalty.settings import Settings
from loyalty.vocab import (
    ALL,
    CHURN_FLAGS,
    KPI_NAMES,
    MONEY_KPIS,
    PRIORITIES,
    RATE_KPIS,
    TIER_KEYS,
    TIERS,
)
from loyalty.weeks import Week


def _query(conn: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    return engine.query_file(conn, f"reports/{name}.sql", params)


# --------------------------------------------------------------------------------------------
# shared by all segments


def kpi_board(conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date) -> list[dict]:
    rows = _query(conn, "kpi_board", as_of=day, kpi_names=list(KPI_NAMES))
    for r in rows:
        kpi_settings = settings.kpis.get(r["kpi"])
        r["low_sample"] = r["n"] < settings.metrics.nps_low_sample
        r["is_rate"] = r["kpi"] in RATE_KPIS
        r["is_money"] = r["kpi"] in MONEY_KPIS
        r["owner"] = r["owner"] or (kpi_settings.owner if kpi_settings else "")
    return rows


def kpi_trend(conn: duckdb.DuckDBPyConnection, week: Week, weeks: int) -> list[dict]:
    days = [week.back(i).end for i in range(weeks - 1, -1, -1)]
    return _query(conn, "kpi_trend", days=days)


def tier_distribution(conn: duckdb.DuckDBPyConnection, day: dt.date) -> list[dict]:
    rows = _query(conn, "tier_distribution", as_of=day)
    total = sum(r["customers"] for r in rows) or 1
    for r in rows:
        r["share"] = r["customers"] / total
    return rows


def cohort_matrix(conn: duckdb.DuckDBPyConnection) -> dict | None:
    """Cohort cells and the size-weighted average row, both as stored by the cohort mart."""
    rows = _query(conn, "cohort_matrix")
    if not rows:
        return None
    cohorts: dict[dt.date, dict] = {}
    average_by_k: dict[int, float | None] = {}
    for r in rows:
        if r["is_average"]:
            average_by_k[r["k"]] = r["share"]
            continue
        co = cohorts.setdefault(
            r["cohort"], {"cohort": r["cohort"], "size": r["size"], "cells": {}}
        )
        co["cells"][r["k"]] = {"share": r["share"], "complete": bool(r["complete"])}
    ks = list(range(max(r["k"] for r in rows) + 1))
    average = [average_by_k.get(k) for k in ks] if average_by_k else None
    return {"ks": ks, "cohorts": list(cohorts.values()), "average": average}


def service_levels(conn: duckdb.DuckDBPyConnection, week: Week) -> list[dict]:
    """One row per priority, most urgent first, the total (`all`) last."""
    return _query(conn, "service_levels", period_start=week.start, priorities=[*PRIORITIES, ALL])


def data_quality(conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date) -> dict:
    """Cumulative ingest figures of the database, completeness and freshness as of D."""
    sources = _query(conn, "ingest_sources")
    for s in sources:
        s["quarantine_share"] = s["rows_quarantined"] / s["rows_read"] if s["rows_read"] else None
    # the optional columns of each contract, PII left out except email (shown masked elsewhere)
    shown = {
        f"{kind}_columns": [
            c.name for c in contract.columns if not c.required and (not c.pii or c.name == "email")
        ]
        for kind, contract in CONTRACTS.items()
    }
    completeness = _query(conn, "completeness", kinds=list(CONTRACTS), **shown)
    (last,) = _query(conn, "last_order_day", as_of=day)
    last_order_day = last["last_order_day"]
    days_behind = (day - last_order_day).days if last_order_day else None
    return {
        "sources": sources,
        "reasons": _query(conn, "quarantine_reasons"),
        "completeness": completeness,
        "freshness": {
            "last_order_day": last_order_day,
            "days_behind": days_behind,
            "stale": days_behind is None or days_behind > settings.ingest.freshness_days,
            "allowed_days": settings.ingest.freshness_days,
        },
    }


def thresholds_used(
    conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date
) -> list[tuple[str, Any]]:
    """The thresholds stored with D's snapshot (snapshot_params), as (name, value) pairs of its JSON;
    the settings' values (the same JSON) when no snapshot on or before D stored any. Formatted for
    display by reports/thresholds_view.py."""
    stored = _query(conn, "thresholds", as_of=day)
    text = stored[0]["params_json"] if stored else snapshot_params_json(settings)
    return list(json.loads(text).items())


# --------------------------------------------------------------------------------------------
# per segment


COUNT_DEFAULTS = {  # the counts of a segment without customers (no row in segment_counts)
    "customers": 0,
    "active_customers": 0,
    "at_risk_customers": 0,
    "monetary_total": 0.0,
    "avg_score": None,
    **{flag: 0 for flag in CHURN_FLAGS},
}


@dataclass
class SegmentReads:
    """What the segments' reports read of the marts and the snapshot, one query per kind for every
    segment: each query groups by tier and for `all` at once (GROUPING SETS), or reads every tier's
    rows, and each segment takes its own (on Spark each query is a job, not a few milliseconds)."""

    periods: dict[str, list[dict[str, Any]]]  # mart -> weekly rows of `all` and every tier
    counts: dict[str, dict[str, Any]]
    distribution: dict[str, list[dict[str, Any]]]
    migration: list[dict[str, Any]]  # every move from or to a tier
    p_alive_bins: dict[str, list[dict[str, Any]]]

    def period_rows(self, mart: str, segment: str) -> list[dict[str, Any]]:
        """The weekly rows of a period mart: for `all`, the whole base and every tier."""
        return [dict(r) for r in self.periods[mart] if segment in (ALL, r["tier"])]

    def moves(self, segment: str) -> list[dict[str, Any]]:
        """The tier moves from or to the segment's tiers."""
        return [
            dict(r)
            for r in self.migration
            if segment == ALL or segment in (r["prev_tier"], r["cur_tier"])
        ]


def segment_reads(
    conn: duckdb.DuckDBPyConnection, settings: Settings, week: Week, model: ValueData
) -> SegmentReads:
    day = week.end
    weeks = [week.back(i).start for i in range(settings.reports.trend_weeks - 1, -1, -1)]
    tiers, on_day = list(TIERS), {"as_of": day, "tiers": list(TIERS), "all_key": ALL}
    bins = value.p_alive_bins(conn, model, tiers)
    return SegmentReads(
        periods={
            mart: _query(conn, f"{mart}_weeks", period_starts=weeks, tiers=list(TIER_KEYS))
            for mart in ("retention", "repurchase", "nps")
        },
        counts={
            seg: rows[0]
            for seg, rows in lists.by_segment(_query(conn, "segment_counts", **on_day)).items()
        },
        distribution=lists.by_segment(_query(conn, "segment_distribution", **on_day)),
        migration=_query(
            conn, "tier_migration", as_of=day, previous_day=day - dt.timedelta(days=7), tiers=tiers
        ),
        p_alive_bins=lists.by_segment(bins),
    )


def segment_data(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    week: Week,
    segment: str,
    detail: bool = True,
    model: ValueData | None = None,
    reads: SegmentReads | None = None,
    digests: dict[str, dict[str, Any]] | None = None,
) -> SegmentData:
    """One segment's data; detail=False skips the customer-level lists (the email needs none).

    When the model's scores are used (`model`), the at-risk count and list are the model's
    (status at_risk, by value at risk), and the segment's value at risk is shown; else the rules'."""
    model = model or ValueData()
    reads = reads or segment_reads(conn, settings, week, model)
    if detail and digests is None:
        digests = read_digests(conn, settings, week)
    day = week.end
    weeks = [week.back(i) for i in range(settings.reports.trend_weeks - 1, -1, -1)]
    retention = reads.period_rows("retention", segment)
    repurchase = reads.period_rows("repurchase", segment)
    nps = reads.period_rows("nps", segment)

    def this_week(rows: list[dict]) -> dict:
        return next(
            (r for r in rows if r["period_start"] == week.start and r["tier"] == segment), {}
        )

    ret_w, rep_w, nps_w = this_week(retention), this_week(repurchase), this_week(nps)
    before = week.back(1).start  # last week: the cards' week-over-week change

    def last_week(rows: list[dict]) -> dict:
        return next((r for r in rows if r["period_start"] == before and r["tier"] == segment), {})

    ret_b, rep_b, nps_b = last_week(retention), last_week(repurchase), last_week(nps)
    counts = reads.counts.get(segment, COUNT_DEFAULTS)
    cards = {
        "customers": counts["customers"],
        "active_customers": counts["active_customers"],
        "at_risk_customers": counts["at_risk_customers"],
        "monetary_total": counts["monetary_total"],
        "avg_score": counts["avg_score"],
        "week_kept_rate": ret_w.get("kept_rate"),
        "week_kept_n": ret_w.get("start_count"),
        "week_kept_low": ret_w.get("kept_rate_low"),
        "week_kept_high": ret_w.get("kept_rate_high"),
        "week_retention_rate": ret_w.get("retention_rate"),
        "week_repurchase_rate": rep_w.get("repurchase_rate"),
        "week_repurchase_n": rep_w.get("buyers"),
        "week_repurchase_low": rep_w.get("repurchase_rate_low"),
        "week_repurchase_high": rep_w.get("repurchase_rate_high"),
        "week_nps": nps_w.get("nps"),
        "week_nps_moe95": nps_w.get("nps_moe95"),
        "week_nps_n": nps_w.get("responses"),
        "week_nps_low_sample": nps_w.get("low_sample"),
        "week_nps_low": nps_w.get("nps_low"),
        "week_nps_high": nps_w.get("nps_high"),
        "week_nps_se": nps_w.get("nps_std_error"),
        # last week's values and the thresholds of the change test (metrics.uncertainty)
        "last_week": {
            "kept_rate": ret_b.get("kept_rate"),
            "kept_n": ret_b.get("start_count"),
            "repurchase_rate": rep_b.get("repurchase_rate"),
            "repurchase_n": rep_b.get("buyers"),
            "nps": nps_b.get("nps"),
            "nps_n": nps_b.get("responses"),
            "nps_se": nps_b.get("nps_std_error"),
        },
        "uncertainty": settings.metrics.uncertainty.model_dump(),
    }
    churn_reasons = {flag: counts[flag] for flag in CHURN_FLAGS}
    churn_reasons["churn_risk"] = counts["at_risk_customers"]
    risk = value.segment_risk(model, segment)
    cards["value_at_risk"] = risk["value_at_risk"] if risk else None
    cards["clv"] = risk["clv"] if risk else None
    if model.model_used:  # the at-risk list's source counts its customers
        cards["at_risk_customers"] = risk["at_risk_customers"] if risk else 0

    def series(rows: list[dict], col: str) -> dict[dt.date, Any]:
        return {r["period_start"]: r[col] for r in rows if r["tier"] == segment}

    kept, rep = series(retention, "kept_rate"), series(repurchase, "repurchase_rate")
    segment_trend = [
        {
            "period_start": w.start,
            "week_end": w.end,
            "kept_rate": kept.get(w.start),
            "repurchase_rate": rep.get(w.start),
        }
        for w in weeks
    ]

    if detail:
        # the sheets' rows: the top `workbook_customer_rows` by value, as plain tuples
        cap = settings.reports.workbook_customer_rows
        # the at-risk list's top N are the first rows of the sheet's (one query, not two)
        top_n = settings.reports.at_risk_top_n
        columns, churn_warnings = lists.top_rows(
            conn, "churn_warnings", day, segment, max(cap, top_n), model
        )
        at_risk = [dict(zip(columns, row, strict=True)) for row in churn_warnings[:top_n]]
        del churn_warnings[cap:]
        customers = lists.top_tuples(conn, "customers", day, segment, cap)
        for r in at_risk:
            r["reasons"] = [flag for flag in CHURN_FLAGS if r[flag]]
    else:
        churn_warnings, customers, at_risk = [], [], []

    return SegmentData(
        segment=segment,
        cards=cards,
        segment_trend=segment_trend,
        nps_trend=[r for r in nps if r["tier"] == segment],
        segment_distribution=reads.distribution.get(segment, []),
        migration=reads.moves(segment),
        churn_reasons=churn_reasons,
        at_risk=at_risk,
        churn_warnings=churn_warnings,
        customers=customers,
        customers_total=counts["customers"],
        churn_warnings_total=cards["at_risk_customers"],
        retention=retention,
        repurchase=repurchase,
        nps=nps,
        p_alive_bins=reads.p_alive_bins.get(segment, []),
        at_risk_source="model" if model.model_used else "rules",
        digest=digest_of(digests, segment, settings) if detail and digests is not None else {},
    )


def week_data(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    week: Week,
    segments: list[str] | None = None,
    detail: bool = True,
) -> WeekData:
    """Read everything for week W (as of its last day) for the given segments (default: settings)."""
    day = week.end
    data = WeekData(
        week=week,
        kpis=kpi_board(conn, settings, day),
        kpi_trend=kpi_trend(conn, week, settings.reports.trend_weeks),
        tier_distribution=tier_distribution(conn, day),
        cohort=cohort_matrix(conn),
        sla=service_levels(conn, week),
        quality=data_quality(conn, settings, day),
        thresholds=thresholds_used(conn, settings, day),
        value=value.value_data(conn, settings, week),
        kpi_window_days=settings.metrics.kpi_window_days,
        order_volume=order_volume(conn, week),
        uncertainty=settings.metrics.uncertainty.model_dump(),
    )
    reads = segment_reads(conn, settings, week, data.value)
    digests = read_digests(conn, settings, week) if detail else None
    for seg in segments or settings.reports.segments:
        data.segments[seg] = segment_data(
            conn, settings, week, seg, detail, data.value, reads, digests
        )
    data.insight = insight.insight_data(conn, settings, week, list(data.segments), detail)
    data.actions = read_actions(conn, settings, week, list(data.segments), detail)
    return data


ORDER_VOLUME_WEEKS = 8  # the weeks before the report week its order count is compared with


def order_volume(conn: duckdb.DuckDBPyConnection, week: Week) -> dict[str, Any] | None:
    """Counted orders in the report week and the weekly average of the ORDER_VOLUME_WEEKS before."""
    if not engine.table_exists(conn, "stg_orders"):
        return None
    rows = _query(conn, "week_orders", week_start=week.start, weeks=ORDER_VOLUME_WEEKS)
    before = [r["orders"] for r in rows if r["week_start"] < week.start]
    this = next((r["orders"] for r in rows if r["week_start"] == week.start), 0)
    return {
        "orders": this,
        "average": sum(before) / len(before) if before else None,
        "weeks": len(before),
    }


def snapshot_exists(conn: duckdb.DuckDBPyConnection, day: dt.date) -> bool:
    return bool(_query(conn, "snapshot_stored", as_of=day)[0]["stored"])
