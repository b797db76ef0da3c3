"""`engine: spark` runs the product (issue 14): `loyalty run` with the same settings file but
`engine: spark` loads the exports into the warehouse (Parquet folders), computes every mart with the
same sql/ models and the same Python, and writes the reports, and what it writes equals what DuckDB
writes: every table the two runs share, row by row (exact for integers, strings, dates and
decimals, relative 1e-9 for doubles), and the reports on disk, file by file.

Two nights on generated exports: a first run over the whole history (range path), then the next
day (carry path) with the weekly email (a dry run: .eml files, logged in email_log), each through
the real CLI in its own process, as a user runs it. On Spark the first night is a client of a
Spark Connect server (`LOYALTY_SPARK_REMOTE`, the server pyspark ships, started for the test on a
free port) and the second a local session (`local[2]`) on the same warehouse: both connections.
The server keeps Spark's defaults (generated code); the local night and the comparison evaluate
expressions interpreted (`spark.conf`: TEST_SPARK_CONF, as the in-process Spark tests do).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loyalty import engine
from loyalty.settings import load_settings
from loyalty.spark.session import REMOTE_ENV
from tests.spark_compare import TEST_SPARK_CONF, same_value

pytestmark = pytest.mark.spark

END = dt.date(2026, 11, 15)  # a Sunday: the second night completes the ISO week
NIGHTS = (END - dt.timedelta(days=1), END)
ENGINES = ("duckdb", "spark")
# columns that say when or in which run a row was written, or how long it took: not results
VOLATILE = {
    "computed_at",
    "written_at",
    "built_at",
    "loaded_at",
    "modified_at",
    "verified_at",
    "sent_at",
    "run_id",
    "fit_seconds",
    "_load_id",
    "load_id",
    "loads_seen",
    "verified_through",
    "recorded_at",
    "restated_at",
    "message_id",
}


def _settings_text(root: Path, landing: Path, name: str) -> str:
    out = root / name
    conf = json.dumps(TEST_SPARK_CONF)  # the local night's session (YAML reads JSON)
    return f"""
timezone: Europe/London
engine: {name}
paths:
  landing: {landing}
  database: {out}/loyalty.duckdb
  warehouse: {out}/warehouse
  output: {out}/reports
  temp: {out}/tmp
sources:
  orders: {{files: "orders*.csv"}}
  tickets: {{files: "tickets*.csv"}}
  surveys: {{files: "surveys*.csv"}}
  customers: {{files: "customers*.csv"}}
email:
  enabled: true
  dry_run: true
  recipients: [manager@example.com]
model:
  history_weeks: 2
  min_repeat_customers: 20
