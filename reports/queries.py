"""Everything the reports read from the database, in one module.

The marts (SPEC §10) are written by the metrics assets; this module only reads them and returns plain
Python data (numbers, dates, strings) for week W as of its last day. When a mart's columns change,
this is the one file to adapt. No metric is computed here beyond counting rows of a snapshot: every
rate comes from its mart. Values are bound as parameters, never formatted into SQL.

Tables read (columns used):
- customer_snapshot: as_of, customer_id, last_order_at, recency_days, frequency, monetary, r, f, m,
  rfm_score, tier, segment, lifecycle_stage, is_active, inactive, complaints, activity_drop,
  churn_risk, flagged_since
- kpi_daily: as_of, kpi, value, target, direction, change_7d, flag (+ n, low_sample when present)
- retention_period, repurchase_period, nps_period (period_type 'week', per tier), service_period
- the cohort table and the thresholds-per-snapshot table (names resolved from COHORT_TABLES and
  THRESHOLD_TABLES; absent tables show "not available")
- ingest_log, quarantine, and the contract tables for completeness and freshness
- customers.email, masked inside SQL (the raw address never reaches Python)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
from loyalty.contracts import CONTRACTS
from loyalty.metric_params import KPI_NAMES
from loyalty.settings import Settings

TIERS = ("A", "B", "C", "D")
KPI_ORDER = KPI_NAMES  # display order of the KPI board
# KPIs whose value is a share (shown as %); the others are points (NPS).
RATE_KPIS = frozenset(KPI_ORDER) - {"nps"}
PRIORITIES = ("urgent", "important", "general", "all")
CHURN_REASONS = ("inactive", "complaints", "activity_drop")

# The metrics engineer's table names for the two tables SPEC §10 does not name.
COHORT_TABLES = ("cohort_retention",)
THRESHOLD_TABLES = ("snapshot_params",)
# Column aliases in the cohort table: first present wins.
COHORT_COLUMNS = {
    "cohort": ("cohort_month", "cohort", "cohort_start"),
    "k": ("month_offset", "months_since", "offset_months", "k", "month_index"),
    "size": ("size", "cohort_size"),
    "share": ("share", "retention_share", "retained_share", "rate", "active_share"),
    "complete": ("is_complete", "complete"),
    "incomplete": ("is_incomplete", "incomplete"),
}
EXCEL_MAX_ROWS = 1_048_575  # one row is the header


@dataclass(frozen=True)
class Week:
    start: dt.date  # Monday
    end: dt.date  # Sunday: "as of" day D

    @property
    def label(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @classmethod
    def from_partition_key(cls, key: str) -> Week:
        start = dt.date.fromisoformat(key[:10])
        if start.isoweekday() != 1:
            raise ValueError(f"weekly partition {key!r} does not start on a Monday")
        return cls(start, start + dt.timedelta(days=6))

    def back(self, weeks: int) -> Week:
        s = self.start - dt.timedelta(weeks=weeks)
        return Week(s, s + dt.timedelta(days=6))


@dataclass
class SegmentData:
    """Everything one segment's report shows, as typed values (no display strings)."""

    segment: str
    cards: dict[str, Any]
    segment_trend: list[dict[str, Any]]
    nps_trend: list[dict[str, Any]]
    segment_distribution: list[dict[str, Any]]
    migration: list[dict[str, Any]]
    churn_reasons: dict[str, int]
    at_risk: list[dict[str, Any]]
    # the top reports.workbook_customer_rows by value, as tuples in CHURN_FIELDS / CUSTOMER_FIELDS order
    churn_warnings: list[tuple[Any, ...]]
    customers: list[tuple[Any, ...]]
    customers_total: int  # every customer of the segment on D
    churn_warnings_total: int  # every at-risk customer of the segment on D
    retention: list[dict[str, Any]]
    repurchase: list[dict[str, Any]]
    nps: list[dict[str, Any]]


