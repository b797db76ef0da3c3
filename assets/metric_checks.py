"""Asset checks on the metric marts: a wrong number must not reach a report (docs/metrics.md).

Each check's queries and verdict are `loyalty.marts.checks` (sql/checks/): every query counts
violations, the check passes when all are zero, and the metadata shows every count (never customer
rows) so a failure explains itself. customer_snapshot's check runs in its asset's step
(assets/snapshot.py), customer_value's in its (assets/value.py).
"""

import dagster as dg

from loyalty.assets.metric_results import data_errors_hidden
from loyalty.marts.checks import run_check
from loyalty.orchestration.resources import LoyaltyResource


def _result(loyalty: LoyaltyResource, check: str) -> dg.AssetCheckResult:
    with data_errors_hidden(f"check {check}"), loyalty.session(read_only=True) as (_s, conn):
        outcome = run_check(conn, check)
    return dg.AssetCheckResult(passed=outcome.passed, metadata=outcome.metadata)


@dg.asset_check(asset="retention_period", blocking=True, pool="duckdb")
def retention_counts_reconcile(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """For 'all': start - lost + new (active at end) + reactivated = end; tiers add up to 'all';
    kept, churn and activation rates within [0, 1] (retention_rate may exceed 1 by design)."""
    return _result(loyalty, "retention_counts_reconcile")


@dg.asset_check(asset="repurchase_period", blocking=True, pool="duckdb")
def repurchase_shares_valid(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per key; repeat buyers never exceed buyers; rates within [0, 1]."""
    return _result(loyalty, "repurchase_shares_valid")


@dg.asset_check(asset="nps_period", blocking=True, pool="duckdb")
def nps_within_bounds(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per key; promoters + passives + detractors = responses; NPS within [-100, 100];
    CSAT share within [0, 1]."""
    return _result(loyalty, "nps_within_bounds")


@dg.asset_check(asset="service_period", blocking=True, pool="duckdb")
def service_rates_valid(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per key; met + breached <= tickets; priorities add up to 'all'; rates in [0, 1]."""
    return _result(loyalty, "service_rates_valid")


@dg.asset_check(asset="cohort_retention", blocking=True, pool="duckdb")
def cohort_shares_valid(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per (row_type, cohort_month, k); shares within [0, 1]; month 0 is everyone."""
    return _result(loyalty, "cohort_shares_valid")


@dg.asset_check(asset="kpi_daily", blocking=True, pool="duckdb")
def kpi_board_complete(loyalty: LoyaltyResource) -> dg.AssetCheckResult:
    """One row per (as_of, kpi), every KPI each day, rates within [0, 1] and NPS within [-100, 100]."""
    return _result(loyalty, "kpi_board_complete")
