"""The database of the report and email tests: the real pipeline on a small generated data set.

`python -m loyalty.generate` writes seeded exports (300 customers, 400 days up to Sunday 2026-11-15,
a few bad rows for the quarantine) and `python -m loyalty.cli run` loads them and computes every
mart with the real DDL and models, as a user does; nothing here knows a mart's columns. The database
is built once per test process and each test gets its own copy (`workspace`).

What the generated data lacks is then made with SQL on the real tables: the most valuable at-risk
customer of 2026-W46 gets a formula-like id and the next one seeded PII (name, email, phone), so
tests can prove neither executes nor leaks. A test that needs another edge case (NaN, infinity, an
empty table) updates its own copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loyalty import engine
from loyalty.settings import Settings, load_settings
from loyalty.sqlsafe import quote_ident
from loyalty.weeks import Week
from tests.conftest import write_settings

WEEK_KEY = "2026-11-09"  # Monday of 2026-W46
WEEK = Week.from_partition_key(WEEK_KEY)
WEEK_LABEL = WEEK.label
DAY = WEEK.end  # Sunday 2026-11-15, the reports' "as of" day
PII_NAME = "Zebulon Quixote"
PII_EMAIL = "zebulon.quixote@pii-example.org"
PII_PHONE = "+44 7700 900123"
FORMULA_ID = '=HYPERLINK("http://evil.example/x","click")'
# the tables holding a customer id: a renamed customer stays one customer everywhere
# customer_state is kept as its closed and its current rows (loyalty.engine.state_split)
CUSTOMER_TABLES = (
    "customer_state_closed",
    "customer_state_current",
    "orders",
    "tickets",
    "surveys",
    "customers",
)
REPORTS = {"trend_weeks": 4, "at_risk_top_n": 50}
# 300 customers over 400 days, a few deliberately bad rows for the quarantine
GENERATED = ("--customers", "300", "--days", "400", "--seed", "3", "--bad-rows")

_BUILT: dict[str, Path] = {}


def _run(*args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # no run history kept
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"{args[:2]}: " + done.stdout[-3000:] + done.stderr[-3000:]


def _build(root: Path) -> Path:
    landing = root / "landing"
    _run("loyalty.generate", *GENERATED, "--end", DAY.isoformat(), "--out", str(landing), cwd=root)
    settings_file = write_settings(root)
    _run(
        "loyalty.cli", "run", "--settings", str(settings_file), "--as-of", DAY.isoformat(), cwd=root
    )
    settings = load_settings(settings_file)
    with engine.connect(settings) as conn:
        formula_customer, pii_customer = (
            r[0]
            for r in conn.execute(
                """select s.customer_id from customer_snapshot as s
                   inner join customers as c on s.customer_id = c.customer_id
                   where s.as_of = ? and s.churn_risk
                   order by s.monetary desc, s.customer_id limit 2""",
                [DAY],
            ).fetchall()
        )
        for table in CUSTOMER_TABLES:
            conn.execute(
                f"update {quote_ident(table)} set customer_id = ? where customer_id = ?",
                [FORMULA_ID, formula_customer],
            )
        conn.execute(
            "update customers set name = ?, email = ?, phone = ? where customer_id = ?",
            [PII_NAME, PII_EMAIL, PII_PHONE, pii_customer],
        )
    return settings.database_path


def built_database(factory: pytest.TempPathFactory) -> Path:
    """The pipeline-built database, built on first use in this test process."""
    if "db" not in _BUILT:
        _BUILT["db"] = _build(factory.mktemp("report_db"))
    return _BUILT["db"]


@pytest.fixture(scope="session")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_database(tmp_path_factory)


def workspace(
    folder: Path,
    database: Path,
    locale: str | list[str] = "en",
    reports: dict[str, Any] | None = None,
    email: dict[str, Any] | None = None,
) -> Settings:
    """Settings in `folder` over a copy of the built database (output under `folder/reports`)."""
    path = write_settings(
        folder,
        {
            "locale": locale,
            "reports": {**REPORTS, **(reports or {})},
            "email": {"enabled": True, **(email or {})},
        },
    )
    settings = load_settings(path)
    for suffix in ("", ".wal"):
        source = database.with_name(database.name + suffix)
        if source.exists():
            shutil.copy(
                source, settings.database_path.with_name(settings.database_path.name + suffix)
            )
    return settings


def test_the_database_is_the_pipelines_with_the_seeded_edge_cases(report_db, tmp_path):
    settings = workspace(tmp_path, report_db)
    with engine.connect(settings, read_only=True) as conn:
        inconsistent = engine.scalar(
            conn,
            """select count(*) from customer_snapshot
               where churn_risk <> (inactive or complaints or activity_drop)""",
        )
        seeded = conn.execute(
            """select s.customer_id, c.email from customer_snapshot as s
               inner join customers as c on s.customer_id = c.customer_id
               where s.as_of = ? and s.churn_risk
               order by s.monetary desc, s.customer_id limit 2""",
            [DAY],
        ).fetchall()
        weeks = engine.scalar(
            conn,
            "select count(distinct period_start) from retention_period "
            "where period_type = 'week' and period_start between ? and ?",
            [WEEK.back(REPORTS["trend_weeks"] - 1).start, WEEK.start],
        )
        quarantined = engine.scalar(conn, "select count(*) from quarantine")
    assert inconsistent == 0
    assert seeded == [(FORMULA_ID, seeded[0][1]), (seeded[1][0], PII_EMAIL)]
    assert weeks == REPORTS["trend_weeks"] and quarantined > 0