@dataclass
class WeekData:
    """One week's report data: what every segment shares plus each segment's part."""

    week: Week
    kpis: list[dict[str, Any]]
    kpi_trend: list[dict[str, Any]]
    tier_distribution: list[dict[str, Any]]
    cohort: dict[str, Any] | None
    sla: list[dict[str, Any]]
    quality: dict[str, Any]
    thresholds: list[tuple[str, str]]
    segments: dict[str, SegmentData] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# helpers


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_name = ? "
            "order by ordinal_position",
            [table],
        ).fetchall()
    ]


def _exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(_columns(conn, table))


def _ident(name: str) -> str:
    # identifiers come from information_schema or constants, never from input; quote anyway
    return '"' + name.replace('"', '""') + '"'


def _segment_filter(segment: str, column: str = "tier") -> tuple[str, list[Any]]:
    if segment == "all":
        return "true", []
    return f"{column} = ?", [segment]


# --------------------------------------------------------------------------------------------
# shared by all segments


def kpi_board(conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date) -> list[dict]:
    cols = set(_columns(conn, "kpi_daily"))
    if not cols:
        return []
    extra = ", ".join(c for c in ("n", "low_sample", "owner") if c in cols)
    rows = _rows(
        conn,
        f"""select kpi, value::double as value, target::double as target, direction,
                   change_7d::double as change_7d, flag {", " + extra if extra else ""}
            from kpi_daily where as_of = ?""",
        [day],
    )
    by_kpi = {r["kpi"]: r for r in rows}
    order = [k for k in KPI_ORDER if k in by_kpi] + sorted(set(by_kpi) - set(KPI_ORDER))
    out = []
    for k in order:
        r = by_kpi[k]
        n = r.get("n")
        low = r.get("low_sample")
        if low is None:
            low = n is not None and n < settings.metrics.nps_low_sample
        kpi_settings = settings.kpis.get(k)
        out.append(
            {
                **r,
                "n": None if n is None else int(n),
                "low_sample": bool(low),
                "is_rate": k in RATE_KPIS,
                "owner": r.get("owner") or (kpi_settings.owner if kpi_settings else ""),
            }
        )
    return out


def kpi_trend(conn: duckdb.DuckDBPyConnection, week: Week, weeks: int) -> list[dict]:
    if not _exists(conn, "kpi_daily"):
        return []
    days = [week.back(i).end for i in range(weeks - 1, -1, -1)]
    return _rows(
        conn,
        """select as_of, kpi, value::double as value from kpi_daily
           where as_of in (select unnest(?::date[])) order by as_of, kpi""",
        [days],
    )


def tier_distribution(conn: duckdb.DuckDBPyConnection, day: dt.date) -> list[dict]:
    rows = _rows(
        conn,
        """select tier, count(*) as customers, sum(monetary)::double as monetary
           from customer_snapshot where as_of = ? group by tier order by tier""",
        [day],
    )
    total = sum(r["customers"] for r in rows) or 1
    for r in rows:
        r["share"] = r["customers"] / total
    return rows


def _pick(cols: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a in cols), None)


