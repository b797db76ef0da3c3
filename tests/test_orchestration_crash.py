"""A load killed halfway (kill -9 of the process while its transaction is open) leaves every table
as it was, and the next run loads the file normally."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.settings import load_settings
from tests.conftest import REPO, write_settings

HEADER = "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"

# a load in a child process that, once a file's rows are written inside the still open
# transaction, says so and waits there to be killed (the commit comes only after every file)
LOADER = """
import sys, time
from loyalty import ingest
from loyalty.engine import connect
from loyalty.settings import load_settings

original = ingest._load_unit

def announced(conn, settings, contract, mapping, unit, *args, **kwargs):
    result = original(conn, settings, contract, mapping, unit, *args, **kwargs)
    print("WRITTEN, NOT COMMITTED " + unit.name, flush=True)
    if unit.name.startswith("orders_big"):
        time.sleep(120)
    return result

ingest._load_unit = announced
settings = load_settings(sys.argv[1])
with connect(settings) as conn:
    ingest.ingest_source(conn, settings, "orders")
print("COMMITTED", flush=True)
"""


def _tables(settings) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every row of each table."""
    with connect(settings, read_only=True) as conn:
        return {
            t: conn.execute(f"select count(*), sum(hash(t)) from {t} t").fetchall()[0]
            for t in ("orders", "ingest_log", "quarantine")
        }


def _big_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        for i in range(rows):
            f.write(
                f"B{i},C{i % 5000},2024-11-{18 + i % 12} 10:{i % 60:02d}:00,{i % 500}.25,completed,0,web\n"
            )


def _kill_mid_load(settings_file: Path, big_name: str) -> bool:
    """Start the loader, kill -9 it once the rows of `big_name` are written but not committed;
    True if it died before committing."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(settings_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if line.strip() == f"WRITTEN, NOT COMMITTED {big_name}":
                os.kill(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the loader never reached the big file"
        rest = proc.stdout.read()
        proc.wait(timeout=30)
        return proc.returncode == -signal.SIGKILL and "COMMITTED" not in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_load_killed_mid_transaction_leaves_every_table_as_it_was(tmp_path):
    settings_file = write_settings(tmp_path)
    settings = load_settings(settings_file)
    (tmp_path / "landing" / "orders_1.csv").write_text(
        HEADER
        + "O1,C1,2024-11-18 10:00:00,10.50,completed,0,web\n"
        + "O2,C2,2024-11-19 11:00:00,not-a-number,completed,0,web\n"  # quarantined
        + "O3,C3,2024-11-20 12:00:00,30.00,refunded,30.00,app\n",
        encoding="utf-8",
    )
    with connect(settings) as conn:
        ingest_source(conn, settings, "orders")
    before = _tables(settings)
    assert before["orders"][0] == 2 and before["quarantine"][0] == 1

    rows = 200_000
    big = tmp_path / "landing" / "orders_big.csv"
    _big_file(big, rows)
    assert _kill_mid_load(settings_file, big.name), "the loader committed or did not die"

    assert _tables(settings) == before

    # the next run recovers the database file and loads the export normally
    with connect(settings) as conn:
        result = ingest_source(conn, settings, "orders")
    assert [(f.file_name, f.status, f.rows_loaded) for f in result.files] == [
        (big.name, "loaded", rows)
    ]
    after = _tables(settings)
    assert after["orders"][0] == before["orders"][0] + rows
    assert after["quarantine"] == before["quarantine"]
    assert after["ingest_log"][0] == before["ingest_log"][0] + 1
