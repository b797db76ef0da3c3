"""Asset checks on the metric marts: a wrong number must not reach a report (SPEC §4, §10).

Each check runs a few counting queries; every query counts violations, the check passes when all are
zero, and the metadata shows every count (never customer rows) so a failure explains itself.
"""

import dagster as dg
import duckdb
from loyalty.metric_params import KPI_NAMES
from loyalty.orchestration.resources import LoyaltyResource

# the snapshot days written by the latest customer_snapshot run
_LAST_WRITE = (
    "as_of in (select as_of from snapshot_params "
    "where computed_at = (select max(computed_at) from snapshot_params))"
)


def _count(conn: duckdb.DuckDBPyConnection, query: str) -> int:
    return int(conn.execute(query).fetchone()[0] or 0)


def _verdict(
    conn: duckdb.DuckDBPyConnection,
    violations: dict[str, str],
    context: dict[str, str] | None = None,
) -> dg.AssetCheckResult:
    counts = {name: _count(conn, query) for name, query in violations.items()}
    failed = sorted(name for name, n in counts.items() if n)
    metadata: dict = {f"violations: {name}": n for name, n in counts.items()}
    metadata.update({name: _count(conn, query) for name, query in (context or {}).items()})
    metadata["failed"] = ", ".join(failed) if failed else "none"
    return dg.AssetCheckResult(passed=not failed, metadata=metadata)


def _unique(table: str, key: str) -> str:
    return f"select count(*) from (select {key} from {table} group by {key} having count(*) > 1)"


def _outside(table: str, column: str, low: float, high: float) -> str:
    return f"select count(*) from {table} where {column} not between {low} and {high}"


@dg.asset_check(asset="customer_snapshot", blocking=True, pool="duckdb")
def snapshot_tiers_and_segments_partition_population(
    loyalty: LoyaltyResource,
) -> dg.AssetCheckResult:
    """Every population member of each day just written has exactly one row, one tier A-D and one
    segment; the rows per day equal the customers with a counted order by that day.

    One pass over the days just written counts everything per day; the population is counted
    independently from the orders (a distinct count for one day, first order days for a range)."""
    with loyalty.connect(read_only=True) as conn:
        conn.execute(
            f"""
            create temp table check_days as
            select
                as_of,
                count(*) as rows_,
                count(distinct customer_id) as customers,
                count(*) filter (tier is null or tier not in ('A', 'B', 'C', 'D')) as bad_tier,
                count(*) filter (segment is null) as no_segment,
                count(*) filter (
                    not (r between 1 and 5 and f between 1 and 5 and m between 1 and 5)
                ) as bad_rfm,
                count(*) filter (tier = 'A') + count(*) filter (tier = 'B')
                + count(*) filter (tier = 'C') + count(*) filter (tier = 'D') as by_tier
            from customer_snapshot
            where {_LAST_WRITE}
            group by as_of
            """
        )
        if _count(conn, "select count(*) from check_days") == 1:
            population = """
                select as_of, (
                    select count(distinct customer_id) from stg_orders
                    where is_counted and order_date <= d.as_of
                ) as population
                from check_days as d
            """
        else:
            population = """
                select d.as_of, count(f.customer_id) as population
                from check_days as d
                left join (
                    select customer_id, min(order_date) as first_day
                    from stg_orders where is_counted group by customer_id
                ) as f on f.first_day <= d.as_of
                group by d.as_of
            """
        conn.execute(f"create temp table check_population as {population}")
        return _verdict(
            conn,
            {
                "duplicate (as_of, customer_id)": "select coalesce(sum(rows_ - customers), 0) "
                "from check_days",
                "tier not in A-D": "select coalesce(sum(bad_tier), 0) from check_days",
                "segment missing": "select coalesce(sum(no_segment), 0) from check_days",
                "r/f/m outside 1-5": "select coalesce(sum(bad_rfm), 0) from check_days",
                "days whose row count differs from the population": "select count(*) "
                "from check_days as d join check_population as p using (as_of) "
                "where p.population <> d.rows_",
                "days whose tier counts do not add up": "select count(*) from check_days "
                "where rows_ <> by_tier",
            },
            {
                "days checked": "select count(*) from check_days",
                "rows checked": "select coalesce(sum(rows_), 0) from check_days",
            },
        )


