"""The code location loads, and its shape (assets and groups, jobs, schedules, sensors) matches the
snapshot below, so an accidental change shows up in review.

To update after an intended change: run this file, copy the "actual" dict printed by the failing
test into EXPECTED, and review the diff.
"""

from __future__ import annotations

import json
import pprint

import dagster as dg
import yaml

from tests.conftest import REPO

# asset -> (group, partitioning); assets still being written by others may be absent (the lead
# tightens this to equality when they have all landed)
EXPECTED_ASSETS = {
    "orders": ("ingest", None),
    "tickets": ("ingest", None),
    "surveys": ("ingest", None),
    "customers": ("ingest", None),
    "stg_orders": ("staging", None),
    "stg_tickets": ("staging", None),
    "stg_surveys": ("staging", None),
    "customer_snapshot": ("marts", "daily"),
    "kpi_daily": ("marts", "daily"),
    "customer_value": ("marts", "daily"),
    "revenue_at_risk": ("marts", "daily"),
    "report_periods": ("marts", None),
    "retention_period": ("marts", None),
    "repurchase_period": ("marts", None),
    "nps_period": ("marts", None),
    "service_period": ("marts", None),
    "cohort_retention": ("marts", None),
    "action_list": ("marts", "daily"),
    "restatements": ("marts", None),
    "service_impact": ("marts", None),
    "say_do": ("marts", None),
    "weekly_reports": ("reports", "weekly"),
    "weekly_email": ("reports", "weekly"),
}
EXPECTED = {
    "jobs": {
        "nightly": {"partitioning": "daily", "groups": ["ingest", "marts", "staging"]},
        "weekly": {"partitioning": "weekly", "groups": ["reports"]},
        "ingest": {"partitioning": None, "groups": ["ingest"]},
    },
    # settings.yaml: Europe/London, default crons
    "schedules": {
        "nightly": {
            "job": "nightly",
            "cron": "0 2 * * *",
            "timezone": "Europe/London",
            "default": "RUNNING",
        },
        "weekly": {
            "job": "weekly",
            "cron": "0 7 * * 1",
            "timezone": "Europe/London",
            "default": "RUNNING",
        },
    },
    "sensors": {
        "landing_files_sensor": {"default": "STOPPED"},
        "run_failure_alert": {"default": "RUNNING"},
    },
    "executor": "in_process",
}


def _partitioning(p) -> str | None:
    if p is None:
        return None
    return {dg.DailyPartitionsDefinition: "daily", dg.WeeklyPartitionsDefinition: "weekly"}.get(
        type(p), type(p).__name__
    )


def _actual() -> tuple[dict, dict]:
    from loyalty.definitions import defs

    graph = defs.resolve_asset_graph()
    assets = {
        k.to_user_string(): (graph.get(k).group_name, _partitioning(graph.get(k).partitions_def))
        for k in graph.materializable_asset_keys
    }
    repo = defs.get_repository_def()
    jobs = {}
    for name in ("nightly", "weekly", "ingest"):
        job = repo.get_job(name)
        keys = job.asset_layer.selected_asset_keys
        jobs[name] = {
            "partitioning": _partitioning(job.partitions_def),
            "groups": sorted({assets[k.to_user_string()][0] for k in keys}),
        }
    shape = {
        "jobs": jobs,
        "schedules": {
            s.name: {
                "job": s.job_name,
                "cron": s.cron_schedule,
                "timezone": s.execution_timezone,
                "default": s.default_status.value,
            }
            for s in repo.schedule_defs
        },
        "sensors": {s.name: {"default": s.default_status.value} for s in repo.sensor_defs},
        "executor": repo.get_job("nightly").executor_def.name,
    }
    return assets, shape


def test_the_code_location_loads():
    from loyalty.definitions import defs

    dg.Definitions.validate_loadable(defs)


def test_jobs_schedules_and_sensors_match_the_snapshot():
    _, shape = _actual()
    assert shape == EXPECTED, "actual:\n" + pprint.pformat(shape, sort_dicts=False)


def test_every_asset_is_in_a_layer_group_and_known_ones_keep_their_group_and_partitions():
    assets, _ = _actual()
    assert {g for g, _ in assets.values()} <= {"ingest", "staging", "marts", "reports"}, assets
    present = {k: v for k, v in EXPECTED_ASSETS.items() if k in assets}
    assert {k: assets[k] for k in present} == present, "actual:\n" + pprint.pformat(assets)
    # the ingest and metric assets are in the tree already; reports may still be landing
    assert set(EXPECTED_ASSETS) - set(assets) <= {"weekly_reports", "weekly_email"}


def test_the_nightly_job_holds_yesterdays_marts_and_every_unpartitioned_layer_below_reports():
    assets, _ = _actual()
    from loyalty.definitions import defs

    nightly = {
        k.to_user_string()
        for k in defs.get_repository_def().get_job("nightly").asset_layer.selected_asset_keys
    }
    expected = {
        k
        for k, (g, p) in assets.items()
        if g in {"ingest", "staging", "marts"} and p in (None, "daily")
    }
    assert nightly == expected


def test_the_kpi_board_is_shown_as_markdown_metadata_when_kpi_daily_exists():
    # the KPI board itself is the metrics code's; here only that the asset advertises it
    src = (
        (REPO / "assets" / "kpis.py").read_text(encoding="utf-8")
        if (REPO / "assets" / "kpis.py").exists()
        else ""
    )
    if "kpi_daily" in src:
        assert "MetadataValue.md" in src


def test_dagster_home_holds_the_same_instance_settings_as_the_repo():
    assert (REPO / "dagster_home" / "dagster.yaml").read_bytes() == (
        REPO / "dagster.yaml"
    ).read_bytes()


def test_the_instance_settings_queue_runs_and_let_one_step_at_a_time_open_duckdb(
    tmp_path, monkeypatch
):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_bytes((REPO / "dagster.yaml").read_bytes())
    raw = yaml.safe_load((REPO / "dagster.yaml").read_text(encoding="utf-8"))
    assert "config" not in raw["run_coordinator"]  # limits only under concurrency:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1 and pools.pool_granularity.value == "run"
        assert instance.run_monitoring_enabled
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert json.loads(json.dumps(raw["telemetry"])) == {"enabled": False}
    finally:
        instance.dispose()


def test_every_asset_and_check_uses_the_duckdb_pool():
    from loyalty.definitions import all_checks, defs

    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        assert graph.get(key).pools == {"duckdb"}, key
    for checks in all_checks:
        assert checks.node_def.pool == "duckdb", checks.check_keys