def cohort_matrix(conn: duckdb.DuckDBPyConnection, day: dt.date) -> dict | None:
    """Cohort cells and the size-weighted average row, both as stored by the cohort mart."""
    table = next((t for t in COHORT_TABLES if _exists(conn, t)), None)
    if table is None:
        return None
    cols = _columns(conn, table)
    c = {k: _pick(cols, v) for k, v in COHORT_COLUMNS.items()}
    if not (c["cohort"] and c["k"] and c["share"]):
        return None
    where, params = "true", []
    if "as_of" in cols:
        # the latest computation on or before D
        where = f"as_of = (select max(as_of) from {_ident(table)} where as_of <= ?)"
        params = [day]
    complete = (
        _ident(c["complete"])
        if c["complete"]
        else (f"not {_ident(c['incomplete'])}" if c["incomplete"] else "true")
    )
    size = f"{_ident(c['size'])}::bigint" if c["size"] else "null::bigint"
    is_average = (
        "row_type = 'average'" if "row_type" in cols else f"{_ident(c['cohort'])} is null"
    )
    rows = _rows(
        conn,
        f"""select {is_average} as is_average, {_ident(c["cohort"])}::date as cohort,
                   {_ident(c["k"])}::int as k, {size} as size,
                   {_ident(c["share"])}::double as share, {complete} as complete
            from {_ident(table)} where {where} order by 1, 2, 3""",
        params,
    )
    if not rows:
        return None
    cohorts: dict[dt.date, dict] = {}
    average_by_k: dict[int, float | None] = {}
    for r in rows:
        if r["is_average"]:
            average_by_k[r["k"]] = r["share"]
            continue
        co = cohorts.setdefault(r["cohort"], {"cohort": r["cohort"], "size": r["size"], "cells": {}})
        co["cells"][r["k"]] = {"share": r["share"], "complete": bool(r["complete"])}
    ks = list(range(max(r["k"] for r in rows) + 1))
    average = [average_by_k.get(k) for k in ks] if average_by_k else None
    return {"ks": ks, "cohorts": list(cohorts.values()), "average": average, "table": table}


def service_levels(conn: duckdb.DuckDBPyConnection, week: Week) -> list[dict]:
    if not _exists(conn, "service_period"):
        return []
    rows = _rows(
        conn,
        """select priority, tickets, met, breached, sla_rate::double as sla_rate,
                  complaint_sla_rate::double as complaint_sla_rate,
                  median_first_response_hours::double as median_first_response_hours,
                  median_resolution_hours::double as median_resolution_hours,
                  satisfaction_mean::double as satisfaction_mean
           from service_period where period_type = 'week' and period_start = ?""",
        [week.start],
    )
    order = {p: i for i, p in enumerate(PRIORITIES)}
    return sorted(rows, key=lambda r: (order.get(r["priority"], 99), r["priority"]))


def data_quality(conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date) -> dict:
    """Cumulative ingest figures of the database, completeness and freshness as of D."""
    sources: list[dict] = []
    if _exists(conn, "ingest_log"):
        sources = _rows(
            conn,
            """select source, count(*) filter (where status = 'loaded') as files,
                      coalesce(sum(rows_read), 0)::bigint as rows_read,
                      coalesce(sum(rows_loaded), 0)::bigint as rows_loaded,
                      coalesce(sum(rows_quarantined), 0)::bigint as rows_quarantined,
                      coalesce(sum(keys_replaced), 0)::bigint as duplicates_replaced,
                      max(loaded_at) as last_loaded_at
               from ingest_log group by source order by source""",
        )
        for s in sources:
            s["quarantine_share"] = s["rows_quarantined"] / s["rows_read"] if s["rows_read"] else None
    reasons: list[dict] = []
    if _exists(conn, "quarantine"):
        reasons = _rows(
            conn,
            """select source, reason_code, sum(line_count)::bigint as rows
               from quarantine group by source, reason_code order by source, rows desc""",
        )
    completeness: list[dict] = []
    for kind, contract in CONTRACTS.items():
        present = set(_columns(conn, kind))
        optional = [
            c.name
            for c in contract.columns
            if not c.required and c.name in present and (not c.pii or c.name == "email")
        ]
        if not optional:
            continue
        exprs = ", ".join(f"count({_ident(n)})" for n in optional)
        row = conn.execute(f"select count(*), {exprs} from {_ident(kind)}").fetchone()
        total = row[0]
        for name, filled in zip(optional, row[1:], strict=True):
            completeness.append(
                {"source": kind, "column": name, "rows": total,
                 "filled_share": filled / total if total else None}
            )
    last_order_day = None
    if _exists(conn, "orders"):
        last_order_day = conn.execute(
            "select max(ordered_at)::date from orders where ordered_at < ?::date + 1", [day]
        ).fetchone()[0]
    days_behind = (day - last_order_day).days if last_order_day else None
    return {
        "sources": sources,
        "reasons": reasons,
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
) -> list[tuple[str, str]]:
    """The thresholds stored with D's snapshot; the settings' values when no such table exists."""
    table = next((t for t in THRESHOLD_TABLES if _exists(conn, t)), None)
    if table is not None:
        cols = _columns(conn, table)
        if "as_of" in cols:
            rows = _rows(
                conn,
                f"select * from {_ident(table)} where as_of = "
                f"(select max(as_of) from {_ident(table)} where as_of <= ?)",
                [day],
            )
        else:
            rows = _rows(conn, f"select * from {_ident(table)}")
        out: list[tuple[str, str]] = []
        for r in rows:
            # either one wide row, or long rows of (name, value)
            if "params_json" in r:
                params = json.loads(r["params_json"])
                out.extend((k, _flat(v)) for k, v in params.items())
            else:
                skip = ("as_of", "computed_at", "run_id")
                out.extend((k, _flat(v)) for k, v in r.items() if k not in skip)
        if out:
            return out
    m = settings.metrics
    return [
        ("tiers", f"A ≥ {m.tiers.A}, B ≥ {m.tiers.B}, C > {m.tiers.C}, D ≤ {m.tiers.C}"),
        ("active_days", str(m.active_days)),
        ("rfm_window_days", str(m.rfm_window_days)),
        ("rfm_weights", f"r {m.rfm_weights.r} : f {m.rfm_weights.f} : m {m.rfm_weights.m}"),
        ("rfm_bins", "percent rank" if m.rfm_bins is None else _flat(m.rfm_bins.model_dump())),
        ("churn.inactive_days", str(m.churn.inactive_days)),
        ("churn.complaints", f"> {m.churn.complaint_max} in {m.churn.complaint_window_days} days"),
        ("churn.activity_drop", f"< {m.churn.drop_ratio:.0%} of own {m.churn.drop_window_days}-day average"),
        ("sla_hours", _flat(m.sla_hours.model_dump())),
        ("nps_low_sample", str(m.nps_low_sample)),
    ]


