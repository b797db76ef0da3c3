"""Daily partitions (one per business day D, for snapshots and the KPI board) and weekly partitions
(ISO weeks starting Monday, for reports and email), in the business time zone.

Partition definitions are fixed when the code location loads, so they are read from the settings file
named by LOYALTY_SETTINGS (default: settings.yaml at the repo root, or in the current directory
for an installed package). Only the YAML is read here; the
database is never opened at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from loyalty.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
# the tag of the daily assets that compute only the days of the model's history (model.history_weeks
# before a range's last day: its Sundays and that day): a first run gives them only that part
HISTORY_WEEKS_TAG = {"loyalty/days": "history_weeks"}


def settings_file() -> str:
    """LOYALTY_SETTINGS; else settings.yaml of the checkout the code runs from; else (an installed
    package, no checkout) settings.yaml in the current directory."""
    if "LOYALTY_SETTINGS" in os.environ:
        return os.environ["LOYALTY_SETTINGS"]
    in_checkout = REPO_ROOT / "settings.yaml"
    return str(in_checkout if in_checkout.is_file() else Path.cwd() / "settings.yaml")


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
