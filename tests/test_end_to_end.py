"""`loyalty run` on the shipped sample, as a user runs it: reports on disk, and a second run changes
nothing, says there is nothing new and takes a fraction of the first run's time."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, write_settings

pytestmark = pytest.mark.slow

LOYALTY = [sys.executable, "-m", "loyalty.cli"]
FIRST_SECONDS: list[float] = []


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*LOYALTY, *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def _counts(db: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table in [
            "orders",
            "tickets",
            "surveys",
            "customers",
            "ingest_log",
            "quarantine",
            "customer_snapshot",
            "kpi_daily",
            "retention_period",
            "repurchase_period",
            "nps_period",
            "service_period",
        ]:
            out[table] = con.execute(f"select count(*) from {table}").fetchall()[0]
        out["revenue"] = con.execute("select sum(amount) from orders").fetchall()[0]
        out["snapshot_keys"] = con.execute(
            "select count(*) - count(distinct (as_of, customer_id)) from customer_snapshot"
        ).fetchall()[0]
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    shutil.copytree(REPO / "data" / "sample", work / "landing")
    settings = write_settings(
        work, {"timezone": "Europe/London", "schedules": {"start_date": "2024-11-18"}}
    )
    started = time.monotonic()
    first = _run(["run", "--settings", str(settings)], cwd=REPO)
    FIRST_SECONDS.append(time.monotonic() - started)
    return work, settings, first


def test_the_sample_run_writes_every_segment_report_and_says_where(sample_run):
    work, _, first = sample_run
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "Traceback" not in out + first.stderr
    week = work / "reports" / "2026-W46"
    for seg in ["all", "A", "B", "C", "D"]:
        assert (week / f"loyalty_2026-W46_{seg}.html").exists(), sorted(
            p.name for p in week.iterdir()
        )
        assert (week / f"loyalty_2026-W46_{seg}.xlsx").exists()
    # the ingest says what this run loaded: every export file of the sample, and its records
    # (read here with Python's csv module, blank lines left out) less the quarantined ones
    con = duckdb.connect(str(work / "loyalty.duckdb"), read_only=True)
    try:
        for kind in ("customers", "orders", "surveys", "tickets"):
            paths = sorted((work / "landing").glob(f"{kind}*.csv"))
            records = 0
            for path in paths:
                with path.open(newline="", encoding="utf-8") as f:
                    records += sum(1 for r in csv.reader(f) if any(v.strip() for v in r)) - 1
            quarantined = con.execute(
                "select count(distinct (file_name, line)) from quarantine where source = ?", [kind]
            ).fetchall()[0][0]
            files, rows = len(paths), records - quarantined
            assert (
                f"      {kind}: {files} new file(s): {rows:,} rows loaded, {quarantined:,} "
                f"quarantined; {files} file(s), {rows:,} rows loaded in all"
            ) in out.splitlines(), out
    finally:
        con.close()
    # the last lines say where the database and the reports are
    tail = out.strip().splitlines()[-20:]
    assert any(str(work / "loyalty.duckdb") in line for line in tail)
    assert any(str(week) in line for line in tail)


def test_a_second_run_changes_nothing(sample_run):
    work, settings, first = sample_run
    assert first.returncode == 0, first.stderr[-3000:]
    before = _counts(work / "loyalty.duckdb")
    started = time.monotonic()
    second = _run(["run", "--settings", str(settings)], cwd=REPO)
    seconds = time.monotonic() - started
    assert second.returncode == 0, second.stderr[-3000:]
    after = _counts(work / "loyalty.duckdb")
    assert after == before
    assert after["snapshot_keys"] == (0,)
    # nothing new: the run says so and skips the snapshots, marts and reports
    assert "nothing new since the last run" in second.stdout
    assert "[2/4]" not in second.stdout
    assert seconds < FIRST_SECONDS[0] / 3, (FIRST_SECONDS, seconds)
    print(f"sample: first run {FIRST_SECONDS[0]:.1f} s, re-run with nothing new {seconds:.1f} s")


def test_a_broken_export_is_one_clear_line_not_a_traceback(tmp_path):
    settings = write_settings(tmp_path)
    (tmp_path / "landing" / "orders_1.csv").write_text(
        "order_id,client,ordered_at,amount\nO1,C1,2024-01-01,1\n"
    )
    result = _run(["run", "--settings", str(settings)], cwd=REPO)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "orders_1.csv" in result.stderr and "customer_id" in result.stderr


def test_a_bad_settings_file_names_the_key(tmp_path):
    settings = write_settings(tmp_path, {"metrics": {"active_days": "ninety"}})
    result = _run(["run", "--settings", str(settings)], cwd=REPO)
    assert result.returncode == 2
    assert "metrics.active_days" in result.stderr and "Traceback" not in result.stderr
