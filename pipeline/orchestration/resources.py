"""The one resource every asset uses: the settings (with per-run overrides) and the DuckDB file.

Analysts override any setting for one run from the launchpad:

    resources:
      loyalty:
        config:
          overrides: "metrics: {active_days: 60, tiers: {A: 85}}"
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from loyalty import engine
from loyalty.settings import Settings, load_settings


class LoyaltyResource(dg.ConfigurableResource):
    settings_file: str = "settings.yaml"
    # YAML mapping merged onto the settings file for this run only, e.g. "metrics: {active_days: 60}"
    overrides: str = ""

    def get_settings(self) -> Settings:
        return load_settings(self.settings_file, self.overrides or None)

    @contextmanager
    def session(
        self, read_only: bool = False
    ) -> Iterator[tuple[Settings, duckdb.DuckDBPyConnection]]:
        """The settings, parsed once for the step, and a connection opened with them (closed in
        `finally` by the engine). Every asset and check uses this."""
        settings = self.get_settings()
        with engine.connect(settings, read_only=read_only) as conn:
            yield settings, conn

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.session(read_only=read_only) as (_settings, conn):
            yield conn
