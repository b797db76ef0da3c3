"""pandera is imported in a thread of its own when an ingest finds new files (loyalty.validation.
warm_up), while DuckDB reads and types them: a fresh process (a nightly run is one) validates and
quarantines exactly as before, whichever of the import and the first validation comes first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, write_settings

ORDERS = (
    "order_id,customer_id,ordered_at,amount,status,refund_amount,channel\n"
    "O1,C1,2024-01-01 10:00:00,10.50,completed,0,web\n"
    "O2,C2,2024-01-02 11:00:00,,completed,0,app\n"  # no amount: quarantined, missing_value
    "O3,C3,2024-01-03 12:00:00,5.00,completed,-1,app\n"  # a negative refund: out of range
)

# in a fresh interpreter: pandera not imported until the ingest needs it, then by the thread
SCRIPT = """
import json, sys, threading
from loyalty.engine import connect
from loyalty.ingest import ingest_source
from loyalty.settings import load_settings
from loyalty import validation
before = "pandera.polars" in sys.modules
started = []
real_start = threading.Thread.start
def start(self):
    started.append(self.name)
    real_start(self)
threading.Thread.start = start
settings = load_settings(sys.argv[1])
with connect(settings) as conn:
    result = ingest_source(conn, settings, "orders")
    reasons = conn.execute(
        "select line, reason_code from quarantine order by line"
    ).fetchall()
    loaded = conn.execute("select order_id from orders order by 1").fetchall()
again = validation.warm_up()
print(json.dumps({
    "imported_before": before,
    "started": started,
    "imported_after": "pandera.polars" in sys.modules,
    "again": again is not None,
    "quarantined": result.files[0].rows_quarantined,
    "reasons": [list(r) for r in reasons],
    "loaded": [r[0] for r in loaded],
}))
"""


def _fresh_process(script: str, settings: Path) -> str:
    """The last line `script` prints, run by a new interpreter with the settings file's path."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(settings)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_fresh_process_imports_pandera_in_a_thread_and_quarantines_the_same(
    tmp_path: Path,
) -> None:
    settings = write_settings(tmp_path)
    (tmp_path / "landing" / "orders_1.csv").write_text(ORDERS, encoding="utf-8")
    got = json.loads(_fresh_process(SCRIPT, settings))
    assert got["imported_before"] is False
    assert "pandera-import" in got["started"]
    assert got["imported_after"] is True and got["again"] is False
    assert got["quarantined"] == 2
    assert got["reasons"] == [[3, "missing_value"], [4, "out_of_range"]]
    assert got["loaded"] == ["O1"]


def test_nothing_new_starts_no_import(tmp_path: Path) -> None:
    settings = write_settings(tmp_path)
    script = (
        "import sys\n"
        "from loyalty.engine import connect\n"
        "from loyalty.ingest import ingest_source\n"
        "from loyalty.settings import load_settings\n"
        "s = load_settings(sys.argv[1])\n"
        "with connect(s) as conn:\n"
        "    ingest_source(conn, s, 'orders')\n"
        "print('pandera.polars' in sys.modules)\n"
    )
    assert _fresh_process(script, settings) == "False"
