"""The shipped sample built once by the DuckDB pipeline for the Spark parity tests (marker `spark`):
ingest, staging, customer_snapshot for a range of days, the period marts (`sample`), then, for the
marts that read those (`marts_sample`), customer_value and its model for two Sundays,
revenue_at_risk, action_list, kpi_daily (both paths of its states) and the restatement log. The
tables the Spark side reads are exported to Parquet (`<folder>/inputs/<table>/`) and registered as
temp views of the session. Built once per test process (session scope); each test module imports
the fixtures it uses from here."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from loyalty import engine
from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.marts.insight import compute_insight_table
from loyalty.marts.kpis import compute_kpis
from loyalty.marts.periods import compute_periods
from loyalty.marts.playbook import compute_action_list
from loyalty.marts.restatements import compute_restatements
from loyalty.marts.value import compute_customer_value, compute_revenue_at_risk
from loyalty.settings import Settings, load_settings
from loyalty.spark import engine as spark_engine
from tests.conftest import REPO, write_settings
from tests.fixtures_metrics import build_snapshots

# the snapshot days stored by DuckDB: weeks, months and a quarter of periods; the last one is the
# day the `day` path of customer_snapshot computes again on both engines
FIRST, LAST = dt.date(2026, 8, 30), dt.date(2026, 11, 15)
# what the models read: the ingest tables and the settings table of staging, the staging views,
# the snapshot (a view over customer_state), its state and its days
INPUTS = (
    "orders",
    "tickets",
    "surveys",
    "ticket_settings",
    "stg_orders",
    "stg_tickets",
    "stg_surveys",
    "customer_snapshot",
    "customer_state",
    "snapshot_params",
)
# the days of customer_value (two Sundays: the latest and the week before)
VALUE_DAYS = (LAST - dt.timedelta(days=7), LAST)
# kpi_daily in two runs, as the nightly job makes them: the first from the orders, the second
# from the stored snapshots; its change_7d reads a day the first run stored (LAST - 8) and one it
# computes again (LAST - 7)
KPI_RUNS = (
    ("orders", LAST - dt.timedelta(days=10), LAST - dt.timedelta(days=8)),
    ("snapshots", LAST - dt.timedelta(days=1), LAST),
)
# the days of action_list the Spark side computes: a Sunday without customer_value and the two
# with it
ACTION_DAYS = (LAST - dt.timedelta(days=14), *VALUE_DAYS)
LAST_SENT = dt.datetime(2026, 11, 16, 7, 0, 0, 125000)
# what the later marts read besides INPUTS: the period marts (figures_now; say_do reads
# report_periods), the bookkeeping of the restatement log after its first run, the customers
LATER_INPUTS = (
    "report_periods",
    "retention_period",
    "repurchase_period",
    "nps_period",
    "service_period",
    "ingest_log",
    "period_figures",
    "customers",
)


class Sample:
    def __init__(self, settings: Settings, folder: Path):
        self.settings = settings
        self.inputs = folder / "inputs"
        self.warehouse = folder / "warehouse"
        self.kpi_inputs = folder / "kpi_inputs"
        self.kpi_reference: list[list[dict[str, Any]]] = []
        self.kpi_paths: list[str] = []

    def duck_rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with connect(self.settings, read_only=True) as conn:
            return engine.query_sql(conn, sql, params)


def export(conn, folder: Path, tables: tuple[str, ...] | list[str]) -> None:
    """DuckDB tables (or views) as Parquet folders `<folder>/<table>/part-0.parquet`. A HUGEINT
    column (DuckDB's sum of integers) is written as a BIGINT, the type Spark's sum has: Parquet
    has no 128-bit integer and DuckDB would write a double."""
    for table in tables:
        (folder / table).mkdir(parents=True, exist_ok=True)
        columns = [
            f'cast("{name}" as bigint) as "{name}"' if kind == "HUGEINT" else f'"{name}"'
            for name, kind, *_ in conn.execute(f"describe {table}").fetchall()
        ]
        conn.execute(
            f"copy (select {', '.join(columns)} from {table}) to "
            f"'{folder / table / 'part-0.parquet'}' (format parquet)"
        )


def build_sample(folder: Path) -> Sample:
    """The DuckDB side of `sample` in `folder` (no Spark)."""
    shutil.copytree(REPO / "data" / "sample", folder / "landing", dirs_exist_ok=True)
    settings = load_settings(write_settings(folder, {"timezone": "Europe/London"}))
    with connect(settings) as conn:
        for kind in ("orders", "tickets", "surveys", "customers"):
            ingest_source(conn, settings, kind)
    build_snapshots(settings, FIRST.isoformat(), LAST.isoformat())
    built = Sample(settings, folder)
    with connect(settings) as conn:
        compute_periods(conn, settings)
        export(conn, built.inputs, INPUTS)
    return built


def build_marts(sample: Sample) -> None:
    """The marts after the period marts, built by DuckDB on the sample's database. The kpi_daily
    board is exported before each of its runs (what the run reads: the board stored so far)."""
    settings = sample.settings
    with connect(settings) as conn:
        for day in VALUE_DAYS:
            compute_customer_value(conn, settings, day)
        compute_revenue_at_risk(conn, FIRST, LAST)
        compute_action_list(conn, settings, FIRST, LAST)
        for table in ("service_impact", "say_do"):
            compute_insight_table(conn, settings, table)
        engine.create_declared(conn, "marts/kpi_daily")
        for i, (states, start, end) in enumerate(KPI_RUNS):
            export(conn, sample.kpi_inputs / str(i), ["kpi_daily"])
            sample.kpi_paths.append(compute_kpis(conn, settings, start, end, states=states))
            sample.kpi_reference.append(engine.query_sql(conn, "select * from kpi_daily"))
        # the restatement log's first run records the figures (nothing to compare with yet); the
        # second finds the NPS figures it recorded moved (as a recomputed snapshot would move them)
        compute_restatements(conn, settings, run_id="first", now=dt.datetime(2026, 11, 16, 6))
        conn.execute("update period_figures set value = value + 1 where metric = 'nps'")
        compute_restatements(conn, settings, run_id="second", now=dt.datetime(2026, 11, 17, 6))
        # two weekly emails sent (dry run), as the email step logs them
        engine.execute_file(conn, "bookkeeping/email_log.sql")
        for week, sent in (("2026-W45", dt.datetime(2026, 11, 9, 7)), ("2026-W46", LAST_SENT)):
            params = {"week": week, "message_id": f"<{week}@loyalty>", "mode": "dry_run"}
            for recipient in ("ops@example.com", "cx@example.com"):
                engine.execute_file(
                    conn,
                    "reports/email_logged.sql",
                    {**params, "recipient": recipient, "sent_at": sent},
                )
        export(conn, sample.inputs, LATER_INPUTS)


@pytest.fixture(scope="session")
def sample(tmp_path_factory, spark) -> Sample:
    built = build_sample(tmp_path_factory.mktemp("spark_parity"))
    spark_engine.register_warehouse(spark, built.inputs)
    return built


@pytest.fixture(scope="session")
def marts_sample(sample, spark) -> Sample:
    """`sample` with the later marts built by DuckDB (build_marts)."""
    build_marts(sample)
    for table in LATER_INPUTS:
        spark_engine.register(spark, table, sample.inputs)
    return sample
