"""The jobs the schedules and sensors launch, selected by group and partitioning so that assets
added to a group join the right job without editing this file.

- `nightly`: ingest + staging + the marts, for one day D. The daily marts (customer snapshot, KPI
  board) compute partition D; the unpartitioned assets (ingest, staging, period marts) run once, in
  the same run. Dagster allows unpartitioned assets beside assets of one partitions definition in
  an asset job; the run's partition key applies to the partitioned ones only.
- `weekly`: the reports group (HTML/Excel reports, the email) for one ISO week.
- `ingest`: the ingest group alone, what the landing-files sensor launches.

Asset checks on the selected assets run in the same job (blocking checks stop what is downstream).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

NIGHTLY = "nightly"
WEEKLY = "weekly"
INGEST = "ingest"


def select_keys(
    assets: Iterable[object], groups: set[str], partitions: tuple[type, ...]
) -> list[dg.AssetKey]:
    """Keys of the assets in `groups` whose partitions definition is one of `partitions`
    (`type(None)` for unpartitioned). Anything that is not an AssetsDefinition (a source asset or
    spec, as Dagster's loaders may return) is never selected."""
    out: list[dg.AssetKey] = []
    for a in assets:
        if not isinstance(a, dg.AssetsDefinition) or not isinstance(a.partitions_def, partitions):
            continue
        out += [k for k in a.keys if a.group_names_by_key.get(k) in groups]
    return sorted(out, key=lambda k: k.to_user_string())


def tagged_keys(assets: Iterable[object], tags: dict[str, str]) -> set[dg.AssetKey]:
    """Keys of the assets that carry every one of `tags`."""
    return {
        k
        for a in assets
        if isinstance(a, dg.AssetsDefinition)
        for k in a.keys
        if tags.items() <= dict(a.tags_by_key.get(k, {})).items()
    }


def build_jobs(assets: Iterable[object]) -> list[dg.UnresolvedAssetJobDefinition]:
    assets = list(assets)
    unpartitioned = type(None)
    daily = dg.DailyPartitionsDefinition
    nightly = select_keys(assets, {"ingest", "staging"}, (unpartitioned,)) + select_keys(
        assets, {"marts"}, (unpartitioned, daily)
    )
    weekly = select_keys(assets, {"reports"}, (dg.WeeklyPartitionsDefinition,))
    ingest = select_keys(assets, {"ingest"}, (unpartitioned,))
    return [
        dg.define_asset_job(
            NIGHTLY,
            selection=dg.AssetSelection.assets(*nightly),
            description="Ingest new exports, rebuild staging, compute day D's customer snapshot and "
            "KPI board (the run's partition) and recompute the period marts.",
        ),
        dg.define_asset_job(
            WEEKLY,
            selection=dg.AssetSelection.assets(*weekly),
            description="Reports and the weekly email for one ISO week (the run's partition).",
        ),
        dg.define_asset_job(
            INGEST,
            selection=dg.AssetSelection.assets(*ingest),
            description="Load new export files from the landing folder (with their checks).",
        ),
    ]