spark:
  cores: 2
  driver_memory: 1g
  conf: {conf}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory) -> Iterator[str]:
    """A Spark Connect server (pyspark's own, `sbin/start-connect-server.sh`, local[2]) on a free
    port, its Python workers running this interpreter; stopped at the end. Yields its URL."""
    pyspark = pytest.importorskip("pyspark")
    pytest.importorskip("grpc_status", reason="the Spark Connect client: pyspark[connect]")
    home = Path(pyspark.__file__).parent
    port = _free_port()
    folder = tmp_path_factory.mktemp("connect")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOG_DIR": str(folder),
        "SPARK_PID_DIR": str(folder),
        "SPARK_IDENT_STRING": f"loyalty-test-{port}",
        "PYSPARK_PYTHON": sys.executable,
    }
    conf = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "2",
        "spark.ui.enabled": "false",
        # as loyalty.spark.session's local sessions: the driver lists a daily table's day folders
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
    }
    args = [x for k, v in conf.items() for x in ("--conf", f"{k}={v}")]
    subprocess.run(
        ["bash", str(home / "sbin" / "start-connect-server.sh"), "--master", "local[2]", *args],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                logs = "\n".join(p.read_text()[-2000:] for p in folder.glob("*.out"))
                pytest.fail(f"the Spark Connect server did not listen on {port}:\n{logs}")
            time.sleep(1)
        yield f"sc://localhost:{port}"
    finally:
        subprocess.run(
            ["bash", str(home / "sbin" / "stop-connect-server.sh")],
            env=env,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, connect_server) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    generated = subprocess.run(
        [sys.executable, "-m", "loyalty.generate", "--customers", "1500", "--days", "120"]
        + ["--seed", "14", "--out", str(landing), "--end", END.isoformat()],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert generated.returncode == 0, generated.stderr
    files = {}
    for name in ENGINES:
        path = root / f"{name}.yaml"
        path.write_text(_settings_text(root, landing, name), encoding="utf-8")
        files[name] = path
        for night in NIGHTS:
            # the second night completes the week: its reports, and the email (dry run: .eml)
            email = ["--email"] if night == END else []
            env = {k: v for k, v in os.environ.items() if k != REMOTE_ENV}
            if name == "spark" and night == NIGHTS[0]:
                env[REMOTE_ENV] = connect_server  # the first Spark night through Spark Connect
            done = subprocess.run(
                [sys.executable, "-m", "loyalty.cli", "run", "--settings", str(path)]
                + ["--as-of", night.isoformat(), *email],
                capture_output=True,
                text=True,
                timeout=1200,
                env=env,
            )
            assert done.returncode == 0, (
                f"{name} {night}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
            )
    return files


def _tables(conn) -> set[str]:
    if isinstance(conn, engine.core.duckdb.DuckDBPyConnection):
        rows = conn.execute("select table_name from information_schema.tables").fetchall()
        return {r[0] for r in rows}
    # SHOW TABLES, not catalog.listTables(): the latter's rows fail to decode when expressions
    # are interpreted (TEST_SPARK_CONF; Spark 4.x, EXPRESSION_DECODING_FAILED on its Table class)
    rows = conn.spark.sql("show tables").collect()
    return {r["tableName"] for r in rows if r["isTemporary"]}


# what only the DuckDB engine keeps from run to run (loyalty.marts.value_state: Spark sums every
# order each time): its table is not in Spark's warehouse, its bookkeeping row is left out here
DUCKDB_ONLY_ROWS = {"day_build_state": "table_name <> 'value_customer_state'"}


# a column that holds when its inputs were written (as JSON)
VOLATILE_IN = {"day_build_state": {"params_json"}, "period_build_state": {"inputs_json"}}


def _rows(conn, table: str) -> list[dict[str, Any]]:
    left_out = VOLATILE | VOLATILE_IN.get(table, set())
    columns = [c for c in engine.columns(conn, table) if c not in left_out]
    listed = ", ".join(f'"{c}"' for c in columns)
    where = f" where {DUCKDB_ONLY_ROWS[table]}" if table in DUCKDB_ONLY_ROWS else ""
    return engine.query_sql(conn, f'select {listed} from "{table}"{where}')


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in an order both engines agree on: by every value that is not a float."""
    return sorted(
        rows,
        key=lambda r: tuple(
            "" if v is None else str(v) for v in r.values() if not isinstance(v, float)
        ),
    )


def _first_difference(table: str, duck: list[dict], spark: list[dict]) -> str | None:
    if len(duck) != len(spark):
        return f"{table}: {len(duck)} rows on duckdb, {len(spark)} on spark"
    for a, b in zip(_sorted(duck), _sorted(spark), strict=True):
        if list(a) != list(b):
            return f"{table}: columns {list(a)} on duckdb, {list(b)} on spark"
        for column, value in a.items():
            if not same_value(value, b[column]):
                return f"{table}, column {column}: duckdb {value!r}, spark {b[column]!r} in {a}"
    return None


def test_every_table_of_the_spark_run_equals_duckdbs(two_runs):
    duck_settings = load_settings(two_runs["duckdb"])
    spark_settings = load_settings(two_runs["spark"])
    with engine.connect(duck_settings) as duck, engine.connect(spark_settings) as spark:
        shared = sorted(_tables(duck) & _tables(spark))
        # the marts the issue names, and the rest of what both runs keep
        for needed in (
            "orders",
            "customer_state",
            "customer_snapshot",
            "retention_period",
            "repurchase_period",
            "nps_period",
            "service_period",
            "cohort_retention",
            "kpi_daily",
            "customer_value",
            "model_quality",
            "revenue_at_risk",
            "action_list",
            "email_log",
        ):
            assert needed in shared, f"{needed} is missing from one of the runs"
        differences = [
            d for t in shared if (d := _first_difference(t, _rows(duck, t), _rows(spark, t)))
        ]
    assert not differences, "\n".join(differences)


def _csv_rows(path: Path) -> list[list[str]]:
    """A CSV's values (DuckDB quotes the customer ids only, Spark every text: the same values)."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _html(path: Path) -> str:
    """An HTML report without the random ids Plotly gives each chart's element and the minute it
    was generated."""
    text = UUID.sub("<id>", path.read_text(encoding="utf-8"))
    return GENERATED.sub("Generated <when>", text)


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GENERATED = re.compile(r"Generated \d{1,2} \w+ \d{4} \d{2}:\d{2}")


def test_the_spark_runs_reports_are_duckdbs(two_runs):
    folders = {n: load_settings(p).output_path for n, p in two_runs.items()}
    files = {
        n: sorted(p.relative_to(f) for p in f.rglob("*") if p.is_file() and p.suffix != ".json")
        for n, f in folders.items()
    }
    assert any(f.suffix == ".html" for f in files["duckdb"]), "no reports written"
    assert files["spark"] == files["duckdb"]
    for relative in files["duckdb"]:
        duck, spark = folders["duckdb"] / relative, folders["spark"] / relative
        if relative.suffix == ".html":
            assert _html(spark) == _html(duck), f"{relative} differs"
        elif relative.suffix == ".csv":
            assert _csv_rows(spark) == _csv_rows(duck), f"{relative} differs"