def _flat(v: Any) -> str:
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


# --------------------------------------------------------------------------------------------
# customer-level lists: the workbooks read their top rows (LIMIT), the CSVs every row (COPY)

CUSTOMER_FIELDS = (
    "customer_id", "last_order", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm_score",
    "tier", "segment", "lifecycle_stage", "tags",
)
CHURN_FIELDS = (
    "customer_id", "masked_email", "tier", "segment", "last_order", "recency_days", "frequency",
    "monetary", "rfm_score", "inactive", "complaints", "activity_drop", "flagged_since",
)


def customers_sql(day: dt.date, segment: str) -> tuple[str, list[Any]]:
    """Every customer of the segment on D, by value (then id), with the sheet's columns in order.

    Tags (lifecycle stage, active, churn reasons, churn_risk) are joined in SQL, so no row needs
    Python work; callers add LIMIT (the workbook) or COPY it whole (the CSV)."""
    seg_where, seg_params = _segment_filter(segment)
    sql = f"""
        select customer_id::varchar as customer_id, last_order_at::date as last_order, recency_days,
               frequency, monetary::double as monetary, r, f, m, rfm_score::double as rfm_score,
               tier, segment, lifecycle_stage,
               concat_ws(', ', lifecycle_stage, case when is_active then 'active' end,
                         case when inactive then 'inactive' end,
                         case when complaints then 'complaints' end,
                         case when activity_drop then 'activity_drop' end,
                         case when churn_risk then 'churn_risk' end) as tags
        from customer_snapshot where as_of = ? and {seg_where}
        order by monetary desc, customer_id"""
    return sql, [day, *seg_params]


