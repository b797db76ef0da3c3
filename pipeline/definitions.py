"""The whole system in one place: assets and checks from `assets/`, the resource, jobs, schedules,
sensors and the executor."""

from __future__ import annotations

import dagster as dg

import assets
from pipeline.partitions import settings_file
from pipeline.resources import LoyaltyResource

all_assets = dg.load_assets_from_package_module(assets)
all_checks = dg.load_asset_checks_from_package_module(assets)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    resources={"loyalty": LoyaltyResource(settings_file=settings_file())},
)
