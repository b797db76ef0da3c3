"""Daily partitions (one per business day D, for snapshots and the KPI board) and weekly partitions
(ISO weeks starting Monday, for reports and email), in the business time zone.

Partition definitions are fixed when the code location loads, so they are read from the settings file
named by LOYALTY_SETTINGS (default: settings.yaml at the repo root). Only the YAML is read here; the
database is never opened at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from loyalty.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def settings_file() -> str:
    return os.environ.get("LOYALTY_SETTINGS", str(REPO_ROOT / "settings.yaml"))


def location_settings() -> Settings:
    return load_settings(settings_file())


_settings = location_settings()

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=_settings.schedules.start_date.isoformat(),
    timezone=_settings.timezone,
)

weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=_settings.schedules.start_date.isoformat(),
    timezone=_settings.timezone,
    day_offset=1,  # ISO weeks: Monday to Sunday
)
