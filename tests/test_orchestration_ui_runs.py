"""The Dagster UI shows what `loyalty run` did, as after the README's quick start.

`loyalty run` records its runs in the instance named by the settings' `paths.dagster_home` (the
repo's settings.yaml names the repo's `dagster_home/`; here a temporary one, never the repo's).
Then `bash scripts/ui.sh` (the README's UI command: `dagster dev` with a webserver and a daemon)
starts on that instance, and its GraphQL API is asked what a user sees on the asset pages: every
asset the run computed has a latest materialisation from one of the run's runs, with the run's
metadata (row counts equal to counts made here from the export files). The UI's output carries no
deprecation notice and no "dagster.yaml will not be used" warning, and Ctrl-C stops every process
the UI started.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO
from tests.test_orchestration_support import free_port, tiny_landing

pytestmark = pytest.mark.slow

ASSETS = """
{ assetNodes {
    assetKey { path }
    partitionStats { numMaterialized }
    assetMaterializations(limit: 1) {
      runId partition
      metadataEntries { label ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } }
    }
} }"""
RUNS = "{ runsOrError { ... on Runs { results { runId status } } } }"


def _gql(port: int, query: str) -> dict:
    body = json.dumps({"query": query}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        out = json.loads(resp.read())
    assert "errors" not in out, out
    return out["data"]


def _orders(landing: Path) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(landing.glob("orders*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`loyalty run` on a tiny landing folder with paths.dagster_home, then the UI on it."""
    work = tmp_path_factory.mktemp("ui_runs")
    settings = tiny_landing(work, {"paths": {"dagster_home": "dagster_home"}})
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    # the setting alone decides where the runs go, as in the quick start (no DAGSTER_HOME set)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    run = subprocess.run(
        [sys.executable, "-m", "loyalty.cli", "run", "--settings", str(settings)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]

    port = free_port()
    ui_env = {**env, "DAGSTER_HOME": str(home), "LOYALTY_SETTINGS": str(settings)}
    ui_env["PORT"] = str(port)
    log = work / "ui.log"
    with log.open("wb") as out:
        # a terminal's foreground job: Ctrl-C reaches the script's process group
        ui = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "ui.sh")],
            cwd=REPO,  # the repo's own dagster.yaml is in this folder, as for a user
            env=ui_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert ui.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if _gql(port, "{ assetNodes { id } }")["assetNodes"]:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, "the UI did not start in 120 s"
            time.sleep(0.5)
        yield work, run, port, ui, log
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGINT)
            try:
                ui.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
        print("--- ui.sh output (tail) ---\n" + log.read_text(errors="replace")[-3000:])


def test_the_ui_shows_every_asset_the_run_materialised_with_its_metadata(demo):
    work, run, port, _, _ = demo
    home = work / "dagster_home"
    assert f"dagster runs: recorded in {home}" in run.stdout

    runs = _gql(port, RUNS)["runsOrError"]["results"]
    # one run per step of `loyalty run`: ingest, daily marts, period marts, reports
    assert len(runs) == 4 and {r["status"] for r in runs} == {"SUCCESS"}
    run_ids = {r["runId"] for r in runs}

    nodes = {"/".join(n["assetKey"]["path"]): n for n in _gql(port, ASSETS)["assetNodes"]}
    never = sorted(k for k, n in nodes.items() if not n["assetMaterializations"])
    # the weekly email is sent only by `loyalty run --email`
    assert never == ["weekly_email"]
    latest = {k: n["assetMaterializations"][0] for k, n in nodes.items() if k not in never}
    assert {m["runId"] for m in latest.values()} == run_ids

    def meta(asset: str) -> dict:
        entries = latest[asset]["metadataEntries"]
        return {e["label"]: e.get("intValue", e.get("text")) for e in entries}

    # counted here from the export file: what the run loaded, as the UI shows it
    orders = _orders(work / "landing")
    assert meta("orders")["rows_loaded"] == len(orders)
    assert meta("orders")["dagster/row_count"] == len({o["order_id"] for o in orders})

    # the daily marts: one partition per day from the first order to the last (day D)
    days = sorted({dt.datetime.fromisoformat(o["ordered_at"]).date() for o in orders})
    first, last = days[0], days[-1]
    n_days = (last - first).days + 1
    assert nodes["customer_snapshot"]["partitionStats"]["numMaterialized"] == n_days
    assert meta("customer_snapshot")["days"] == f"{first} .. {last}"
    # snapshot rows: per day, the customers who had ordered by then
    first_order: dict[str, dt.date] = defaultdict(lambda: dt.date.max)
    for o in orders:
        day = dt.datetime.fromisoformat(o["ordered_at"]).date()
        first_order[o["customer_id"]] = min(first_order[o["customer_id"]], day)
    expected_rows = sum(
        sum(1 for d in first_order.values() if d <= first + dt.timedelta(days=i))
        for i in range(n_days)
    )
    assert meta("customer_snapshot")["dagster/row_count"] == expected_rows

    # the reports of the latest complete ISO week ending on or before day D
    sunday = last - dt.timedelta(days=last.isoweekday() % 7)
    assert latest["weekly_reports"]["partition"] == (sunday - dt.timedelta(days=6)).isoformat()


def test_the_ui_prints_no_deprecation_and_ctrl_c_stops_all_its_processes(demo):
    _, _, port, ui, log = demo
    processes = psutil.Process(ui.pid).children(recursive=True)
    names = " ".join(" ".join(p.cmdline()) for p in processes)
    assert "dagster_webserver" in names and "dagster._daemon" in names, names

    os.killpg(ui.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    assert ui.wait(timeout=40) == 130
    _, alive = psutil.wait_procs(processes, timeout=10)
    assert [p.pid for p in alive] == [], [" ".join(p.cmdline()) for p in alive]
    with pytest.raises(urllib.error.URLError):
        _gql(port, "{ assetNodes { id } }")

    text = log.read_text(errors="replace")
    for notice in ("superseded", "will not be used", "BetaWarning", "DeprecationWarning"):
        assert notice not in text, text[-3000:]
    assert "Dagster services shut down" in text
