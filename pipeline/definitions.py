"""The whole system in one place: assets and checks from `assets/`, the resource, jobs, schedules,
sensors and the executor. docs/operations.md explains how they run."""

from __future__ import annotations

import warnings

import dagster as dg

from loyalty import assets
from loyalty.orchestration.jobs import build_jobs
from loyalty.orchestration.partitions import location_settings, settings_file
from loyalty.orchestration.resources import LoyaltyResource
from loyalty.orchestration.schedules import build_schedules
from loyalty.orchestration.sensors import build_landing_files_sensor, run_failure_alert

# a single-run backfill policy is a beta parameter in Dagster 1.13, used here on purpose (a backfill
# is one set-based run): its warning is no news to whoever starts the UI, the daemon or a code server
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", category=dg.BetaWarning)

all_assets = dg.load_assets_from_package_module(assets)
all_checks = dg.load_asset_checks_from_package_module(assets)

nightly_job, weekly_job, ingest_job = build_jobs(all_assets)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    resources={"loyalty": LoyaltyResource(settings_file=settings_file())},
    jobs=[nightly_job, weekly_job, ingest_job],
    schedules=build_schedules(location_settings(), nightly_job, weekly_job),
    sensors=[build_landing_files_sensor(ingest_job), run_failure_alert],
    # every step opens the one DuckDB file and the pool lets one step at a time do so: steps run
    # one after another in the run's process instead of paying a process start per step
    executor=dg.in_process_executor,
)