@dg.asset_check(asset="retention_period", blocking=True, pool="duckdb")
def retention_counts_reconcile(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """For 'all': start - lost + new (active at end) + reactivated = end; tiers add up to 'all';
    kept, churn and activation rates within [0, 1] (retention_rate may exceed 1 by design)."""
    with loyalty.connect(read_only=True) as conn:
        t = "retention_period"
        return _verdict(
            conn,
            {
                "duplicate (period_type, period_start, tier)": _unique(
                    t, "period_type, period_start, tier"
                ),
                "start - lost + new + reactivated <> end": f"select count(*) from {t} "
                "where tier = 'all' and start_count - lost_count + new_active_count "
                "+ reactivated_count <> end_count",
                "tier start/end counts do not sum to all": f"""
                    select count(*) from (
                        select period_type, period_start,
                            sum(start_count) filter (where tier <> 'all') as s_tiers,
                            sum(start_count) filter (where tier = 'all') as s_all,
                            sum(end_count) filter (where tier <> 'all') as e_tiers,
                            sum(end_count) filter (where tier = 'all') as e_all
                        from {t} group by all
                    ) where s_tiers <> s_all or e_tiers <> e_all
                """,
                "kept_rate outside [0,1]": _outside(t, "kept_rate", 0, 1),
                "churn_rate outside [0,1]": _outside(t, "churn_rate", 0, 1),
                "activation_rate outside [0,1]": _outside(t, "activation_rate", 0, 1),
            },
            {"rows checked": f"select count(*) from {t}"},
        )


@dg.asset_check(asset="repurchase_period", blocking=True, pool="duckdb")
def repurchase_shares_valid(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per key; repeat buyers never exceed buyers; rates within [0, 1]."""
    with loyalty.connect(read_only=True) as conn:
        t = "repurchase_period"
        return _verdict(
            conn,
            {
                "duplicate (period_type, period_start, tier)": _unique(
                    t, "period_type, period_start, tier"
                ),
                "repeat_buyers > buyers": f"select count(*) from {t} where repeat_buyers > buyers",
                "repurchase_rate outside [0,1]": _outside(t, "repurchase_rate", 0, 1),
                "lifetime_repeat_rate outside [0,1]": _outside(t, "lifetime_repeat_rate", 0, 1),
            },
        )


@dg.asset_check(asset="nps_period", blocking=True, pool="duckdb")
def nps_within_bounds(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per key; promoters + passives + detractors = responses; NPS within [-100, 100];
    CSAT share within [0, 1]."""
    with loyalty.connect(read_only=True) as conn:
        t = "nps_period"
        return _verdict(
            conn,
            {
                "duplicate (period_type, period_start, tier)": _unique(
                    t, "period_type, period_start, tier"
                ),
                "groups do not add up to responses": f"select count(*) from {t} "
                "where promoters + passives + detractors <> responses",
                "nps outside [-100,100]": _outside(t, "nps", -100, 100),
                "csat outside [0,1]": _outside(t, "csat", 0, 1),
            },
        )


@dg.asset_check(asset="service_period", blocking=True, pool="duckdb")
def service_rates_valid(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per key; met + breached <= tickets; priorities add up to 'all'; rates in [0, 1]."""
    with loyalty.connect(read_only=True) as conn:
        t = "service_period"
        return _verdict(
            conn,
            {
                "duplicate (period_type, period_start, priority)": _unique(
                    t, "period_type, period_start, priority"
                ),
                "met + breached > tickets": f"select count(*) from {t} "
                "where met + breached > tickets",
                "priorities do not sum to all": f"""
                    select count(*) from (
                        select period_type, period_start,
                            sum(tickets) filter (where priority <> 'all') as by_priority,
                            sum(tickets) filter (where priority = 'all') as total
                        from {t} group by all
                    ) where by_priority <> total
                """,
                "sla_rate outside [0,1]": _outside(t, "sla_rate", 0, 1),
                "complaint_sla_rate outside [0,1]": _outside(t, "complaint_sla_rate", 0, 1),
            },
        )


@dg.asset_check(asset="cohort_retention", blocking=True, pool="duckdb")
def cohort_shares_valid(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per (row_type, cohort_month, k); shares within [0, 1]; month 0 is everyone."""
    with loyalty.connect(read_only=True) as conn:
        t = "cohort_retention"
        return _verdict(
            conn,
            {
                "duplicate (row_type, cohort_month, k)": _unique(t, "row_type, cohort_month, k"),
                "share outside [0,1]": _outside(t, "share", 0, 1),
                "k = 0 cell not the whole cohort": f"select count(*) from {t} "
                "where k = 0 and active_count <> size",
            },
        )


@dg.asset_check(asset="kpi_daily", blocking=True, pool="duckdb")
def kpi_board_complete(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per (as_of, kpi), every KPI each day, rates within [0, 1] and NPS within [-100, 100]."""
    with loyalty.connect(read_only=True) as conn:
        t = "kpi_daily"
        return _verdict(
            conn,
            {
                "duplicate (as_of, kpi)": _unique(t, "as_of, kpi"),
                "days without every KPI": f"select count(*) from (select as_of from {t} "
                f"group by as_of having count(distinct kpi) <> {len(KPI_NAMES)})",
                "rate outside [0,1]": f"select count(*) from {t} "
                "where kpi <> 'nps' and value not between 0 and 1",
                "nps outside [-100,100]": f"select count(*) from {t} "
                "where kpi = 'nps' and value not between -100 and 100",
            },
        )
