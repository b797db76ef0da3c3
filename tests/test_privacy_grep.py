"""No customer's personal data leaves the database except where a report needs it.

A small generated landing folder gets one customer with marked PII (name, email, phone) and a
marked survey comment. `loyalty run --email` (dry run) records its runs in a Dagster instance
(DAGSTER_HOME), and a second settings file with a broken mapping expression (one that makes DuckDB
quote the email it cannot convert) fails a run in the same instance. Then the markers are searched,
byte for byte, in: both runs' stdout and stderr, every file under DAGSTER_HOME (SQLite run and
event storage, captured logs), the .eml files and the HTML reports. None may appear. Reports and
emails may show customer ids, and masked emails (`z***@...`); Dagster's storage and the command's
output may not show a customer id either."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO
from tests.test_cli import RECIPIENTS, generated_landing, reports_folder, small_settings

pytestmark = pytest.mark.slow

CUSTOMER = "CUSTZZPII01"
NAME = "Zebediah Piimarker"
EMAIL = "zebediah.piimarker@pii-example.org"
PHONE = "+44 7700 900777"
COMMENT = "ZZPIICOMMENT my neighbour Zebediah said"
# the phone's digits are searched as ten, with and without the space: its last six alone
# ("900777") turned up by chance in Dagster's SQLite files (CI, stop 46), whose timestamps (epoch
# seconds, microseconds) gave 60,000-120,000 six-digit windows a run: one run in 10-20 matched
EVERYWHERE = [NAME, EMAIL, PHONE, COMMENT, "Piimarker", "7700900777", "7700 900777"]


def _seed_markers(landing: Path) -> None:
    """Add the marked customer: a profile, orders up to END and a survey with a comment."""
    with open(landing / "customers.csv", "a", encoding="utf-8") as f:
        f.write(f"{CUSTOMER},2025-06-01 10:00:00,{NAME},{EMAIL},{PHONE},North,gold\n")
    orders = next(landing.glob("orders*.csv"))
    header = orders.read_text(encoding="utf-8").splitlines()[0].split(",")
    with open(orders, "a", encoding="utf-8") as f:
        for i, day in enumerate(["2026-08-02", "2026-09-14", "2026-10-20", "2026-11-10"]):
            row = {
                "order_id": f"OZZPII{i}",
                "customer_id": CUSTOMER,
                "ordered_at": f"{day} 12:00:00",
                "amount": "480.00",
                "status": "completed",
            }
            f.write(",".join(row.get(c, "") for c in header) + "\n")
    surveys = next(landing.glob("surveys*.csv"))
    header = surveys.read_text(encoding="utf-8").splitlines()[0].split(",")
    row = {
        "response_id": "RZZPII1",
        "customer_id": CUSTOMER,
        "responded_at": "2026-11-11 09:00:00",
        "nps": "1",
        "csat": "1",
        "comment": f'"{COMMENT}"',
    }
    with open(surveys, "a", encoding="utf-8") as f:
        f.write(",".join(row.get(c, "") for c in header) + "\n")


def _loyalty(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "loyalty.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    work = tmp_path_factory.mktemp("pii")
    generated_landing(work / "landing")
    _seed_markers(work / "landing")
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")  # the instance settings of the repo
    good = _loyalty(["run", "--settings", str(small_settings(work)), "--email"], home)
    # a second workspace over the same landing folder, whose mapping makes DuckDB quote an email
    broken_dir = work / "broken"
    broken_dir.mkdir()
    (broken_dir / "landing").symlink_to(work / "landing")
    sources = {k: {"files": f"{k}*.csv"} for k in ("orders", "tickets", "surveys")}
    sources["customers"] = {
        "files": "customers*.csv",
        "columns": {"region": "cast(email as integer)::varchar"},
    }
    broken = _loyalty(
        ["run", "--settings", str(small_settings(broken_dir, {"sources": sources}))], home
    )
    return work, home, good, broken


def test_the_runs_did_what_the_search_assumes(outputs):
    work, home, good, broken = outputs
    assert good.returncode == 0, good.stderr[-3000:]
    assert broken.returncode == 1, broken.stdout[-2000:] + broken.stderr[-2000:]
    assert broken.stderr.startswith("error: ")
    week = reports_folder(good.stdout)
    assert len(list((week / "email").glob("*.eml"))) == len(RECIPIENTS)
    assert list(week.glob("*.html"))
    # the action list per owner is written, the CRM team's unmasked file is not (setting off)
    assert list(week.glob("*_actions_*.csv")) and not list(week.rglob("*UNMASKED*"))
    assert list(home.rglob("*.db")), "the runs were recorded in DAGSTER_HOME"
    # the marked data was loaded, so the search is meaningful
    con = duckdb.connect(str(work / "loyalty.duckdb"), read_only=True)
    try:
        assert con.execute(
            "select (select count(*) from customers where email = $e and name = $n), "
            "(select count(*) from surveys where comment = $c)",
            {"e": EMAIL, "n": NAME, "c": COMMENT},
        ).fetchone() == (1, 1)
    finally:
        con.close()


def test_no_marker_in_output_dagster_storage_eml_or_html(outputs):
    work, home, good, broken = outputs
    places: dict[str, bytes] = {
        "stdout": (good.stdout + broken.stdout).encode(),
        "stderr": (good.stderr + broken.stderr).encode(),
    }
    for p in sorted(home.rglob("*")):
        if p.is_file():
            places[f"DAGSTER_HOME/{p.relative_to(home)}"] = p.read_bytes()
    for pattern in ("*.eml", "*.html", "*_actions_*.csv"):
        for p in sorted((work / "reports").rglob(pattern)):
            places[str(p.relative_to(work))] = p.read_bytes()
    found = [
        (marker, where)
        for where, data in places.items()
        for marker in EVERYWHERE
        if marker.encode() in data
    ]
    assert found == []
    # no customer id in what the command prints nor in what Dagster keeps
    not_for_ids = {k: v for k, v in places.items() if k in ("stdout", "stderr") or "DAGSTER" in k}
    assert [w for w, data in not_for_ids.items() if CUSTOMER.encode() in data] == []