def churn_warnings_sql(
    conn: duckdb.DuckDBPyConnection, day: dt.date, segment: str
) -> tuple[str, list[Any]]:
    """Every at-risk customer of the segment on D by value (then id); the email masked in SQL."""
    seg_where, seg_params = _segment_filter(segment, "s.tier")
    has_email = "email" in _columns(conn, "customers")
    email_join = "left join customers c using (customer_id)" if has_email else ""
    masked = (
        """case when c.email is null then null
                when position('@' in c.email) > 1
                then left(c.email, 1) || '***@' || split_part(c.email, '@', 2)
                else '***' end"""
        if has_email
        else "null::varchar"
    )
    sql = f"""
        select s.customer_id::varchar as customer_id, {masked} as masked_email, s.tier, s.segment,
               s.last_order_at::date as last_order, s.recency_days, s.frequency,
               s.monetary::double as monetary, s.rfm_score::double as rfm_score,
               s.inactive, s.complaints, s.activity_drop, s.flagged_since::date as flagged_since
        from customer_snapshot s {email_join}
        where s.as_of = ? and s.churn_risk and {seg_where}
        order by s.monetary desc, s.customer_id"""
    return sql, [day, *seg_params]


def copy_csv(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any], path: str) -> None:
    """DuckDB writes the query's rows to `path` as CSV with a header (values bound, never in Python).

    The path is not a bindable parameter of COPY: it is quoted as a SQL string literal."""
    target = "'" + str(path).replace("'", "''") + "'"
    conn.execute(f"copy ({sql}) to {target} (format csv, header, force_quote (customer_id))", params)


# --------------------------------------------------------------------------------------------
# per segment


def _period_rows(
    conn: duckdb.DuckDBPyConnection, table: str, columns: str, segment: str, weeks: list[Week]
) -> list[dict]:
    if not _exists(conn, table):
        return []
    tiers = ["all", *TIERS] if segment == "all" else [segment]
    return _rows(
        conn,
        f"""select period_type, period_start, tier, {columns} from {_ident(table)}
            where period_type = 'week' and period_start in (select unnest(?::date[]))
              and tier in (select unnest(?::varchar[]))
            order by period_start, tier""",
        [[w.start for w in weeks], tiers],
    )


