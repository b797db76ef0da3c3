"""The metric assets wired through Dagster: a range backfill in one run, a re-run of one day that
replaces exactly that day, the period marts, and their asset checks passing."""

from __future__ import annotations

import dagster as dg

from loyalty.assets import kpis, metric_checks, periods, snapshot, staging
from loyalty.engine import connect
from loyalty.marts.checks import SNAPSHOT_CHECK, CheckOutcome
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.settings import load_settings
from loyalty.vocab import KPI_NAMES
from tests.fixtures_metrics import (
    add_order,
    add_survey,
    add_ticket,
    create_tables,
    rows,
    write_settings,
)

STAGING = [staging.stg_orders, staging.stg_tickets, staging.stg_surveys]
DAILY = [snapshot.customer_snapshot, kpis.kpi_daily]
PERIODS = [
    periods.report_periods,
    periods.retention_period,
    periods.repurchase_period,
    periods.nps_period,
    periods.service_period,
    periods.cohort_retention,
]
# every metric check is declared on its asset and runs in the asset's step


def _range_tags(start: str, end: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }


def test_backfill_a_range_in_one_run_then_rerun_one_day(tmp_path):
    # partitions start at the repo settings' start_date (2024-11-18), so the fixture lives after it
    settings_file = write_settings(tmp_path)
    settings = load_settings(settings_file)
    create_tables(settings)
    with connect(settings) as conn:
        for n in range(12):
            add_order(conn, f"c{n}", f"2024-11-{10 + n:02d}", 10 + 5 * n)
            if n % 3 == 0:
                add_order(conn, f"c{n}", "2024-12-03", 20, refund=5)
        add_ticket(conn, "c1", "2024-12-02", "complaint", "urgent", "2024-12-02T20:00:00")
        add_survey(conn, "c2", "2024-12-04", nps=9, csat=5)
    resources = {"loyalty": LoyaltyResource(settings_file=str(settings_file))}

    assert dg.materialize(STAGING, resources=resources).success
    backfill = dg.materialize(
        DAILY,
        resources=resources,
        tags=_range_tags("2024-12-01", "2024-12-10"),
    )
    assert backfill.success
    # one run, one step computed all ten days with one query
    steps = [e for e in backfill.all_events if e.event_type_value == "STEP_START"]
    assert len([s for s in steps if s.step_key == "customer_snapshot"]) == 1
    mats = backfill.asset_materializations_for_node("customer_snapshot")
    assert mats[0].metadata["days"].value == "2024-12-01 .. 2024-12-10"
    checks = backfill.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {SNAPSHOT_CHECK, "kpi_board_complete"}
    assert all(c.passed for c in checks)
    # the snapshot's check ran in the asset's step (no step of its own), on the days it wrote
    assert {s.step_key for s in steps} == {"customer_snapshot", "kpi_daily"}
    verdict = next(c for c in checks if c.check_name == SNAPSHOT_CHECK).metadata
    assert verdict["days checked"].value == 10 and verdict["failed"].value == "none"

    days = rows(
        settings, "select as_of, count(*) as n from customer_snapshot group by as_of order by as_of"
    )
    assert len(days) == 10 and days[0]["n"] == 12
    assert rows(settings, "select count(*) as n from kpi_daily")[0]["n"] == 10 * len(KPI_NAMES)

    before = rows(settings, "select * from customer_snapshot order by as_of, customer_id")
    computed = rows(settings, "select as_of, computed_at from snapshot_params order by as_of")
    rerun = dg.materialize(DAILY, resources=resources, partition_key="2024-12-05")
    assert rerun.success
    after = rows(settings, "select * from customer_snapshot order by as_of, customer_id")
    assert after == before  # same inputs, same rows: nothing duplicated, nothing lost
    recomputed = rows(settings, "select as_of, computed_at from snapshot_params order by as_of")
    changed = [a["as_of"].isoformat() for a, b in zip(computed, recomputed, strict=True) if a != b]
    assert changed == ["2024-12-05"]  # exactly that day was replaced

    result = dg.materialize(PERIODS, resources=resources)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 5 and all(c.passed for c in evaluations)
    assert all(c.metadata["failed"].value == "none" for c in evaluations)
    assert {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"} == {
        a.key.to_user_string() for a in PERIODS
    }
    # a check selected alone (the UI's "execute" on a check) runs alone and writes nothing
    built = rows(settings, "select * from period_build_state order by all")
    alone = dg.materialize(
        PERIODS,
        resources=resources,
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(dg.AssetKey("nps_period"), "nps_within_bounds")
        ),
    )
    assert [(c.check_name, c.passed) for c in alone.get_asset_check_evaluations()] == [
        ("nps_within_bounds", True)
    ]
    assert not alone.get_asset_materialization_events()
    assert rows(settings, "select * from period_build_state order by all") == built
    week = rows(
        settings,
        "select * from retention_period where period_type = 'week' and tier = 'all' "
        "order by period_start",
    )
    assert [w["period_start"].isoformat() for w in week] == ["2024-12-02", "2024-12-09"]
    assert [w["is_complete"] for w in week] == [True, False]


def test_a_failed_snapshot_check_in_the_assets_step_blocks_what_reads_it(tmp_path, monkeypatch):
    """The check runs in customer_snapshot's step: its failure fails that step after the day is
    recorded as materialised (as a failed check step did), and the KPI board is not computed."""
    settings_file = write_settings(tmp_path)
    settings = load_settings(settings_file)
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "c", "2024-11-20", 10)
    resources = {"loyalty": LoyaltyResource(settings_file=str(settings_file))}
    assert dg.materialize(STAGING, resources=resources).success

    real = metric_checks.run_check

    def one_row_missing(conn, check):
        outcome = real(conn, check)  # the real verdict, then one population member short
        counts = {**outcome.metadata, "failed": "a test's verdict"}
        return CheckOutcome(passed=False, metadata=counts)

    monkeypatch.setattr(metric_checks, "run_check", one_row_missing)
    result = dg.materialize(
        DAILY,
        resources=resources,
        partition_key="2024-12-31",
        raise_on_error=False,
    )
    assert not result.success
    assert [c.passed for c in result.get_asset_check_evaluations()] == [False]
    assert result.asset_materializations_for_node("customer_snapshot")
    assert not result.asset_materializations_for_node("kpi_daily")
    with connect(settings, read_only=True) as conn:
        assert not conn.execute(
            "select * from information_schema.tables where table_name = 'kpi_daily'"
        ).fetchall()


def test_a_launchpad_override_changes_the_run(tmp_path):
    settings_file = write_settings(tmp_path)
    settings = load_settings(settings_file)
    create_tables(settings)
    with connect(settings) as conn:
        add_order(conn, "c", "2024-11-20", 10)
    override = LoyaltyResource(
        settings_file=str(settings_file), overrides="metrics: {churn: {inactive_days: 60}}"
    )
    assert dg.materialize(STAGING, resources={"loyalty": override}).success
    assert dg.materialize(
        [snapshot.customer_snapshot], resources={"loyalty": override}, partition_key="2024-12-31"
    ).success
    # recency 41 days: inactive under the default 30, not under the override's 60
    row = rows(settings, "select inactive from customer_snapshot")[0]
    assert row["inactive"] is False
    params = rows(settings, "select params_json from snapshot_params")[0]["params_json"]
    assert '"inactive_days": 60' in params
