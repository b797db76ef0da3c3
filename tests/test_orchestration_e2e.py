"""End to end with the real processes an operator runs: `dagster-webserver` and `dagster-daemon run`
on 127.0.0.1, an instance made from the repo's dagster.yaml, runs launched over the GraphQL API.

- Two runs that both write the DuckDB file, launched at the same moment, both succeed: the
  `duckdb` pool lets one step at a time in, so their steps never overlap and nothing hits the
  file lock.
- A run that fails (an export with a renamed column) makes the daemon's failure sensor send one
  alert to a real SMTP server, without the customer data that was in the file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_orchestration_support import SmtpSink, free_port, tiny_landing

BIN = Path(sys.executable).parent
PARTITION = "2024-11-30"
SECRET_ID = "CUST-SECRET-91"
SECRET_EMAIL = "hidden.buyer@example.com"

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}"""
RUN = """
query Run($id: ID!) {
  runOrError(runId: $id) {
    __typename
    ... on Run { status creationTime startTime endTime stepStats { stepKey status startTime endTime } }
  }
}"""
REPOS = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
)


class Dagster:
    def __init__(self, home: Path, env: dict[str, str], logs: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.procs: list[subprocess.Popen] = []
        # create the instance's SQLite storage once, before two processes race to create it
        # and the pool's limit, so that the queue knows it before the first run ever uses it
        # (the setup steps of docs/operations.md)
        for cmd in (["instance", "migrate"], ["instance", "concurrency", "set", "duckdb", "1"]):
            subprocess.run(
                [str(BIN / "dagster"), *cmd],
                cwd=REPO,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
            )
        for name, cmd in {
            "webserver": [
                str(BIN / "dagster-webserver"),
                "-m",
                "loyalty.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            "daemon": [str(BIN / "dagster-daemon"), "run", "-m", "loyalty.definitions"],
        }.items():
            log = (logs / f"{name}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)

    def gql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            out = json.loads(resp.read())
        assert "errors" not in out, out
        return out["data"]

    def wait_ready(self, timeout: float = 150) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert all(p.poll() is None for p in self.procs), "webserver or daemon exited early"
            try:
                nodes = self.gql(REPOS)["repositoriesOrError"].get("nodes") or []
                if nodes:
                    return nodes[0]["location"]["name"], nodes[0]["name"]
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        raise AssertionError("the webserver did not load the code location in time")

    def launch(self, location: str, repo: str, job: str, partition: str | None = None) -> str:
        tags = [{"key": "dagster/partition", "value": partition}] if partition else []
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": repo,
                "jobName": job,
            },
            "runConfigData": {},
            "executionMetadata": {"tags": tags},
        }
        result = self.gql(LAUNCH, {"params": params})["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def wait_done(self, run_ids: list[str], timeout: float = 240) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = {r: self.gql(RUN, {"id": r})["runOrError"] for r in run_ids}
            if all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs.values()):
                return runs
            time.sleep(1)
        raise AssertionError(
            f"runs not finished in {timeout} s: { {r: v['status'] for r, v in runs.items()} }"
        )


@pytest.fixture(scope="module")
def dagster(tmp_path_factory):
    """One webserver + daemon for the tests of this file (in order: the failing run comes last)."""
    folder = tmp_path_factory.mktemp("e2e")
    smtp = SmtpSink()
    smtp.start()
    settings_file = tiny_landing(
        folder,
        {
            "email": {
                "dry_run": False,
                "operators": ["ops@example.com"],
                "ui_base_url": "http://127.0.0.1:3000",
            }
        },
    )
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LOYALTY_SETTINGS": str(settings_file),
        "PYTHONWARNINGS": "ignore",
        **smtp.env(),
    }
    server = Dagster(home, env, folder)
    try:
        location, repo = server.wait_ready()
        yield server, location, repo, folder, smtp
    finally:
        server.stop()
        smtp.stop()
        for name in ("webserver", "daemon"):
            log = folder / f"{name}.log"
            if log.exists():  # shown by pytest when a test failed
                print(f"--- {name} log (tail) ---\n" + log.read_text(errors="replace")[-3000:])


def _intervals(run: dict) -> list[tuple[float, float, str]]:
    return [
        (s["startTime"], s["endTime"], s["stepKey"]) for s in run["stepStats"] if s["startTime"]
    ]


def test_two_runs_writing_duckdb_at_once_both_succeed_one_step_at_a_time(dagster):
    server, location, repo, folder, _ = dagster
    ingest_run = server.launch(location, repo, "ingest")
    nightly_run = server.launch(location, repo, "nightly", PARTITION)
    runs = server.wait_done([ingest_run, nightly_run])
    assert {r: v["status"] for r, v in runs.items()} == {
        ingest_run: "SUCCESS",
        nightly_run: "SUCCESS",
    }

    a, b = runs[ingest_run], runs[nightly_run]
    # both were submitted before either finished; the second waited in the queue for the pool
    # (granularity `run`) and started when the first had ended
    assert max(a["creationTime"], b["creationTime"]) < min(a["endTime"], b["endTime"])
    first, second = sorted((a, b), key=lambda r: r["startTime"])
    assert second["startTime"] >= first["endTime"]
    steps = sorted(_intervals(a) + _intervals(b))
    assert len(steps) > 20
    for (s1, e1, k1), (s2, e2, k2) in zip(steps, steps[1:], strict=False):
        assert s2 >= e1, f"{k1} [{s1}, {e1}] overlaps {k2} [{s2}, {e2}]"

    import duckdb

    con = duckdb.connect(str(folder / "loyalty.duckdb"), read_only=True)
    try:
        assert (
            con.execute(
                "select count(*) from customer_snapshot where as_of = ?", [PARTITION]
            ).fetchall()[0][0]
            == 5
        )
    finally:
        con.close()


def test_a_failed_run_under_the_daemon_alerts_the_operators_once(dagster):
    server, location, repo, folder, smtp = dagster
    (folder / "landing" / "orders_renamed.csv").write_text(
        "order_id,client,ordered_at,amount,status,refund_amount,channel\n"
        f"O901,{SECRET_ID},2024-11-29 10:00:00,12.00,completed,0,{SECRET_EMAIL}\n",
        encoding="utf-8",
    )
    run_id = server.launch(location, repo, "ingest")
    assert server.wait_done([run_id])[run_id]["status"] == "FAILURE"
    deadline = time.monotonic() + 120
    while not smtp.messages and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(5)  # a second alert would arrive now
    assert len(smtp.messages) == 1, "expected exactly one alert"
    rcpts, raw = smtp.messages[0]
    assert rcpts == ["ops@example.com"]
    body = smtp.parsed()[0].get_body(("plain",)).get_content()
    assert run_id in body and f"http://127.0.0.1:3000/runs/{run_id}" in body
    assert "Failed steps: orders" in body
    for secret in (SECRET_ID, SECRET_EMAIL):
        assert secret.encode() not in raw
