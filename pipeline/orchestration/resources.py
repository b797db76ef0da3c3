"""The one resource every asset uses: the settings (with per-run overrides) and the DuckDB file.

Analysts override any setting for one run from the launchpad:

    resources:
      loyalty:
        config:
          overrides: "metrics: {active_days: 60, tiers: {A: 85}}"
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from loyalty import engine
from loyalty.settings import Settings, load_settings


class LoyaltyResource(dg.ConfigurableResource):
    settings_file: str = "settings.yaml"
    # YAML mapping merged onto the settings file for this run only, e.g. "metrics: {active_days: 60}"
    overrides: str = ""
    # inside a Dagster run: what the run keeps open until it ends (its database, from its first
    # session: `engine.held_open`); None outside a run (a session then opens the file itself)
    _run: ExitStack | None = PrivateAttr(default=None)
    _held: bool = PrivateAttr(default=False)
    _settings: Settings | None = PrivateAttr(default=None)  # parsed once per run

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run, self._held, self._settings = ExitStack(), False, None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """The run is done: the database its steps kept open is closed (checkpointed)."""
        if self._run is not None:
            run, self._run, self._settings = self._run, None, None
            run.close()

    def get_settings(self) -> Settings:
        """The settings file with the run's overrides, parsed once per run (every step of a run
        sees the same settings, even if the file is edited meanwhile), or per call outside a run."""
        if self._settings is not None:
            return self._settings
        settings = load_settings(self.settings_file, self.overrides or None)
        if self._run is not None:
            self._settings = settings
        return settings

    @contextmanager
    def session(
        self, read_only: bool = False
    ) -> Iterator[tuple[Settings, duckdb.DuckDBPyConnection]]:
        """The settings, parsed once for the run, and a connection opened with them (closed in
        `finally` by the engine). Every asset and check uses this.

        The DuckDB file is opened by the run's first session and kept open until the run ends
        (`teardown_after_execution`): each step gets a new connection to the open database instead
        of opening the file, replaying its log and checkpointing it again (about 25 ms a step, and
        the buffer pool built anew). The in-process executor runs one step at a time, and the
        `duckdb` pool (granularity `run`) starts one run that uses the database at a time, so no
        other run's step waits for the file in between (docs/operations.md)."""
        settings = self.get_settings()
        # (a read-only first session of a database not made yet opens nothing: the engine's error)
        if (
            self._run is not None
            and not self._held
            and not (read_only and not settings.database_path.exists())
        ):
            self._run.enter_context(engine.held_open(settings))
            self._held = True
        with engine.connect(settings, read_only=read_only) as conn:
            yield settings, conn

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.session(read_only=read_only) as (_settings, conn):
            yield conn
