"""Asset checks on the metric marts: a wrong number must not reach a report (docs/metrics.md).

Each check's queries and verdict are `loyalty.marts.checks` (sql/checks/): every query counts
violations, the check passes when all are zero, and the metadata shows every count (never customer
rows) so a failure explains itself. Every checked asset is made by `checked_asset`: the check is
declared on the asset and runs in the asset's step, on its open connection, right after the write
(`run_in_step`): a check step of its own cost a second connection and a Dagster step, and the
nightly job had seven of them. A failed check fails the asset's step after the materialisation is
recorded, and Dagster skips what reads it. The asset is subsettable: a check selected alone (the
UI's "execute" on a check) runs alone, on a read-only connection, and writes nothing.
"""

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import duckdb

from loyalty.assets.metric_results import data_errors_hidden, own_check
from loyalty.marts.checks import CHECKED_TABLE, SNAPSHOT_CHECK, run_check
from loyalty.marts.value import CHECK as VALUE_CHECK
from loyalty.marts.value import check_customer_value
from loyalty.orchestration.resources import LoyaltyResource

DESCRIPTIONS = {
    SNAPSHOT_CHECK: "Every population member of each day just written has exactly one row, one "
    "tier A-D and one segment; the rows per day equal the customers with a counted order by that "
    "day. One pass over the days just written counts everything per day; the population is "
    "counted independently from the orders (for a carried night: the day before's count plus the "
    "night's first buyers; a distinct count for one day; first order days for a range).",
    "retention_counts_reconcile": "For 'all': start - lost + new (active at end) + reactivated = "
    "end; tiers add up to 'all'; kept, churn and activation rates within [0, 1] (retention_rate "
    "may exceed 1 by design).",
    "repurchase_shares_valid": "One row per key; repeat buyers never exceed buyers; rates within "
    "[0, 1].",
    "nps_within_bounds": "One row per key; promoters + passives + detractors = responses; NPS "
    "within [-100, 100]; CSAT share within [0, 1].",
    "service_rates_valid": "One row per key; met + breached <= tickets; priorities add up to "
    "'all'; rates in [0, 1].",
    "cohort_shares_valid": "One row per (row_type, cohort_month, k); shares within [0, 1]; month 0 "
    "is everyone.",
    "kpi_board_complete": "One row per (as_of, kpi), every KPI each day, rates within [0, 1] and "
    "NPS within [-100, 100].",
    VALUE_CHECK: "On the latest day: one row per customer of customer_snapshot's population, a "
    "known status and source each, model columns set exactly when the model is used, p_alive "
    "within [0, 1], value at risk, CLV and expected orders not negative.",
}
# the check of each checked table
CHECK_OF = {table: check for check, table in CHECKED_TABLE.items()} | {
    "customer_value": VALUE_CHECK
}


def _verdict(conn: duckdb.DuckDBPyConnection, check: str) -> Any:
    if check == VALUE_CHECK:
        return check_customer_value(conn)
    return run_check(conn, check)


def spec(table: str) -> list[dg.AssetCheckSpec]:
    """The blocking check declared on `table`'s asset (none if it has none)."""
    check = CHECK_OF.get(table)
    if check is None:
        return []
    return [
        dg.AssetCheckSpec(
            check,
            asset=table,
            blocking=True,
            description=DESCRIPTIONS[check] + " Run in the asset's step, on its connection.",
        )
    ]


def run_in_step(
    context: dg.AssetExecutionContext, conn: duckdb.DuckDBPyConnection, table: str
) -> list[dg.AssetCheckResult]:
    """`table`'s check on the asset's connection, when the run selected it."""
    check = CHECK_OF.get(table)
    if check is None:
        return []
    return own_check(context, table, check, lambda: _verdict(conn, check))


def checked_asset(
    table: str,
    *,
    partitions_def: dg.PartitionsDefinition | None = None,
    backfill_policy: dg.BackfillPolicy | None = None,
    **asset_spec: Any,
) -> Callable[[Callable[..., dg.MaterializeResult]], dg.AssetsDefinition]:
    """The asset `table` (`asset_spec`: AssetSpec's deps, description, group_name, kinds, tags) with its
    check, from a function (context, loyalty) -> MaterializeResult that writes the table and
    returns `run_in_step`'s results among its check_results."""

    def decorate(body: Callable[..., dg.MaterializeResult]) -> dg.AssetsDefinition:
        @dg.multi_asset(
            name=table,
            specs=[dg.AssetSpec(table, **asset_spec)],
            check_specs=spec(table),
            can_subset=True,
            pool="duckdb",
            partitions_def=partitions_def,
            backfill_policy=backfill_policy,
        )
        def _asset(
            context: dg.AssetExecutionContext, loyalty: LoyaltyResource
        ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
            if dg.AssetKey(table) in context.selected_asset_keys:
                yield body(context, loyalty)
                return
            with (
                data_errors_hidden(f"check of {table}"),
                loyalty.session(read_only=True) as (_settings, conn),
            ):
                results = run_in_step(context, conn, table)
            yield from results

        return _asset

    return decorate