def segment_data(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    week: Week,
    segment: str,
    detail: bool = True,
) -> SegmentData:
    """One segment's data; detail=False skips the customer-level lists (the email needs none)."""
    day = week.end
    weeks = [week.back(i) for i in range(settings.reports.trend_weeks - 1, -1, -1)]
    seg_where, seg_params = _segment_filter(segment)
    tier_key = "all" if segment == "all" else segment

    retention = _period_rows(
        conn,
        "retention_period",
        """start_count, end_count, new_count, kept_count, retention_rate::double as retention_rate,
           kept_rate::double as kept_rate, churn_rate::double as churn_rate,
           activation_rate::double as activation_rate""",
        segment,
        weeks,
    )
    repurchase = _period_rows(
        conn,
        "repurchase_period",
        "buyers, repeat_buyers, repurchase_rate::double as repurchase_rate",
        segment,
        weeks,
    )
    nps = _period_rows(
        conn,
        "nps_period",
        """responses, promoters, passives, detractors, nps::double as nps,
           nps_moe95::double as nps_moe95, low_sample, csat::double as csat, csat_n,
           ces_mean::double as ces_mean, ces_n""",
        segment,
        weeks,
    )

    def this_week(rows: list[dict]) -> dict:
        return next(
            (r for r in rows if r["period_start"] == week.start and r["tier"] == tier_key), {}
        )

    ret_w, rep_w, nps_w = this_week(retention), this_week(repurchase), this_week(nps)

    counts = conn.execute(
        f"""select count(*), count(*) filter (where is_active), count(*) filter (where churn_risk),
                   coalesce(sum(monetary), 0)::double, avg(rfm_score)::double,
                   count(*) filter (where inactive), count(*) filter (where complaints),
                   count(*) filter (where activity_drop)
            from customer_snapshot where as_of = ? and {seg_where}""",
        [day, *seg_params],
    ).fetchone()
    cards = {
        "customers": counts[0],
        "active_customers": counts[1],
        "at_risk_customers": counts[2],
        "monetary_total": counts[3],
        "avg_score": counts[4],
        "week_kept_rate": ret_w.get("kept_rate"),
        "week_kept_n": ret_w.get("start_count"),
        "week_retention_rate": ret_w.get("retention_rate"),
        "week_repurchase_rate": rep_w.get("repurchase_rate"),
        "week_repurchase_n": rep_w.get("buyers"),
        "week_nps": nps_w.get("nps"),
        "week_nps_moe95": nps_w.get("nps_moe95"),
        "week_nps_n": nps_w.get("responses"),
        "week_nps_low_sample": nps_w.get("low_sample"),
    }
    churn_reasons = {
        "inactive": counts[5],
        "complaints": counts[6],
        "activity_drop": counts[7],
        "churn_risk": counts[2],
    }

    def series(rows: list[dict], col: str) -> dict[dt.date, Any]:
        return {r["period_start"]: r[col] for r in rows if r["tier"] == tier_key}

    kept, rep = series(retention, "kept_rate"), series(repurchase, "repurchase_rate")
    segment_trend = [
        {"period_start": w.start, "kept_rate": kept.get(w.start), "repurchase_rate": rep.get(w.start)}
        for w in weeks
    ]
    nps_trend = [r for r in nps if r["tier"] == tier_key]

    segment_distribution = _rows(
        conn,
        f"""select segment, count(*) as customers from customer_snapshot
            where as_of = ? and {seg_where} group by segment order by customers desc, segment""",
        [day, *seg_params],
    )
    prev = day - dt.timedelta(days=7)
    mig_where = "true" if segment == "all" else "(prev_tier = ? or cur_tier = ?)"
    migration = _rows(
        conn,
        f"""with prev as (select customer_id, tier from customer_snapshot where as_of = ?),
                 cur as (select customer_id, tier from customer_snapshot where as_of = ?),
                 final as (
                     select coalesce(prev.tier, 'new') as prev_tier,
                            coalesce(cur.tier, 'left') as cur_tier
                     from prev full outer join cur using (customer_id)
                 )
            select prev_tier, cur_tier, count(*) as customers from final
            where {mig_where} group by all order by all""",
        [prev, day] + ([] if segment == "all" else [segment, segment]),
    )

    if detail:
        # the sheets' rows: the top `workbook_customer_rows` by value, as plain tuples in the sheets'
        # column order (compact: up to 2 x 50,000 rows per segment are held while rendering)
        cap = settings.reports.workbook_customer_rows
        sql, params = churn_warnings_sql(conn, day, segment)
        churn_warnings = conn.execute(sql + " limit ?", [*params, cap]).fetchall()
        at_risk = _rows(conn, sql + " limit ?", [*params, settings.reports.at_risk_top_n])
        for r in at_risk:
            r["reasons"] = [c for c in CHURN_REASONS if r[c]]
        sql, params = customers_sql(day, segment)
        customers = conn.execute(sql + " limit ?", [*params, cap]).fetchall()
    else:
        churn_warnings, customers, at_risk = [], [], []

    return SegmentData(
        segment=segment,
        cards=cards,
        segment_trend=segment_trend,
        nps_trend=nps_trend,
        segment_distribution=segment_distribution,
        migration=migration,
        churn_reasons=churn_reasons,
        at_risk=at_risk,
        churn_warnings=churn_warnings,
        customers=customers,
        customers_total=counts[0],
        churn_warnings_total=counts[2],
        retention=retention,
        repurchase=repurchase,
        nps=nps,
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
        cohort=cohort_matrix(conn, day),
        sla=service_levels(conn, week),
        quality=data_quality(conn, settings, day),
        thresholds=thresholds_used(conn, settings, day),
    )
    for seg in segments or settings.reports.segments:
        data.segments[seg] = segment_data(conn, settings, week, seg, detail)
    return data


def snapshot_exists(conn: duckdb.DuckDBPyConnection, day: dt.date) -> bool:
    return bool(
        conn.execute("select count(*) from customer_snapshot where as_of = ?", [day]).fetchone()[0]
    )
